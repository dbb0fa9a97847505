//! TLS over real sockets, with certificates made for each test: the server
//! and the channel, mutual TLS accepted and refused, the peer's
//! certificates in handlers and interceptors, certificates a resolver
//! swaps, and the failures a user meets (an expired certificate, a wrong
//! name, a wrong authority, a plaintext peer, a server without HTTP/2),
//! each a clear error and none a hang.

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use rgrpc::client::BearerToken;
use rgrpc::server::UnaryNext;
use rgrpc::tls::rustls::server::{ClientHello, ResolvesServerCert};
use rgrpc::tls::rustls::sign::CertifiedKey;
use rgrpc::tls::{ClientTls, Identity, Roots, ServerTls};
use rgrpc::{AnyRequest, Channel, Code, Request, Response, Server, ServerBuilder, Status};
use rgrpc_tests::pb::echo::{Echo, EchoClient, EchoRequest, EchoResponse, EchoServer};
use rgrpc_tests::pki::{Authority, Signed, Usage};
use rgrpc_tests::{request, response};

/// Echo, answering with how many certificates the client showed and the
/// `authorization` it sent.
struct Peer;

impl Echo for Peer {
    async fn echo_message(
        &self,
        request: Request<EchoRequest>,
    ) -> Result<Response<EchoResponse>, Status> {
        let info = request.context().info().expect("a server call");
        let shown = info.peer_certificates().map_or(0, <[_]>::len);
        let authorization = request.metadata().get("authorization").unwrap_or("none");
        let text = format!(
            "{} with {shown} certificates, authorization {authorization}",
            request.message().message
        );
        Ok(Response::new(response(text)))
    }
}

/// A server with `tls` on a new port, and its address.
async fn serve(tls: ServerTls) -> SocketAddr {
    serve_with(Server::builder().tls(tls).unwrap()).await
}

/// The server `builder` makes, with the echo service, on a new port.
async fn serve_with(builder: ServerBuilder) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = builder.add_service(EchoServer::new(Peer)).build();
    tokio::spawn(server.serve_with_shutdown(listener, std::future::pending()));
    address
}

/// A client of the server at `address`, known as `localhost`, with `tls`.
fn client(address: SocketAddr, tls: ClientTls) -> EchoClient {
    let target = format!("https://localhost:{}", address.port());
    EchoClient::new(
        Channel::builder(&target)
            .unwrap()
            .tls(tls)
            .unwrap()
            .connect_lazy(),
    )
}

/// An authority, and a certificate it signed for `localhost`.
fn localhost() -> (Authority, Signed) {
    let authority = Authority::new("test CA");
    let server = authority.sign("localhost", &["localhost"], Usage::Server);
    (authority, server)
}

/// The error of one call, which must fail.
async fn failure(client: &EchoClient) -> Status {
    client
        .echo_message(request("hi"))
        .await
        .expect_err("the call fails")
}

/// Asserts that `err` is UNAVAILABLE and says each of `words`.
fn assert_unavailable(err: &Status, words: &[&str]) {
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    for word in words {
        assert!(
            err.message().to_lowercase().contains(word),
            "{word:?} missing from {err:?}"
        );
    }
}

#[tokio::test]
async fn calls_go_over_tls_and_the_server_sees_no_client_certificate() {
    let (authority, server) = localhost();
    let address = serve(ServerTls::new(server.identity())).await;
    let client = client(address, ClientTls::new().roots(authority.roots()));
    for _ in 0..2 {
        let answer = client.echo_message(request("hi")).await.unwrap();
        assert_eq!(
            answer.message().message,
            "hi with 0 certificates, authorization none"
        );
    }
}

#[tokio::test]
async fn bearer_tokens_go_over_tls_without_being_allowed_in_the_clear() {
    let (authority, server) = localhost();
    let address = serve(ServerTls::new(server.identity())).await;
    let target = format!("https://localhost:{}", address.port());
    let channel = Channel::builder(&target)
        .unwrap()
        .tls(ClientTls::new().roots(authority.roots()))
        .unwrap()
        .credentials(BearerToken::new("s3cr3t"))
        .connect_lazy();
    let answer = EchoClient::new(channel)
        .echo_message(request("hi"))
        .await
        .unwrap();
    assert_eq!(
        answer.message().message,
        "hi with 0 certificates, authorization Bearer s3cr3t"
    );
}

#[tokio::test]
async fn mutual_tls_shows_the_client_certificate_to_handlers_and_interceptors() {
    let (authority, server) = localhost();
    let alice = authority.sign("alice", &["alice.example"], Usage::Client);
    let mallory = authority.sign("mallory", &["mallory.example"], Usage::Client);
    let allowed = alice.certificate.clone();
    // Authorizes by the certificate: only alice's may call.
    let builder = Server::builder()
        .tls(ServerTls::new(server.identity()).client_roots(authority.roots()))
        .unwrap()
        .unary_interceptor(move |request: AnyRequest, next: UnaryNext| {
            let allowed = allowed.clone();
            async move {
                let info = request.context().info().expect("a server call");
                let chain = info.peer_certificates().unwrap_or_default();
                if chain.first() != Some(&allowed) {
                    return Err(Status::permission_denied("not alice"));
                }
                next.run(request).await
            }
        });
    let address = serve_with(builder).await;
    let roots = || ClientTls::new().roots(authority.roots());
    let answer = client(address, roots().identity(alice.identity()))
        .echo_message(request("hi"))
        .await
        .unwrap();
    assert_eq!(
        answer.message().message,
        "hi with 1 certificates, authorization none"
    );
    let err = failure(&client(address, roots().identity(mallory.identity()))).await;
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
}

#[tokio::test]
async fn mutual_tls_refuses_clients_without_a_certificate_or_with_a_stranger_s() {
    let (authority, server) = localhost();
    let tls = ServerTls::new(server.identity()).client_roots(authority.roots());
    let address = serve(tls).await;
    let roots = || ClientTls::new().roots(authority.roots());
    let err = failure(&client(address, roots())).await;
    assert_unavailable(
        &err,
        &["requires a client certificate", "certificaterequired"],
    );
    let stranger = Authority::new("another CA").sign("eve", &["eve.example"], Usage::Client);
    let err = failure(&client(address, roots().identity(stranger.identity()))).await;
    assert_unavailable(
        &err,
        &["refused this channel's client certificate", "unknownca"],
    );
    // The server goes on serving.
    let alice = authority.sign("alice", &["alice.example"], Usage::Client);
    let client = client(address, roots().identity(alice.identity()));
    client.echo_message(request("hi")).await.unwrap();
}

#[tokio::test]
async fn optional_client_certificates_serve_clients_with_and_without_one() {
    let (authority, server) = localhost();
    let tls = ServerTls::new(server.identity()).optional_client_roots(authority.roots());
    let address = serve(tls).await;
    let roots = || ClientTls::new().roots(authority.roots());
    let alice = authority.sign("alice", &["alice.example"], Usage::Client);
    for (tls, shown) in [(roots(), 0), (roots().identity(alice.identity()), 1)] {
        let answer = client(address, tls)
            .echo_message(request("hi"))
            .await
            .unwrap();
        let expected = format!("hi with {shown} certificates, authorization none");
        assert_eq!(answer.message().message, expected);
    }
}

#[tokio::test]
async fn an_expired_server_certificate_is_refused() {
    let authority = Authority::new("test CA");
    let expired = authority.sign("localhost", &["localhost"], Usage::ExpiredServer);
    let address = serve(ServerTls::new(expired.identity())).await;
    let err = failure(&client(address, ClientTls::new().roots(authority.roots()))).await;
    assert_unavailable(&err, &["tls handshake failed", "expired"]);
}

#[tokio::test]
async fn a_certificate_for_another_name_is_refused_unless_that_name_is_asked_for() {
    let authority = Authority::new("test CA");
    let other = authority.sign("api.example", &["api.example"], Usage::Server);
    let address = serve(ServerTls::new(other.identity())).await;
    let roots = || ClientTls::new().roots(authority.roots());
    let err = failure(&client(address, roots())).await;
    assert_unavailable(&err, &["tls handshake failed", "not valid for name"]);
    let overridden = client(address, roots().server_name("api.example"));
    overridden.echo_message(request("hi")).await.unwrap();
}

#[tokio::test]
async fn a_certificate_from_an_untrusted_authority_is_refused() {
    let (_, server) = localhost();
    let address = serve(ServerTls::new(server.identity())).await;
    let stranger = Authority::new("another CA");
    let err = failure(&client(address, ClientTls::new().roots(stranger.roots()))).await;
    assert_unavailable(&err, &["tls handshake failed", "unknownissuer"]);
}

#[tokio::test]
async fn an_https_target_trusts_the_system_authorities_not_a_test_one() {
    let (_, server) = localhost();
    let address = serve(ServerTls::new(server.identity())).await;
    let target = format!("https://localhost:{}", address.port());
    let channel = Channel::builder(&target).unwrap().connect_lazy();
    let err = failure(&EchoClient::new(channel)).await;
    assert_unavailable(&err, &["unknownissuer"]);
}

#[tokio::test]
async fn an_ip_address_target_is_checked_against_the_certificate_s_addresses() {
    let authority = Authority::new("test CA");
    let server = authority.sign("loopback", &["127.0.0.1"], Usage::Server);
    let address = serve(ServerTls::new(server.identity())).await;
    let channel = Channel::builder(&format!("https://{address}"))
        .unwrap()
        .tls(ClientTls::new().roots(authority.roots()))
        .unwrap()
        .connect_lazy();
    EchoClient::new(channel)
        .echo_message(request("hi"))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_plaintext_client_of_a_tls_server_fails_fast_and_is_told_why() {
    let (_, server) = localhost();
    let address = serve(ServerTls::new(server.identity())).await;
    let channel = Channel::builder(&format!("http://{address}"))
        .unwrap()
        .connect_lazy();
    let started = Instant::now();
    let err = failure(&EchoClient::new(channel)).await;
    assert!(started.elapsed() < Duration::from_secs(5), "{err:?}");
    assert_unavailable(&err, &["speaks tls"]);
}

#[tokio::test]
async fn a_tls_client_of_a_plaintext_server_fails_fast_and_is_told_why() {
    let (authority, _) = localhost();
    let address = serve_with(Server::builder()).await;
    let started = Instant::now();
    let err = failure(&client(address, ClientTls::new().roots(authority.roots()))).await;
    assert!(started.elapsed() < Duration::from_secs(5), "{err:?}");
    assert_unavailable(
        &err,
        &["tls handshake failed", "does not seem to speak tls"],
    );
}

#[tokio::test]
async fn a_server_that_does_not_agree_on_http2_is_refused() {
    let (authority, server) = localhost();
    // TLS without ALPN, in front of nothing.
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![server.certificate.clone()], server.key())
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(socket).await {
                    let mut sink = Vec::new();
                    let _ = tokio::io::AsyncReadExt::read_to_end(&mut tls, &mut sink).await;
                }
            });
        }
    });
    let err = failure(&client(address, ClientTls::new().roots(authority.roots()))).await;
    assert_unavailable(&err, &["alpn h2"]);
}

/// Serves whichever certificate was last put in it.
#[derive(Debug)]
struct Swappable(RwLock<Arc<CertifiedKey>>);

impl Swappable {
    fn certified(signed: &Signed) -> Arc<CertifiedKey> {
        let provider = tokio_rustls::rustls::crypto::ring::default_provider();
        let key = provider
            .key_provider
            .load_private_key(signed.key())
            .unwrap();
        Arc::new(CertifiedKey::new(vec![signed.certificate.clone()], key))
    }
}

impl ResolvesServerCert for Swappable {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.read().unwrap().clone())
    }
}

#[tokio::test]
async fn certificates_a_resolver_swaps_are_served_without_a_restart() {
    let old = Authority::new("old CA");
    let new = Authority::new("new CA");
    let swappable = Arc::new(Swappable(RwLock::new(Swappable::certified(&old.sign(
        "localhost",
        &["localhost"],
        Usage::Server,
    )))));
    let address = serve(ServerTls::with_resolver(swappable.clone())).await;
    // A client that trusts only the new authority.
    let trusts_new = || client(address, ClientTls::new().roots(new.roots()));
    assert_unavailable(&failure(&trusts_new()).await, &["unknownissuer"]);
    *swappable.0.write().unwrap() =
        Swappable::certified(&new.sign("localhost", &["localhost"], Usage::Server));
    trusts_new().echo_message(request("hi")).await.unwrap();
}

#[tokio::test]
async fn a_client_that_never_starts_tls_is_dropped_after_the_handshake_timeout() {
    let (_, server) = localhost();
    let builder = Server::builder()
        .tls(ServerTls::new(server.identity()))
        .unwrap()
        .handshake_timeout(Duration::from_millis(200));
    let address = serve_with(builder).await;
    let mut silent = tokio::net::TcpStream::connect(address).await.unwrap();
    let mut buf = [0; 16];
    let read = tokio::time::timeout(
        Duration::from_secs(5),
        tokio::io::AsyncReadExt::read(&mut silent, &mut buf),
    )
    .await
    .expect("the server closes the connection");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
}

#[test]
fn unusable_tls_settings_are_errors_that_say_what_is_wrong() {
    let err = Identity::from_pem("not a certificate", "not a key").unwrap_err();
    assert!(err.to_string().contains("certificate chain"), "{err}");
    let err = Roots::from_pem("").unwrap_err();
    assert!(err.to_string().contains("no PEM CERTIFICATE"), "{err}");
    // A key that is not the certificate's.
    let (authority, server) = localhost();
    let other = authority.sign("localhost", &["localhost"], Usage::Server);
    let mismatched = Identity::from_pem(&server.certificate_pem, &other.key_pem).unwrap();
    let err = Server::builder()
        .tls(ServerTls::new(mismatched))
        .err()
        .expect("a key that is not the certificate's is refused");
    assert!(err.to_string().contains("identity"), "{err}");
    let err = Channel::in_memory(&Server::builder().build())
        .tls(ClientTls::new().roots(authority.roots()))
        .err()
        .expect("an in-memory channel refuses TLS");
    assert!(err.to_string().contains("in-memory"), "{err}");
}
