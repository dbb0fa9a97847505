//! [`CallCredentials`]: metadata a channel attaches to every call, such as
//! a bearer token, fetched (and refreshed) as each call starts.

use super::BoxFuture;
use crate::{Metadata, Status};

/// A source of per-call credentials: metadata added to every call of the
/// channel it is given to (`ChannelBuilder::credentials`), asked for as
/// each call starts, so that it can refresh a token when it must.
///
/// Credentials are secrets: by default ([`CallCredentials::require_secure`])
/// a channel sends them only over a connection that encrypts, and refuses
/// calls with UNAUTHENTICATED over any other, as grpc-go does.
pub trait CallCredentials: Send + Sync + 'static {
    /// The metadata for a call to the method at `path`
    /// (`/package.Service/Method`).
    ///
    /// # Errors
    /// The status the call fails with when none can be had.
    fn metadata<'a>(&'a self, path: &'a str) -> BoxFuture<'a, Result<Metadata, Status>>;

    /// Whether the credentials may go only over an encrypted connection;
    /// true unless an implementation says otherwise.
    fn require_secure(&self) -> bool {
        true
    }
}

/// A fixed OAuth2-style token, sent as `authorization: Bearer <token>`.
///
/// ```
/// let token = rgrpc::client::BearerToken::new("s3cr3t");
/// // Over plaintext only on a trusted network, or to a local proxy.
/// let token = token.allow_plaintext();
/// # let _ = token;
/// ```
#[derive(Clone)]
pub struct BearerToken {
    header: String,
    plaintext: bool,
}

impl BearerToken {
    /// The token `token`.
    pub fn new(token: impl AsRef<str>) -> Self {
        Self {
            header: format!("Bearer {}", token.as_ref()),
            plaintext: false,
        }
    }

    /// Lets the token go over a connection that does not encrypt.
    pub fn allow_plaintext(mut self) -> Self {
        self.plaintext = true;
        self
    }
}

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token stays out of logs.
        f.debug_struct("BearerToken")
            .field("plaintext", &self.plaintext)
            .finish_non_exhaustive()
    }
}

impl CallCredentials for BearerToken {
    fn metadata<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Metadata, Status>> {
        Box::pin(async move {
            let mut metadata = Metadata::new();
            metadata
                .insert("authorization", &self.header)
                .map_err(|err| Status::unauthenticated(format!("invalid token: {err}")))?;
            Ok(metadata)
        })
    }

    fn require_secure(&self) -> bool {
        !self.plaintext
    }
}
