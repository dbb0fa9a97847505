//! Per-call credentials: metadata a channel attaches to every call, asked
//! for as each call starts, and never sent in the clear unless allowed.

use std::sync::atomic::{AtomicUsize, Ordering};

use rgrpc::client::{BearerToken, CallCredentials};
use rgrpc::{BoxFuture, Channel, Code, Metadata, Request, Response, Server, Status};
use rgrpc_tests::pb::echo::{Echo, EchoClient, EchoRequest, EchoResponse, EchoServer};
use rgrpc_tests::{request, response};

/// Echo, answering with the `authorization` the call carried.
struct Authorization;

impl Echo for Authorization {
    async fn echo_message(
        &self,
        request: Request<EchoRequest>,
    ) -> Result<Response<EchoResponse>, Status> {
        let seen = request
            .metadata()
            .get("authorization")
            .unwrap_or("none")
            .to_owned();
        Ok(Response::new(response(seen)))
    }
}

/// A channel with `credentials` to a server in this process.
fn client(credentials: impl CallCredentials) -> EchoClient {
    let server = Server::builder()
        .add_service(EchoServer::new(Authorization))
        .build();
    EchoClient::new(
        Channel::in_memory(&server)
            .credentials(credentials)
            .connect_lazy(),
    )
}

#[tokio::test]
async fn credentials_that_need_encryption_are_not_sent_in_the_clear() {
    let err = client(BearerToken::new("s3cr3t"))
        .echo_message(request("x"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    assert!(err.message().contains("encrypts"), "{err:?}");
}

#[tokio::test]
async fn a_bearer_token_allowed_in_the_clear_goes_with_every_call() {
    let client = client(BearerToken::new("s3cr3t").allow_plaintext());
    for _ in 0..2 {
        let answer = client.echo_message(request("x")).await.unwrap();
        assert_eq!(answer.message().message, "Bearer s3cr3t");
    }
}

/// A token refreshed for every call, or an error when the source fails.
struct Refreshing {
    calls: AtomicUsize,
}

impl CallCredentials for Refreshing {
    fn metadata<'a>(&'a self, path: &'a str) -> BoxFuture<'a, Result<Metadata, Status>> {
        Box::pin(async move {
            // An asynchronous refresh, as from a token endpoint.
            tokio::task::yield_now().await;
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            if n == 2 {
                return Err(Status::unavailable("the token service is down"));
            }
            let mut metadata = Metadata::new();
            metadata
                .insert("authorization", format!("Bearer {n} for {path}"))
                .unwrap();
            Ok(metadata)
        })
    }

    fn require_secure(&self) -> bool {
        false
    }
}

#[tokio::test]
async fn credentials_are_asked_for_as_each_call_starts() {
    let client = client(Refreshing {
        calls: AtomicUsize::new(0),
    });
    for n in 0..2 {
        let answer = client.echo_message(request("x")).await.unwrap();
        assert_eq!(
            answer.message().message,
            format!("Bearer {n} for /echo.Echo/EchoMessage")
        );
    }
    // A source that fails fails the call, with its status.
    let err = client.echo_message(request("x")).await.unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (Code::Unavailable, "the token service is down")
    );
}
