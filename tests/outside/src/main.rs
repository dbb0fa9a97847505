//! A crate of its own, outside rgrpc's workspace, built with the README's
//! dependency lines: the chat service in its four call shapes, a handler
//! that hands its sink to a task, and a handler that panics. Warnings are
//! errors, so generated code that warns fails the build.

#![deny(warnings)]

use rgrpc::server::{RequestStream, ResponseSink};
use rgrpc::{Channel, Code, Request, Response, Server, Status};

mod pb {
    include!(concat!(env!("OUT_DIR"), "/mod.rs"));
}

use pb::chat::{
    ChatMessage, ChatService, ChatServiceClient, ChatServiceServer, HelloReply, HelloRequest,
    UploadChunk, UploadSummary,
};

struct Chat;

impl ChatService for Chat {
    async fn say_hello(
        &self,
        request: Request<HelloRequest>,
    ) -> Result<Response<HelloReply>, Status> {
        let name = request.into_message().name;
        if name == "panic" {
            panic!("a handler that fails");
        }
        Ok(Response::new(HelloReply {
            message: format!("Hello, {name}!"),
            ..Default::default()
        }))
    }

    /// Three messages, sent by a task the sink is moved to; the handler
    /// returns at once.
    async fn broadcast_messages(
        &self,
        request: Request<HelloRequest>,
        mut messages: ResponseSink<ChatMessage>,
    ) -> Result<(), Status> {
        let from = request.into_message().name;
        tokio::spawn(async move {
            for i in 0..3 {
                let message = ChatMessage {
                    from: from.clone(),
                    text: format!("broadcast {i}"),
                    ..Default::default()
                };
                if messages.send(&message).await.is_err() {
                    break;
                }
            }
        });
        Ok(())
    }

    async fn upload_stream(
        &self,
        mut chunks: RequestStream<UploadChunk>,
    ) -> Result<Response<UploadSummary>, Status> {
        let mut summary = UploadSummary::default();
        while let Some(chunk) = chunks.recv().await? {
            summary.chunks += 1;
            summary.total_bytes += chunk.data.len() as u64;
        }
        Ok(Response::new(summary))
    }

    async fn chat_stream(
        &self,
        mut incoming: RequestStream<ChatMessage>,
        mut outgoing: ResponseSink<ChatMessage>,
    ) -> Result<(), Status> {
        while let Some(message) = incoming.recv().await? {
            let echoed = ChatMessage {
                from: "server".into(),
                text: message.text.to_uppercase(),
                ..Default::default()
            };
            outgoing.send(&echoed).await?;
        }
        Ok(())
    }
}

/// Fails with `what` unless `condition` holds.
fn check(condition: bool, what: &str) -> Result<(), Box<dyn std::error::Error>> {
    if condition {
        Ok(())
    } else {
        Err(what.into())
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let server = Server::builder()
        .add_service(ChatServiceServer::new(Chat))
        .build();
    tokio::spawn(server.serve_with_shutdown(listener, std::future::pending()));
    let client = ChatServiceClient::new(Channel::builder(&address.to_string())?.connect_lazy());

    let hello = HelloRequest {
        name: "Ada".into(),
        ..Default::default()
    };
    let reply = client.say_hello(hello.clone()).await?;
    check(reply.message().message == "Hello, Ada!", "unary")?;
    println!("unary: {}", reply.message().message);

    let mut broadcast = client.broadcast_messages(hello).await?;
    let mut texts = Vec::new();
    while let Some(message) = broadcast.recv().await? {
        texts.push(message.text);
    }
    check(texts.len() == 3, "a sink moved to a task sends everything")?;
    println!("server streaming from a task: {texts:?}");

    let mut upload = client.upload_stream().await?;
    for size in [3, 4, 5] {
        let chunk = UploadChunk {
            data: vec![7; size].into(),
            ..Default::default()
        };
        upload.send(&chunk).await?;
    }
    let summary = upload.close_and_recv().await?;
    check(summary.message().total_bytes == 12, "client streaming")?;
    println!(
        "client streaming: {} chunks, {} bytes",
        summary.message().chunks,
        summary.message().total_bytes
    );

    let mut chat = client.chat_stream().await?;
    chat.send(&ChatMessage {
        text: "hi".into(),
        ..Default::default()
    })
    .await?;
    let answer = chat.recv().await?.ok_or("no answer")?;
    check(answer.text == "HI", "bidirectional streaming")?;
    chat.close_send().await?;
    check(chat.recv().await?.is_none(), "the chat ends")?;
    println!("bidirectional: {}", answer.text);

    let panicked = HelloRequest {
        name: "panic".into(),
        ..Default::default()
    };
    let err = client
        .say_hello(panicked)
        .await
        .err()
        .ok_or("a panicking handler fails the call")?;
    check(err.code() == Code::Internal, "a panic is INTERNAL")?;
    println!("panicking handler: {err}");
    Ok(())
}
