//! One connection: its HTTP/2 handshake, the calls it accepts, and the
//! checks each call passes before its handler runs.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use h2::RecvStream;
use h2::server::SendResponse;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

use super::builder::Config;
use super::driver::{self, Shared};
use super::handler::Call;
use super::intercept::Interceptors;
use super::router::Routes;
use crate::call::{CallSpan, connection_failed, handshake_failed};
use crate::{CallContext, CallInfo, protocol, transport};

/// What every connection of a server serves with: its routes, settings and
/// interceptors.
pub(crate) struct Core {
    pub(crate) routes: Routes,
    pub(crate) config: Config,
    /// None when there are none, so that calls pay nothing for them.
    pub(crate) interceptors: Option<Arc<Interceptors>>,
}

impl Core {
    /// Serves one connection, from `peer`, until the peer closes it or,
    /// after `stop` turns true, until its calls are done (GOAWAY is sent then).
    pub(crate) async fn serve_connection<IO>(
        self: Arc<Self>,
        io: IO,
        peer: Option<SocketAddr>,
        mut stop: watch::Receiver<bool>,
    ) where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Some(mut connection) = transport::accept(io, self.config.handshake_timeout).await
        else {
            handshake_failed(peer);
            return;
        };
        // One wait for the stop signal, made once: a new one per accepted
        // call would register and unregister with the signal each time.
        let mut stopped = std::pin::pin!(async move {
            while !*stop.borrow_and_update() {
                if stop.changed().await.is_err() {
                    break;
                }
            }
        });
        let mut stopping = false;
        loop {
            tokio::select! {
                accepted = connection.accept() => match accepted {
                    Some(Ok((request, respond))) => {
                        // The checks run on the call's own task: this one
                        // does the I/O of every call on the connection.
                        let core = self.clone();
                        tokio::spawn(driver::started_by(move || core.start_call(request, respond, peer)));
                    }
                    Some(Err(err)) => {
                        connection_failed("server", &err);
                        return;
                    }
                    None => return,
                },
                () = &mut stopped, if !stopping => {
                    stopping = true;
                    connection.graceful_shutdown();
                }
            }
        }
    }

    /// Checks a new call and returns the future that runs it; a call that
    /// fails the checks is answered here and needs none. The call's task
    /// runs this first (see `driver::started_by`), and the future holds
    /// only what the call needs from here on.
    fn start_call(
        &self,
        request: http::Request<RecvStream>,
        mut respond: SendResponse<Bytes>,
        peer: Option<SocketAddr>,
    ) -> Option<impl Future<Output = ()> + Send + use<>> {
        let (parts, body) = request.into_parts();
        if let Err(status) = protocol::check_request(&parts) {
            let _ = respond.send_response(protocol::plain_response(status), true);
            return None;
        }
        let head = self
            .routes
            .route(parts.uri.path())
            .and_then(|route| Ok((route, protocol::read_request(&parts.headers)?)));
        let ((path, method), head) = match head {
            Ok(found) => found,
            Err(status) => {
                driver::reject(respond, &status);
                return None;
            }
        };
        let deadline = head.timeout.map(|timeout| Instant::now() + timeout);
        let info = CallInfo::new(path, method.kind, peer);
        let span = CallSpan::server(&info);
        let context = CallContext::new(info, deadline);
        let shared = Shared::new(self.config.max_send_message_size);
        let call = Call {
            metadata: head.metadata,
            context: context.clone(),
            incoming: transport::Incoming::new(body, self.config.max_receive_message_size),
            sink: shared.clone(),
            interceptors: self.interceptors.clone(),
        };
        let handler = context.clone().scope((method.handler)(call));
        Some(driver::drive(respond, handler, shared, context, span))
    }
}
