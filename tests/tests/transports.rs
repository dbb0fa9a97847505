//! Transports other than a TCP listener: Unix domain sockets on both
//! sides, a server fed any stream of connections, a channel with its own
//! connector, and the channel's connect timeout.

use std::time::{Duration, Instant};

use rgrpc::{Channel, Code, Request, Response, Server, Status};
use rgrpc_tests::pb::echo::{Echo, EchoClient, EchoRequest, EchoResponse, EchoServer};
use rgrpc_tests::{request, response};

/// Echo, answering with the peer address it saw (`none` without one).
struct Peer;

impl Echo for Peer {
    async fn echo_message(
        &self,
        request: Request<EchoRequest>,
    ) -> Result<Response<EchoResponse>, Status> {
        let peer = request.context().info().and_then(|info| info.peer());
        let text = format!(
            "{} from {}",
            request.message().message,
            peer.map_or("none".into(), |p| p.to_string())
        );
        Ok(Response::new(response(text)))
    }
}

fn server() -> Server {
    Server::builder().add_service(EchoServer::new(Peer)).build()
}

#[tokio::test]
async fn calls_go_over_a_unix_socket_under_both_target_forms() {
    let dir = std::env::temp_dir().join(format!("rgrpc-unix-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("echo.sock");
    let _ = std::fs::remove_file(&path);
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    let incoming = tokio_stream::wrappers::UnixListenerStream::new(listener);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server().serve_with_incoming(incoming, async {
        let _ = stopped.await;
    }));
    let absolute = path.to_str().unwrap();
    for target in [format!("unix:{absolute}"), format!("unix://{absolute}")] {
        let client = EchoClient::new(Channel::builder(&target).unwrap().connect_lazy());
        let answer = client.echo_message(request("hi")).await.unwrap();
        // A Unix socket's peer has no address.
        assert_eq!(answer.message().message, "hi from none", "{target}");
    }
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), serving)
        .await
        .expect("the server stops")
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn malformed_unix_targets_are_rejected() {
    for target in ["unix:", "unix://relative/path", "unix://"] {
        let err = Channel::builder(target).err().map(|status| status.code());
        assert_eq!(err, Some(Code::InvalidArgument), "{target}");
    }
}

#[tokio::test]
async fn a_channel_can_bring_its_own_connector() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(server().serve_with_shutdown(listener, std::future::pending()));
    let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = connections.clone();
    let channel = Channel::with_connector("localhost", move || {
        counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        tokio::net::TcpStream::connect(address)
    })
    .unwrap()
    .connect_lazy();
    let client = EchoClient::new(channel);
    let answer = client.echo_message(request("own")).await.unwrap();
    assert!(answer.message().message.starts_with("own from 127.0.0.1:"));
    client.echo_message(request("again")).await.unwrap();
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 1);

    // A connector that fails makes calls UNAVAILABLE, with its reason.
    let failing = Channel::with_connector("localhost", || async {
        Err::<tokio::net::TcpStream, _>(std::io::Error::other("no route today"))
    })
    .unwrap()
    .connect_lazy();
    let err = EchoClient::new(failing)
        .echo_message(request("x"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert!(err.message().contains("no route today"), "{err:?}");
}

#[tokio::test]
async fn a_connection_that_does_not_open_fails_at_the_connect_timeout() {
    // A connector that never finishes: a black-holed address.
    let channel = Channel::with_connector("localhost", || {
        std::future::pending::<std::io::Result<tokio::net::TcpStream>>()
    })
    .unwrap()
    .connect_timeout(Duration::from_millis(200))
    .connect_lazy();
    let started = Instant::now();
    let err = tokio::time::timeout(
        Duration::from_secs(5),
        EchoClient::new(channel).echo_message(request("x")),
    )
    .await
    .expect("the connect timeout ends the call")
    .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert!(err.message().contains("within"), "{err:?}");
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn a_server_serves_any_stream_of_connections() {
    // In-memory pipes, handed to the server one by one.
    let (connections, incoming) =
        tokio::sync::mpsc::channel::<std::io::Result<tokio::io::DuplexStream>>(4);
    let incoming = tokio_stream::wrappers::ReceiverStream::new(incoming);
    tokio::spawn(server().serve_with_incoming(incoming, std::future::pending()));
    let channel = Channel::with_connector("localhost", move || {
        let connections = connections.clone();
        async move {
            let (client, server) = tokio::io::duplex(64 * 1024);
            connections
                .send(Ok(server))
                .await
                .map_err(|_| std::io::Error::other("the server is gone"))?;
            Ok(client)
        }
    })
    .unwrap()
    .connect_lazy();
    let answer = EchoClient::new(channel)
        .echo_message(request("piped"))
        .await
        .unwrap();
    assert_eq!(answer.message().message, "piped from none");
}

#[tokio::test]
async fn an_address_in_use_is_named() {
    let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = taken.local_addr().unwrap();
    let err = server().serve(address).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    assert!(err.to_string().contains(&address.to_string()), "{err}");
}

#[tokio::test]
async fn every_way_to_serve_takes_an_address_or_a_listener() {
    // An address, bound first so that the port can be learned.
    let bound = server().bind("127.0.0.1:0").await.unwrap();
    let address = bound.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(bound.serve_with_shutdown(async {
        let _ = stopped.await;
    }));
    let client = EchoClient::new(
        Channel::builder(&address.to_string())
            .unwrap()
            .connect_lazy(),
    );
    let answer = client.echo_message(request("bound")).await.unwrap();
    assert!(
        answer
            .message()
            .message
            .starts_with("bound from 127.0.0.1:")
    );
    stop.send(()).unwrap();
    serving.await.unwrap();

    // The same address as a String, to serve_with_shutdown, and a
    // listener to serve.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server().serve_with_shutdown(address.to_string(), async {
        let _ = stopped.await;
    }));
    let client = EchoClient::new(
        Channel::builder(&address.to_string())
            .unwrap()
            .connect_lazy(),
    );
    // The server binds on its own task: the first calls may come too early.
    let mut answered = false;
    for _ in 0..100 {
        if client.echo_message(request("by address")).await.is_ok() {
            answered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(answered, "the server bound the address it was given");
    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(server().serve(listener));
    let client = EchoClient::new(
        Channel::builder(&address.to_string())
            .unwrap()
            .connect_lazy(),
    );
    client.echo_message(request("by listener")).await.unwrap();
}
