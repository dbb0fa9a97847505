//! The chat service: a greeting (unary), a broadcast feed (server
//! streaming), a file upload (client streaming) and a chat room
//! (bidirectional streaming, each message sent to every member).
//!
//! `cargo run -p rgrpc-examples --bin chat`

use std::time::SystemTime;

use rgrpc::server::{RequestStream, ResponseSink};
use rgrpc::wkt::Timestamp;
use rgrpc::{Bytes, Channel, Request, Response, Server, Status};
use rgrpc_examples::pb::chat::{
    ChatMessage, ChatService, ChatServiceClient, ChatServiceServer, HelloReply, HelloRequest,
    UploadChunk, UploadSummary,
};
use tokio::sync::broadcast;

/// Every chat message goes to everyone in the room and in the broadcast feed.
struct Room {
    messages: broadcast::Sender<ChatMessage>,
}

impl ChatService for Room {
    async fn say_hello(
        &self,
        request: Request<HelloRequest>,
    ) -> Result<Response<HelloReply>, Status> {
        let message = format!("Hello, {}!", request.message().name);
        Ok(Response::new(HelloReply {
            message,
            ..Default::default()
        }))
    }

    async fn broadcast_messages(
        &self,
        _request: Request<HelloRequest>,
        mut responses: ResponseSink<ChatMessage>,
    ) -> Result<(), Status> {
        let mut feed = self.messages.subscribe();
        // Headers now tell the client it is subscribed.
        responses.send_header().await?;
        // The feed lasts as long as the room has messages coming; a client
        // that goes away cancels this handler.
        while let Ok(message) = feed.recv().await {
            responses.send(&message).await?;
        }
        Ok(())
    }

    async fn upload_stream(
        &self,
        mut requests: RequestStream<UploadChunk>,
    ) -> Result<Response<UploadSummary>, Status> {
        let mut summary = UploadSummary::default();
        while let Some(chunk) = requests.recv().await? {
            summary.chunks += 1;
            summary.total_bytes += chunk.data.len() as u64;
        }
        Ok(Response::new(summary))
    }

    async fn chat_stream(
        &self,
        mut requests: RequestStream<ChatMessage>,
        mut responses: ResponseSink<ChatMessage>,
    ) -> Result<(), Status> {
        let mut room = self.messages.subscribe();
        responses.send_header().await?;
        loop {
            tokio::select! {
                incoming = requests.recv() => match incoming? {
                    Some(mut message) => {
                        message.sent_at = Some(Timestamp::from(SystemTime::now()));
                        // Nobody listening is not an error for the sender.
                        let _ = self.messages.send(message);
                    }
                    None => return Ok(()),
                },
                Ok(message) = room.recv() => responses.send(&message).await?,
            }
        }
    }
}

fn said(from: &str, text: &str) -> ChatMessage {
    ChatMessage {
        from: from.into(),
        text: text.into(),
        ..Default::default()
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let (messages, _) = broadcast::channel(64);
    let server = Server::builder()
        .add_service(ChatServiceServer::new(Room { messages }))
        .build();
    tokio::spawn(server.serve_with_shutdown(listener, std::future::pending()));
    let client = ChatServiceClient::new(Channel::builder(&address.to_string())?.connect().await?);

    let reply = client
        .say_hello(HelloRequest {
            name: "Ada".into(),
            ..Default::default()
        })
        .await?;
    println!("say_hello:      {:?}", reply.message().message);

    let mut upload = client.upload_stream().await?;
    for chunk in [&b"first chunk"[..], b"second", b"third and last"] {
        upload
            .send(&UploadChunk {
                data: Bytes::copy_from_slice(chunk),
                ..Default::default()
            })
            .await?;
    }
    let summary = upload.close_and_recv().await?;
    println!(
        "upload_stream:  {} chunks, {} bytes",
        summary.message().chunks,
        summary.message().total_bytes
    );

    // Ada listens to the broadcast feed; Bob and Cy chat in the room.
    let mut feed = client
        .broadcast_messages(HelloRequest {
            name: "Ada".into(),
            ..Default::default()
        })
        .await?;
    feed.headers().await?;
    let (mut bob, mut bob_hears) = client.chat_stream().await?.split();
    let (mut cy, mut cy_hears) = client.chat_stream().await?.split();
    // The server sends headers once a member has joined the room.
    bob_hears.headers().await?;
    cy_hears.headers().await?;
    // Cy answers once Bob's message has reached the room.
    for (speaker, line) in [
        (&mut bob, said("Bob", "hi all")),
        (&mut cy, said("Cy", "hello Bob")),
    ] {
        speaker.send(&line).await?;
        let message = cy_hears.recv().await?.ok_or("the room closed")?;
        println!(
            "chat_stream:    Cy hears {}: {:?}",
            message.from, message.text
        );
        let message = feed.recv().await?.ok_or("the feed closed")?;
        println!(
            "broadcast:      Ada sees {}: {:?}",
            message.from, message.text
        );
    }
    bob.close().await?;
    cy.close().await?;
    Ok(())
}
