//! Through a real L7 proxy: nginx (Debian's, installed by
//! scripts/setup.sh) with `grpc_pass` to an rgrpc server over cleartext
//! HTTP/2. rgrpc's client calls it in all four shapes, and the metadata,
//! trailers and statuses come through intact.

use std::net::SocketAddr;

use rgrpc::server::{RequestStream, ResponseSink};
use rgrpc::{Channel, Code, Metadata, Request, Response, Status};
use rgrpc_tests::daemon::Daemon;
use rgrpc_tests::pb::echo::{Echo, EchoClient, EchoRequest, EchoResponse, EchoServer};
use rgrpc_tests::{request, response};

/// Echoes in every shape; a request's `x-token` comes back in the response
/// headers and, with `-bin` metadata, in the trailers; a message `fail`
/// fails the call.
struct Echoes;

/// The response headers and trailers of a call whose request metadata is
/// `metadata`.
fn answered(metadata: &Metadata) -> (Metadata, Metadata) {
    let token = metadata.get("x-token").unwrap_or("none");
    let mut headers = Metadata::new();
    headers.insert("x-token-seen", token).unwrap();
    let mut trailers = Metadata::new();
    trailers
        .insert("x-trailer", format!("for {token}"))
        .unwrap();
    trailers
        .insert_bin("x-raw-bin", bytes::Bytes::from_static(&[0, 1, 255]))
        .unwrap();
    (headers, trailers)
}

fn failed() -> Status {
    let mut status = Status::new(Code::FailedPrecondition, "asked to fail: ünïcode");
    status.metadata_mut().insert("x-why", "asked").unwrap();
    status
}

impl Echo for Echoes {
    async fn echo_message(
        &self,
        request: Request<EchoRequest>,
    ) -> Result<Response<EchoResponse>, Status> {
        if request.message().message == "fail" {
            return Err(failed());
        }
        let (headers, trailers) = answered(request.metadata());
        let mut reply = Response::new(response(request.into_message().message));
        *reply.headers_mut() = headers;
        *reply.trailers_mut() = trailers;
        Ok(reply)
    }

    async fn echo_server_streaming(
        &self,
        request: Request<EchoRequest>,
        mut responses: ResponseSink<EchoResponse>,
    ) -> Result<(), Status> {
        let (headers, trailers) = answered(request.metadata());
        responses.set_header(headers);
        responses.set_trailer(trailers);
        for i in 0..3 {
            let text = format!("{} {i}", request.message().message);
            responses.send(&response(text)).await?;
        }
        Ok(())
    }

    async fn echo_client_streaming(
        &self,
        mut requests: RequestStream<EchoRequest>,
    ) -> Result<Response<EchoResponse>, Status> {
        let (headers, trailers) = answered(requests.metadata());
        let mut joined = Vec::new();
        while let Some(message) = requests.recv().await? {
            joined.push(message.message);
        }
        let mut reply = Response::new(response(joined.join("+")));
        *reply.headers_mut() = headers;
        *reply.trailers_mut() = trailers;
        Ok(reply)
    }

    async fn echo_bidirectional_streaming(
        &self,
        mut requests: RequestStream<EchoRequest>,
        mut responses: ResponseSink<EchoResponse>,
    ) -> Result<(), Status> {
        let (headers, trailers) = answered(requests.metadata());
        responses.set_header(headers);
        responses.set_trailer(trailers);
        while let Some(message) = requests.recv().await? {
            if message.message == "fail" {
                return Err(failed());
            }
            responses.send(&response(message.message)).await?;
        }
        Ok(())
    }
}

/// nginx proxying gRPC on a loopback port to `upstream`, with a
/// configuration of its own.
async fn nginx(upstream: SocketAddr) -> Daemon {
    let (address, dir) = Daemon::prepare("nginx");
    let d = dir.display();
    let config = format!(
        "daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
        listen {address} http2;
        location / {{
            grpc_pass grpc://{upstream};
        }}
    }}
}}
"
    );
    std::fs::write(dir.join("nginx.conf"), config).unwrap();
    let args = [
        "-e".to_owned(),
        format!("{d}/error.log"),
        "-p".to_owned(),
        d.to_string(),
        "-c".to_owned(),
        format!("{d}/nginx.conf"),
    ];
    Daemon::start(
        &["/usr/sbin/nginx", "/usr/bin/nginx"],
        &args,
        dir,
        address,
        "error.log",
    )
    .await
}

fn with_token(token: &str) -> Metadata {
    let mut metadata = Metadata::new();
    metadata.insert("x-token", token).unwrap();
    metadata
}

fn check_metadata(headers: &Metadata, trailers: &Metadata, token: &str) {
    assert_eq!(headers.get("x-token-seen"), Some(token));
    assert_eq!(
        trailers.get("x-trailer").map(str::to_owned),
        Some(format!("for {token}"))
    );
    assert_eq!(
        trailers.get_bin("x-raw-bin").map(|b| b.to_vec()),
        Some(vec![0, 1, 255])
    );
}

#[tokio::test]
async fn all_four_shapes_go_through_nginx_with_metadata_and_trailers() {
    let (upstream, _stop) = {
        let bound = rgrpc::Server::builder()
            .add_service(EchoServer::new(Echoes))
            .build()
            .bind("127.0.0.1:0")
            .await
            .unwrap();
        let address = bound.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(bound.serve_with_shutdown(async {
            let _ = stopped.await;
        }));
        (address, stop)
    };
    let nginx = nginx(upstream).await;
    let channel = Channel::builder(&nginx.address().to_string())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let client = EchoClient::new(channel);

    // Unary.
    let reply = client
        .echo_message(rgrpc::Request::new(request("one")).with_metadata(with_token("u")))
        .await
        .unwrap();
    check_metadata(reply.headers(), reply.trailers(), "u");
    assert_eq!(reply.message().message, "one");

    // A failure: its code, its message (percent-encoded on the wire) and
    // its metadata.
    let err = client.echo_message(request("fail")).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(err.message(), "asked to fail: ünïcode");
    assert_eq!(err.metadata().get("x-why"), Some("asked"));

    // Server streaming.
    let mut responses = client
        .echo_server_streaming(rgrpc::Request::new(request("s")).with_metadata(with_token("ss")))
        .await
        .unwrap();
    let headers = responses.headers().await.unwrap().clone();
    let mut got = Vec::new();
    while let Some(message) = responses.recv().await.unwrap() {
        got.push(message.message);
    }
    assert_eq!(got, ["s 0", "s 1", "s 2"]);
    check_metadata(&headers, responses.trailers(), "ss");

    // Client streaming.
    let mut call = client
        .echo_client_streaming()
        .with_options(rgrpc::client::CallOptions::new().metadata(with_token("cs")))
        .await
        .unwrap();
    for word in ["a", "b", "c"] {
        call.send(&request(word)).await.unwrap();
    }
    let reply = call.close_and_recv().await.unwrap();
    assert_eq!(reply.message().message, "a+b+c");
    check_metadata(reply.headers(), reply.trailers(), "cs");

    // Bidirectional streaming, each message answered before the next goes,
    // then a failure in the middle of the stream.
    let mut call = client
        .echo_bidirectional_streaming()
        .with_options(rgrpc::client::CallOptions::new().metadata(with_token("bd")))
        .await
        .unwrap();
    for word in ["x", "y"] {
        call.send(&request(word)).await.unwrap();
        assert_eq!(call.recv().await.unwrap().unwrap().message, word);
    }
    call.close_send().await.unwrap();
    assert_eq!(call.recv().await.unwrap(), None);
    let headers = call.headers().await.unwrap().clone();
    check_metadata(&headers, call.trailers(), "bd");

    let mut call = client.echo_bidirectional_streaming().await.unwrap();
    call.send(&request("fail")).await.unwrap();
    let err = call.recv().await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(err.metadata().get("x-why"), Some("asked"));
}
