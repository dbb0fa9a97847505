//! Protocol edge cases against a peer that speaks raw HTTP/2: malformed
//! requests reach the server and malformed responses reach the client, and
//! each ends as a clean gRPC status, never a panic or a hang.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Response, StatusCode};
use rgrpc::{Channel, Code, Message, Server};
use rgrpc_tests::pb::echo::{Echo, EchoClient, EchoRequest, EchoResponse, EchoServer};
use rgrpc_tests::raw::{Answer, exchange};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

struct Upper;

impl Echo for Upper {
    async fn echo_message(
        &self,
        request: rgrpc::Request<EchoRequest>,
    ) -> Result<rgrpc::Response<EchoResponse>, rgrpc::Status> {
        if request.message().message == "must not run" {
            return Err(rgrpc::Status::internal("the handler ran"));
        }
        let message = request.into_message().message.to_uppercase();
        Ok(rgrpc::Response::new(EchoResponse {
            message,
            ..Default::default()
        }))
    }
}

/// A running rgrpc server and a raw HTTP/2 connection to it.
async fn raw_connection() -> h2::client::SendRequest<Bytes> {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = Server::builder()
        .add_service(EchoServer::new(Upper))
        .max_receive_message_size(1000)
        .build();
    tokio::spawn(server.serve_with_shutdown(listener, std::future::pending()));
    let (sender, connection) = h2::client::handshake(TcpStream::connect(address).await.unwrap())
        .await
        .unwrap();
    tokio::spawn(connection);
    sender
}

/// What came back: HTTP status, then the gRPC status from trailers (or trailers-only headers).
/// [`exchange`] on a new connection to the `Upper` server.
async fn send(headers: &[(&str, &str)], method: &str, body: &[u8]) -> Answer {
    send_to("/echo.Echo/EchoMessage", headers, method, body).await
}

/// [`send`], to `path`.
async fn send_to(path: &str, headers: &[(&str, &str)], method: &str, body: &[u8]) -> Answer {
    exchange(raw_connection().await, path, headers, method, body).await
}

const GRPC: (&str, &str) = ("content-type", "application/grpc");

fn frame(flag: u8, message: &[u8]) -> Vec<u8> {
    rgrpc_tests::raw::frame(flag, message)
}

fn hello() -> Vec<u8> {
    EchoRequest {
        message: "hello".into(),
        ..Default::default()
    }
    .encode_to_vec()
}

/// A request the handler answers with INTERNAL, for calls it must not see.
fn must_not_run() -> Vec<u8> {
    EchoRequest {
        message: "must not run".into(),
        ..Default::default()
    }
    .encode_to_vec()
}

#[tokio::test]
async fn a_path_with_a_query_names_no_method() {
    let body = frame(0, &must_not_run());
    let answer = send_to("/echo.Echo/EchoMessage?x=1", &[GRPC], "POST", &body).await;
    assert_eq!((answer.http, answer.code), (StatusCode::OK, Some(12)));
}

#[tokio::test]
async fn a_well_formed_raw_request_works() {
    let answer = send(&[GRPC, ("te", "trailers")], "POST", &frame(0, &hello())).await;
    assert_eq!((answer.http, answer.code), (StatusCode::OK, Some(0)));
    let response = EchoResponse::decode(&answer.body[5..]).unwrap();
    assert_eq!(response.message, "HELLO");
}

#[tokio::test]
async fn malformed_requests_get_clean_statuses() {
    let cases = [
        Case::new(
            "invalid grpc-timeout",
            &[GRPC, ("grpc-timeout", "1x")],
            frame(0, &hello()),
            13,
            "malformed grpc-timeout",
        ),
        Case::new(
            "too long grpc-timeout",
            &[GRPC, ("grpc-timeout", "123456789S")],
            frame(0, &hello()),
            13,
            "malformed grpc-timeout",
        ),
        Case::new(
            "expired grpc-timeout",
            &[GRPC, ("grpc-timeout", "0n")],
            frame(0, &must_not_run()),
            4,
            "deadline passed before the call started",
        ),
        Case::new(
            "compressed flag without encoding",
            &[GRPC],
            frame(1, &hello()),
            13,
            "compressed message received",
        ),
        Case::new(
            "invalid frame flag",
            &[GRPC],
            frame(7, &hello()),
            13,
            "invalid message frame flag",
        ),
        Case::new(
            "truncated frame",
            &[GRPC],
            frame(0, &hello())[..8].to_vec(),
            13,
            "stream ended in the middle of a message frame",
        ),
        Case::new(
            "oversize message",
            &[GRPC],
            frame(0, &[0x0a; 2000]),
            8,
            "received message larger than max",
        ),
        Case::new(
            "undecodable message",
            &[GRPC],
            frame(0, &[0xff, 0xff]),
            13,
            "could not decode the request",
        ),
        Case::new(
            "no message",
            &[GRPC],
            Vec::new(),
            13,
            "the request ended without a message",
        ),
        Case::new(
            "two messages",
            &[GRPC],
            [frame(0, &hello()), frame(0, &hello())].concat(),
            13,
            "more than one message",
        ),
        Case::new(
            "unsupported encoding",
            &[GRPC, ("grpc-encoding", "snappy")],
            frame(1, &hello()),
            12,
            "not supported; supported: identity,gzip",
        ),
    ];
    for case in cases {
        let answer = send(case.headers, "POST", &case.body).await;
        let what = case.what;
        assert_eq!(answer.http, StatusCode::OK, "{what}");
        assert_eq!(answer.code, Some(case.code), "{what}: {}", answer.message);
        assert!(
            answer.message.contains(case.message),
            "{what}: {:?}",
            answer.message
        );
    }
}

/// A malformed request and the status it must get.
struct Case {
    what: &'static str,
    headers: &'static [(&'static str, &'static str)],
    body: Vec<u8>,
    code: i32,
    message: &'static str,
}

impl Case {
    fn new(
        what: &'static str,
        headers: &'static [(&'static str, &'static str)],
        body: Vec<u8>,
        code: i32,
        message: &'static str,
    ) -> Self {
        Case {
            what,
            headers,
            body,
            code,
            message,
        }
    }
}

#[tokio::test]
async fn non_grpc_requests_get_http_errors() {
    for content_type in ["text/plain", "application/grpc-web", "application/grpcx"] {
        let answer = send(&[("content-type", content_type)], "POST", b"hi").await;
        assert_eq!(
            answer.http,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type}"
        );
    }
    for content_type in ["application/grpc+proto", "application/grpc; charset=utf-8"] {
        let answer = send(
            &[("content-type", content_type)],
            "POST",
            &frame(0, &hello()),
        )
        .await;
        assert_eq!(answer.code, Some(0), "{content_type}");
    }
    let answer = send(&[GRPC], "GET", b"").await;
    assert_eq!(answer.http, StatusCode::METHOD_NOT_ALLOWED);
}

/// A fake server that answers every request with `respond`, and a client of it.
async fn fake_server<F, Fut>(respond: F) -> EchoClient
where
    F: Fn(h2::server::SendResponse<Bytes>) -> Fut + Send + Sync + Clone + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let respond = respond.clone();
            tokio::spawn(async move {
                let mut connection = h2::server::handshake(socket).await.unwrap();
                while let Some(Ok((_request, sender))) = connection.accept().await {
                    tokio::spawn(respond.clone()(sender));
                }
            });
        }
    });
    EchoClient::new(
        Channel::builder(&address.to_string())
            .unwrap()
            .connect_lazy(),
    )
}

fn grpc_response(status: u16, content_type: &str) -> Response<()> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(())
        .unwrap()
}

fn trailers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.insert(*name, value.parse().unwrap());
    }
    map
}

async fn call(client: &EchoClient) -> rgrpc::Status {
    client
        .echo_message(EchoRequest::default())
        .timeout(Duration::from_secs(5))
        .await
        .expect_err("the fake server's answer is malformed")
}

#[tokio::test]
async fn non_grpc_http_statuses_map_to_codes() {
    for (http, code) in [
        (503, Code::Unavailable),
        (404, Code::Unimplemented),
        (401, Code::Unauthenticated),
        (500, Code::Unknown),
    ] {
        let client = fake_server(move |mut sender| async move {
            let _ = sender.send_response(grpc_response(http, "text/html"), true);
        })
        .await;
        assert_eq!(call(&client).await.code(), code, "HTTP {http}");
    }
}

#[tokio::test]
async fn malformed_responses_are_clean_errors() {
    // A 200 that is not gRPC.
    let client = fake_server(|mut sender| async move {
        let _ = sender.send_response(grpc_response(200, "text/html"), true);
    })
    .await;
    assert_eq!(call(&client).await.code(), Code::Unknown);

    // A response that ends without trailers.
    let client = fake_server(|mut sender| async move {
        let mut stream = sender
            .send_response(grpc_response(200, "application/grpc"), false)
            .unwrap();
        let _ = stream.send_data(Bytes::from(frame(0, b"")), true);
    })
    .await;
    let status = call(&client).await;
    assert_eq!(
        (status.code(), status.message()),
        (
            Code::Internal,
            "the server ended the stream without trailers"
        )
    );

    // Trailers without a grpc-status, and malformed ones: as grpc-go reads them.
    for (sent, code) in [
        (&[("x-other", "1")][..], Code::Unknown),
        (&[("grpc-status", "abc")], Code::Internal),
        (
            &[
                ("grpc-status", "3"),
                ("grpc-status-details-bin", "not base64!"),
            ],
            Code::Internal,
        ),
    ] {
        let client = fake_server(move |mut sender| async move {
            let mut stream = sender
                .send_response(grpc_response(200, "application/grpc"), false)
                .unwrap();
            let _ = stream.send_trailers(trailers(sent));
        })
        .await;
        assert_eq!(call(&client).await.code(), code, "{sent:?}");
    }

    // A frame cut short before OK trailers.
    let client = fake_server(|mut sender| async move {
        let mut stream = sender
            .send_response(grpc_response(200, "application/grpc"), false)
            .unwrap();
        let _ = stream.send_data(Bytes::from(frame(0, b"abcdef")[..7].to_vec()), false);
        let _ = stream.send_trailers(trailers(&[("grpc-status", "0")]));
    })
    .await;
    assert_eq!(call(&client).await.code(), Code::Internal);

    // A message that does not decode.
    let client = fake_server(|mut sender| async move {
        let mut stream = sender
            .send_response(grpc_response(200, "application/grpc"), false)
            .unwrap();
        let _ = stream.send_data(Bytes::from(frame(0, &[0xff, 0xff])), false);
        let _ = stream.send_trailers(trailers(&[("grpc-status", "0")]));
    })
    .await;
    let status = call(&client).await;
    assert_eq!(status.code(), Code::Internal);
    assert!(
        status
            .message()
            .starts_with("could not decode the response"),
        "{}",
        status.message()
    );

    // A stream reset by the server.
    let client = fake_server(|mut sender| async move {
        sender.send_reset(h2::Reason::REFUSED_STREAM);
    })
    .await;
    assert_eq!(call(&client).await.code(), Code::Unavailable);
}

#[tokio::test]
async fn a_call_cut_off_by_goaway_is_unavailable() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    // A server written frame by frame: on each connection, once the
    // request's HEADERS arrive it sends GOAWAY naming stream 0 as the last
    // it processed, and stays connected. The client makes the call once
    // more on a new connection (the server never saw it), then gives up.
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut preface = [0u8; 24];
                socket.read_exact(&mut preface).await.unwrap();
                // Empty SETTINGS, then an ACK of the client's.
                socket
                    .write_all(&[0, 0, 0, 0x4, 0, 0, 0, 0, 0, 0, 0, 0, 0x4, 0x1, 0, 0, 0, 0])
                    .await
                    .unwrap();
                loop {
                    let mut header = [0u8; 9];
                    socket.read_exact(&mut header).await.unwrap();
                    let len = u32::from_be_bytes([0, header[0], header[1], header[2]]) as usize;
                    let mut payload = vec![0; len];
                    socket.read_exact(&mut payload).await.unwrap();
                    if header[3] == 0x1 {
                        break;
                    }
                }
                // GOAWAY: last stream 0, NO_ERROR.
                socket
                    .write_all(&[0, 0, 8, 0x7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
                    .await
                    .unwrap();
                tokio::time::sleep(Duration::from_secs(10)).await;
            });
        }
    });
    let client = EchoClient::new(
        Channel::builder(&address.to_string())
            .unwrap()
            .connect_lazy(),
    );
    let status = call(&client).await;
    assert_eq!(status.code(), Code::Unavailable, "{}", status.message());
}

#[tokio::test]
async fn a_silent_server_hits_the_deadline_not_a_hang() {
    let client = fake_server(|sender| async move {
        tokio::time::sleep(Duration::from_secs(60)).await;
        drop(sender);
    })
    .await;
    let status = client
        .echo_message(EchoRequest::default())
        .timeout(Duration::from_millis(200))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded);
}

/// Reads one HTTP/2 SETTINGS frame and returns its parameters.
async fn read_settings(socket: &mut TcpStream) -> Vec<(u16, u32)> {
    let mut header = [0; 9];
    socket.read_exact(&mut header).await.unwrap();
    assert_eq!(header[3], 0x4, "the first frame is SETTINGS");
    let len = usize::from(header[0]) << 16 | usize::from(header[1]) << 8 | usize::from(header[2]);
    let mut payload = vec![0; len];
    socket.read_exact(&mut payload).await.unwrap();
    payload
        .chunks_exact(6)
        .map(|p| {
            (
                u16::from_be_bytes([p[0], p[1]]),
                u32::from_be_bytes([p[2], p[3], p[4], p[5]]),
            )
        })
        .collect()
}

/// SETTINGS_INITIAL_WINDOW_SIZE and SETTINGS_MAX_FRAME_SIZE as rgrpc tunes them.
const TUNED: [(u16, u32); 2] = [(0x4, 1024 * 1024), (0x5, 256 * 1024)];

#[tokio::test]
async fn both_ends_advertise_large_windows_and_frames() {
    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

    // The server's settings, as a client sees them.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = Server::builder()
        .add_service(EchoServer::new(Upper))
        .build();
    tokio::spawn(server.serve_with_shutdown(listener, std::future::pending()));
    let mut socket = TcpStream::connect(address).await.unwrap();
    socket.write_all(PREFACE).await.unwrap();
    socket
        .write_all(&[0, 0, 0, 0x4, 0, 0, 0, 0, 0])
        .await
        .unwrap();
    let settings = read_settings(&mut socket).await;
    for tuned in TUNED {
        assert!(settings.contains(&tuned), "{settings:?} lacks {tuned:?}");
    }

    // The client's settings, as a server sees them.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let client = EchoClient::new(
        Channel::builder(&address.to_string())
            .unwrap()
            .connect_lazy(),
    );
    let call = tokio::spawn(async move { client.echo_message(EchoRequest::default()).await });
    let (mut socket, _) = listener.accept().await.unwrap();
    let mut preface = [0; PREFACE.len()];
    socket.read_exact(&mut preface).await.unwrap();
    assert_eq!(preface, PREFACE);
    let settings = read_settings(&mut socket).await;
    for tuned in TUNED {
        assert!(settings.contains(&tuned), "{settings:?} lacks {tuned:?}");
    }
    call.abort();
}

#[tokio::test]
async fn a_connection_that_never_starts_http2_is_closed() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = Server::builder()
        .add_service(EchoServer::new(Upper))
        .handshake_timeout(Duration::from_millis(100))
        .build();
    tokio::spawn(server.serve_with_shutdown(listener, std::future::pending()));
    // Connected, and silent: no preface, no settings.
    let mut socket = TcpStream::connect(address).await.unwrap();
    let mut received = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), socket.read_to_end(&mut received))
        .await
        .expect("the server closes the connection")
        .unwrap();
}
