//! [`CallOptions`]: how a client makes one call.

use std::time::{Duration, Instant};

use super::{Bounds, CallContext};
use crate::Metadata;
use crate::frame::Compression;

/// How a client makes one call: its deadline, extra metadata, message size
/// limits, and the call it is made for.
///
/// Every option has a default: no deadline of its own, no extra metadata,
/// the channel's limits, and the context of the call being handled on this
/// task, if any ([`CallContext::current`]), whose deadline and cancellation
/// the call inherits, as grpc-go's context propagation does.
///
/// ```no_run
/// # use std::time::Duration;
/// # fn options() -> Result<rgrpc::client::CallOptions, rgrpc::InvalidMetadata> {
/// let mut options = rgrpc::client::CallOptions::new().timeout(Duration::from_secs(2));
/// options.metadata_mut().insert("authorization", "Bearer token")?;
/// # Ok(options) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct CallOptions {
    metadata: Metadata,
    deadline: Option<Deadline>,
    parent: Parent,
    /// The limits, kept in 32 bits (a message frame's length is), so that
    /// every call's future is the smaller.
    max_receive_message_size: Option<u32>,
    max_send_message_size: Option<u32>,
    /// What to compress the requests with, if not the channel's choice.
    compression: Option<Option<Compression>>,
    /// Whether the call waits out failed attempts to connect, if it says.
    wait_for_ready: Option<bool>,
}

/// A deadline as given: a timeout counts from the call's start.
#[derive(Debug, Clone, Copy)]
enum Deadline {
    Timeout(Duration),
    At(Instant),
}

/// The call whose deadline and cancellation a call inherits.
#[derive(Debug, Clone, Default)]
enum Parent {
    /// The one handled on the task that starts the call.
    #[default]
    Current,
    /// This one.
    Given(CallContext),
    /// None.
    Detached,
}

impl CallOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// The call must be over `timeout` after it starts (sent as
    /// `grpc-timeout`); a timeout too long for the clock to express (such
    /// as `Duration::MAX`) means no deadline of its own.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.deadline = Some(Deadline::Timeout(timeout));
        self
    }

    /// The call must be over at `deadline`.
    pub fn deadline(mut self, deadline: Instant) -> Self {
        self.deadline = Some(Deadline::At(deadline));
        self
    }

    /// Adds `metadata` to what the call sends with its request headers.
    pub fn metadata(mut self, metadata: Metadata) -> Self {
        self.metadata.extend(metadata);
        self
    }

    /// The metadata sent with the request headers, besides a unary
    /// request's own.
    pub fn metadata_mut(&mut self) -> &mut Metadata {
        &mut self.metadata
    }

    /// Makes the call for `context`'s call: it inherits its deadline (when
    /// that comes before its own) and its cancellation. Calls made on a
    /// handler's own task do so by default; this is for other tasks.
    pub fn context(mut self, context: &CallContext) -> Self {
        self.parent = Parent::Given(context.clone());
        self
    }

    /// Makes the call for no other call: it inherits no deadline and no
    /// cancellation, even inside a handler.
    pub fn detached(mut self) -> Self {
        self.parent = Parent::Detached;
        self
    }

    /// Limits the response messages of this call, instead of the channel's
    /// limit; larger ones fail the call with RESOURCE_EXHAUSTED.
    pub fn max_receive_message_size(mut self, bytes: usize) -> Self {
        self.max_receive_message_size = Some(u32::try_from(bytes).unwrap_or(u32::MAX));
        self
    }

    /// Limits the request messages of this call, instead of the channel's
    /// limit; a larger one is not sent, and the call ends with
    /// RESOURCE_EXHAUSTED.
    pub fn max_send_message_size(mut self, bytes: usize) -> Self {
        self.max_send_message_size = Some(u32::try_from(bytes).unwrap_or(u32::MAX));
        self
    }

    /// The metadata sent with the request headers.
    /// Compresses the call's request messages with `compression`, or with
    /// none, instead of the channel's choice
    /// ([`ChannelBuilder::send_compressed`](crate::ChannelBuilder::send_compressed)).
    /// A server that does not have it refuses the call with UNIMPLEMENTED.
    pub fn compression(mut self, compression: Option<Compression>) -> Self {
        self.compression = Some(compression);
        self
    }

    /// Whether the call waits for the channel to be ready: when the channel
    /// cannot connect, a call fails at once with UNAVAILABLE by default; one
    /// that waits for ready goes on trying, after each backoff
    /// ([`ChannelBuilder::connect_backoff`](crate::ChannelBuilder::connect_backoff)),
    /// until it connects or its deadline passes. Unless this is set, the
    /// channel's service config may say.
    pub fn wait_for_ready(mut self, wait: bool) -> Self {
        self.wait_for_ready = Some(wait);
        self
    }

    /// Whether the call waits for the channel to be ready.
    pub(crate) fn waits_for_ready(&self) -> bool {
        self.wait_for_ready.unwrap_or(false)
    }

    /// Whether the call says if it waits for ready.
    pub(crate) fn says_wait_for_ready(&self) -> bool {
        self.wait_for_ready.is_some()
    }

    /// The options with their deadline no later than `timeout` after the
    /// call starts.
    pub(crate) fn timeout_at_most(mut self, timeout: Duration) -> Self {
        self.deadline = Some(match self.deadline {
            None => Deadline::Timeout(timeout),
            Some(Deadline::Timeout(own)) => Deadline::Timeout(own.min(timeout)),
            Some(Deadline::At(own)) => match Instant::now().checked_add(timeout) {
                Some(latest) => Deadline::At(own.min(latest)),
                None => Deadline::At(own),
            },
        });
        self
    }

    /// What the call's requests are compressed with, given the channel's
    /// choice `default`.
    pub(crate) fn compression_or(&self, default: Option<Compression>) -> Option<Compression> {
        self.compression.unwrap_or(default)
    }

    pub(crate) fn request_metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The receive limit set for this call, if any.
    pub(crate) fn receive_limit(&self) -> Option<usize> {
        self.max_receive_message_size.map(|bytes| bytes as usize)
    }

    /// The send limit set for this call, if any.
    pub(crate) fn send_limit(&self) -> Option<usize> {
        self.max_send_message_size.map(|bytes| bytes as usize)
    }

    /// The bounds of a call starting now: its deadline (its own, or the
    /// parent's when that comes first) and the context whose cancellation it
    /// inherits.
    pub(crate) fn bounds(&self) -> Bounds {
        let parent = match &self.parent {
            Parent::Current => CallContext::current().unwrap_or_default(),
            Parent::Given(context) => context.clone(),
            Parent::Detached => CallContext::default(),
        };
        let own = match self.deadline {
            Some(Deadline::Timeout(timeout)) => Instant::now().checked_add(timeout),
            Some(Deadline::At(deadline)) => Some(deadline),
            None => None,
        };
        let deadline = match (own, parent.deadline()) {
            (Some(own), Some(inherited)) => Some(own.min(inherited)),
            (own, inherited) => own.or(inherited),
        };
        Bounds::new(deadline, parent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::{CallInfo, CallKind};

    fn handling(deadline: Instant) -> CallContext {
        CallContext::new(
            CallInfo::new("/echo.Echo/EchoMessage", CallKind::Unary, None),
            Some(deadline),
            crate::frame::Accepted::default(),
            None,
        )
    }

    #[tokio::test]
    async fn the_earlier_of_the_own_and_the_inherited_deadline_wins() {
        let soon = Instant::now() + Duration::from_secs(1);
        let later = Instant::now() + Duration::from_secs(60);
        let parent = handling(soon);
        let inherit = |options: CallOptions| {
            parent
                .clone()
                .scope(async move { options.bounds().deadline() })
        };
        assert_eq!(inherit(CallOptions::new()).await, Some(soon));
        assert_eq!(
            inherit(CallOptions::new().deadline(later)).await,
            Some(soon)
        );
        let sooner = Instant::now() + Duration::from_millis(10);
        assert_eq!(
            inherit(CallOptions::new().deadline(sooner)).await,
            Some(sooner)
        );
        assert_eq!(inherit(CallOptions::new().detached()).await, None);
        // Given explicitly, outside the handler's task.
        assert_eq!(
            CallOptions::new().context(&parent).bounds().deadline(),
            Some(soon)
        );
        assert_eq!(CallOptions::new().bounds().deadline(), None);
    }

    #[test]
    fn a_timeout_too_long_for_the_clock_is_no_deadline() {
        assert_eq!(
            CallOptions::new()
                .timeout(Duration::MAX)
                .bounds()
                .deadline(),
            None
        );
    }
}
