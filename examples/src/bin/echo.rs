//! The echo demo: a server and a client for proto/echo.proto, both generated
//! by the build script (no protoc), talking over loopback in all four call
//! shapes, with headers and trailers.
//!
//! `cargo run -p rgrpc-examples --bin echo`

use std::time::Duration;

use rgrpc::server::{RequestStream, ResponseSink};
use rgrpc::{Channel, Metadata, Request, Response, Server, Status};
use rgrpc_examples::pb::echo::{Echo, EchoClient, EchoRequest, EchoResponse, EchoServer};

/// The server side: echoes what it receives.
struct EchoService;

fn metadata(key: &str, value: &str) -> Result<Metadata, Status> {
    let mut metadata = Metadata::new();
    metadata
        .insert(key, value)
        .map_err(|err| Status::internal(err.to_string()))?;
    Ok(metadata)
}

fn reply(message: impl Into<String>) -> EchoResponse {
    EchoResponse {
        message: message.into(),
        ..Default::default()
    }
}

impl Echo for EchoService {
    async fn echo_message(
        &self,
        request: Request<EchoRequest>,
    ) -> Result<Response<EchoResponse>, Status> {
        let mut response = Response::new(reply(&request.message().message));
        response
            .headers_mut()
            .extend(metadata("location", "loopback")?);
        response
            .trailers_mut()
            .extend(metadata("handled-by", "echo_message")?);
        Ok(response)
    }

    async fn echo_server_streaming(
        &self,
        request: Request<EchoRequest>,
        mut responses: ResponseSink<EchoResponse>,
    ) -> Result<(), Status> {
        responses.set_header(metadata("location", "loopback")?);
        for i in 1..=3 {
            responses
                .send(&reply(format!("{} #{i}", request.message().message)))
                .await?;
        }
        responses.set_trailer(metadata("sent", "3")?);
        Ok(())
    }

    async fn echo_client_streaming(
        &self,
        mut requests: RequestStream<EchoRequest>,
    ) -> Result<Response<EchoResponse>, Status> {
        let mut received = Vec::new();
        while let Some(request) = requests.recv().await? {
            received.push(request.message);
        }
        Ok(Response::new(reply(received.join(" "))))
    }

    async fn echo_bidirectional_streaming(
        &self,
        mut requests: RequestStream<EchoRequest>,
        mut responses: ResponseSink<EchoResponse>,
    ) -> Result<(), Status> {
        while let Some(request) = requests.recv().await? {
            responses.send(&reply(request.message)).await?;
        }
        Ok(())
    }
}

fn request(message: &str) -> EchoRequest {
    EchoRequest {
        message: message.into(),
        ..Default::default()
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = Server::builder()
        .add_service(EchoServer::new(EchoService))
        .build();
    let serving = tokio::spawn(server.serve_with_shutdown(listener, async {
        let _ = stopped.await;
    }));
    println!("echo server listening on {address}");

    let client = EchoClient::new(Channel::builder(&address.to_string())?.connect().await?);

    println!("\n--- unary ---");
    let mut call = Request::new(request("hello, rgrpc"));
    call.metadata_mut().insert("client", "echo-demo")?;
    let response = client
        .echo_message(call)
        .timeout(Duration::from_secs(5))
        .await?;
    println!("response: {:?}", response.message().message);
    println!("headers:  {:?}", response.headers());
    println!("trailers: {:?}", response.trailers());

    println!("\n--- server streaming ---");
    let mut stream = client.echo_server_streaming(request("tick")).await?;
    println!("headers:  {:?}", stream.headers().await?);
    while let Some(message) = stream.recv().await? {
        println!("received: {:?}", message.message);
    }
    println!("trailers: {:?}", stream.trailers());

    println!("\n--- client streaming ---");
    let mut call = client.echo_client_streaming().await?;
    for word in ["one", "two", "three"] {
        println!("sending:  {word:?}");
        call.send(&request(word)).await?;
    }
    println!(
        "response: {:?}",
        call.close_and_recv().await?.message().message
    );

    println!("\n--- bidirectional streaming ---");
    let (mut requests, mut responses) = client.echo_bidirectional_streaming().await?.split();
    let sender = tokio::spawn(async move {
        for word in ["ping", "pong", "done"] {
            requests.send(&request(word)).await?;
        }
        requests.close().await
    });
    while let Some(message) = responses.recv().await? {
        println!("received: {:?}", message.message);
    }
    sender.await??;

    let _ = stop.send(());
    serving.await??;
    println!("\nserver stopped");
    Ok(())
}
