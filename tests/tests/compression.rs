//! Message compression (`grpc-encoding`): chosen per channel, per server,
//! per call and skipped per message; a server compresses only what its
//! client accepts; and compressed input that is unsupported, corrupt or a
//! decompression bomb ends as a clean status, the bomb having cost no more
//! than the receive limit in memory.

use std::io::Write;

use bytes::Bytes;
use rgrpc::client::CallOptions;
use rgrpc::server::{RequestStream, ResponseSink};
use rgrpc::{
    Channel, Code, Compression, Message, Request, Response, Server, ServerBuilder, Status,
};
use rgrpc_tests::counting::{self, Counting};
use rgrpc_tests::pb::echo::{Echo, EchoClient, EchoRequest, EchoResponse, EchoServer};
use rgrpc_tests::raw::{self, Answer};
use rgrpc_tests::{request, response};
use tokio::net::TcpListener;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Echo, saying whether each request came compressed; a message `plain`
/// asks for an uncompressed response, `gzip` for a gzip one.
struct Compressing;

/// What the handler saw of a request: its text, and whether it was
/// compressed.
fn seen(request: &EchoRequest, context: &rgrpc::CallContext) -> EchoResponse {
    let compressed = context.request_compressed();
    response(format!("{} compressed={compressed}", request.message))
}

impl Echo for Compressing {
    async fn echo_message(
        &self,
        request: Request<EchoRequest>,
    ) -> Result<Response<EchoResponse>, Status> {
        let context = request.context();
        let wanted = match request.message().message.as_str() {
            "plain" => Some(None),
            "gzip" => Some(Some(Compression::Gzip)),
            _ => None,
        };
        if wanted.is_some_and(|wanted| !context.set_compression(wanted)) {
            return Err(Status::failed_precondition("not accepted"));
        }
        Ok(Response::new(seen(request.message(), context)))
    }

    async fn echo_bidirectional_streaming(
        &self,
        mut requests: RequestStream<EchoRequest>,
        mut responses: ResponseSink<EchoResponse>,
    ) -> Result<(), Status> {
        while let Some(message) = requests.recv().await? {
            if message.message == "skip" {
                responses.disable_next_message_compression();
            }
            let answer = seen(&message, requests.context());
            responses.send(&answer).await?;
        }
        Ok(())
    }
}

/// The server `builder` makes, on a new port, and a channel to it.
async fn serve(builder: ServerBuilder) -> (std::net::SocketAddr, Channel) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = builder.add_service(EchoServer::new(Compressing)).build();
    tokio::spawn(server.serve_with_shutdown(listener, std::future::pending()));
    let channel = Channel::builder(&address.to_string()).unwrap();
    (address, channel.connect_lazy())
}

/// A raw HTTP/2 connection to `address`.
async fn raw_connection(address: std::net::SocketAddr) -> h2::client::SendRequest<Bytes> {
    let socket = tokio::net::TcpStream::connect(address).await.unwrap();
    let (sender, connection) = h2::client::handshake(socket).await.unwrap();
    tokio::spawn(connection);
    sender
}

/// One echo call over a raw connection, with `headers` besides gRPC's.
async fn raw_echo(address: std::net::SocketAddr, headers: &[(&str, &str)], body: &[u8]) -> Answer {
    let mut all = vec![("content-type", "application/grpc")];
    all.extend_from_slice(headers);
    let sender = raw_connection(address).await;
    raw::exchange(sender, "/echo.Echo/EchoMessage", &all, "POST", body).await
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn hello(text: &str) -> Vec<u8> {
    request(text).encode_to_vec()
}

#[tokio::test]
async fn a_channel_that_compresses_sends_compressed_requests_in_every_shape() {
    for compression in [Compression::Gzip, Compression::Deflate] {
        let (address, _) = serve(Server::builder()).await;
        let channel = Channel::builder(&address.to_string())
            .unwrap()
            .send_compressed(compression)
            .connect_lazy();
        let client = EchoClient::new(channel);
        let answer = client.echo_message(request("hi")).await.unwrap();
        assert_eq!(answer.message().message, "hi compressed=true");
        // A call can opt out.
        let plain = client
            .echo_message(request("hi"))
            .with_options(CallOptions::new().compression(None))
            .await
            .unwrap();
        assert_eq!(plain.message().message, "hi compressed=false");
        let mut call = client.echo_bidirectional_streaming().await.unwrap();
        call.send(&request("a")).await.unwrap();
        assert_eq!(
            call.recv().await.unwrap().unwrap().message,
            "a compressed=true"
        );
        call.disable_next_message_compression();
        call.send(&request("b")).await.unwrap();
        assert_eq!(
            call.recv().await.unwrap().unwrap().message,
            "b compressed=false"
        );
    }
}

#[tokio::test]
async fn a_server_compresses_responses_only_for_clients_that_accept_it() {
    let (address, channel) = serve(Server::builder().send_compressed(Compression::Gzip)).await;
    // The rgrpc client accepts gzip, and reads what comes.
    let answer = EchoClient::new(channel)
        .echo_message(request("hi"))
        .await
        .unwrap();
    assert_eq!(answer.message().message, "hi compressed=false");
    let body = raw::frame(0, &hello("hi"));
    let accepting = raw_echo(address, &[("grpc-accept-encoding", "gzip")], &body).await;
    assert_eq!(accepting.code, Some(0), "{accepting:?}");
    assert_eq!(accepting.headers["grpc-encoding"], "gzip");
    let frames = raw::frames(&accepting.body);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].0, 1, "compressed");
    let mut decoder = flate2::read::GzDecoder::new(&frames[0].1[..]);
    let mut message = Vec::new();
    std::io::Read::read_to_end(&mut decoder, &mut message).unwrap();
    let echoed = EchoResponse::decode(&message).unwrap();
    assert_eq!(echoed.message, "hi compressed=false");
    // A client that accepts only what the server does not use.
    let refusing = raw_echo(address, &[("grpc-accept-encoding", "deflate")], &body).await;
    assert_eq!(refusing.code, Some(0));
    assert!(!refusing.headers.contains_key("grpc-encoding"));
    assert_eq!(raw::frames(&refusing.body)[0].0, 0, "not compressed");
}

#[tokio::test]
async fn a_handler_chooses_its_call_s_compression_within_what_the_client_accepts() {
    let (address, _) = serve(Server::builder().send_compressed(Compression::Gzip)).await;
    let plain = raw::frame(0, &hello("plain"));
    let answer = raw_echo(address, &[("grpc-accept-encoding", "gzip")], &plain).await;
    assert_eq!(raw::frames(&answer.body)[0].0, 0, "{answer:?}");
    let (address, _) = serve(Server::builder()).await;
    let gzip_asked = raw::frame(0, &hello("gzip"));
    let answer = raw_echo(address, &[("grpc-accept-encoding", "gzip")], &gzip_asked).await;
    assert_eq!(raw::frames(&answer.body)[0].0, 1, "{answer:?}");
    let answer = raw_echo(address, &[], &gzip_asked).await;
    assert_eq!(answer.code, Some(Code::FailedPrecondition as i32));
}

#[tokio::test]
async fn a_streaming_handler_sends_one_message_uncompressed() {
    let (_, channel) = serve(Server::builder().send_compressed(Compression::Gzip)).await;
    let client = EchoClient::new(channel);
    let mut call = client.echo_bidirectional_streaming().await.unwrap();
    for text in ["a", "skip", "c"] {
        call.send(&request(text)).await.unwrap();
        let answer = call.recv().await.unwrap().unwrap();
        assert_eq!(answer.message, format!("{text} compressed=false"));
    }
}

/// What is sent (headers besides gRPC's, and the body), named, and the
/// code and words of the status it must get.
type Case = (
    &'static str,
    &'static [(&'static str, &'static str)],
    Vec<u8>,
    Code,
    &'static str,
);

#[tokio::test]
async fn bad_compressed_input_gets_clean_statuses() {
    let (address, _) = serve(Server::builder().max_receive_message_size(4096)).await;
    let cases: [Case; 4] = [
        (
            "an encoding the server does not have",
            &[("grpc-encoding", "snappy")],
            raw::frame(1, b"whatever"),
            Code::Unimplemented,
            "snappy",
        ),
        (
            "a compressed flag without an encoding",
            &[],
            raw::frame(1, &gzip(&hello("hi"))),
            Code::Internal,
            "no grpc-encoding",
        ),
        (
            "gzip that does not inflate",
            &[("grpc-encoding", "gzip")],
            raw::frame(1, b"not gzip at all"),
            Code::Internal,
            "could not decompress",
        ),
        (
            "a message that inflates past the limit",
            &[("grpc-encoding", "gzip")],
            raw::frame(1, &gzip(&hello(&"x".repeat(5000)))),
            Code::ResourceExhausted,
            "larger than max",
        ),
    ];
    for (what, headers, body, code, words) in cases {
        let answer = raw_echo(address, headers, &body).await;
        assert_eq!(answer.code, Some(code as i32), "{what}: {answer:?}");
        assert!(answer.message.contains(words), "{what}: {answer:?}");
        if code == Code::Unimplemented {
            let accepted = answer.headers["grpc-accept-encoding"].to_str().unwrap();
            assert!(accepted.contains("gzip"), "{what}: {accepted}");
        }
    }
}

/// A gzip stream of `members` members, each 1 MiB of zeros: about a
/// kilobyte each, it inflates to `members` MiB.
fn bomb(members: usize) -> Vec<u8> {
    let member = gzip(&vec![0; 1024 * 1024]);
    member.repeat(members)
}

#[test]
fn a_decompression_bomb_is_stopped_at_the_limit() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // About 1 MiB that would inflate to 1 GiB, against the 4 MiB default.
    let bomb = bomb(1024);
    assert!(bomb.len() < 2 * 1024 * 1024, "{}", bomb.len());
    let body = raw::frame(1, &bomb);
    let (address, _) = runtime.block_on(serve(Server::builder()));
    let (answer, peak) = counting::peak_of(|| {
        runtime.block_on(raw_echo(address, &[("grpc-encoding", "gzip")], &body))
    });
    assert_eq!(
        answer.code,
        Some(Code::ResourceExhausted as i32),
        "{answer:?}"
    );
    // The compressed message, the limit's worth inflated, and the rest.
    assert!(peak < 16 * 1024 * 1024, "peak {peak} bytes");
}
