//! Interceptors, the classic ones: on the server, authentication (with
//! public methods skipped by path), logging (method, duration, code) and
//! metrics (calls by method and code); on the client, a header added to
//! every call and a timeout for streams that set none.
//!
//! A call cut off by its deadline drops its handler, and the interceptors
//! around it with it: the chat stream below is not logged on the server.
//!
//! `cargo run -p rgrpc-examples --bin interceptors`

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rgrpc::client::{self, ClientCall, StartedStream};
use rgrpc::server::{RequestStream, ResponseSink, ServerStream, StreamNext, UnaryNext};
use rgrpc::{AnyRequest, CallContext, Channel, Code, Request, Response, Server, Status};
use rgrpc_examples::pb::chat::{
    ChatMessage, ChatService, ChatServiceClient, ChatServiceServer, HelloReply, HelloRequest,
    UploadChunk, UploadSummary, chat_service,
};

const TOKEN: &str = "Bearer demo-token";

/// Methods anyone may call, without a token.
const PUBLIC: &[&str] = &[chat_service::SAY_HELLO];

/// The service: it answers, and tells who called.
struct Chat;

impl ChatService for Chat {
    async fn say_hello(
        &self,
        request: Request<HelloRequest>,
    ) -> Result<Response<HelloReply>, Status> {
        let client = request.metadata().get("x-client").unwrap_or("unknown");
        let message = format!("Hello, {}! (from {client})", request.message().name);
        Ok(Response::new(HelloReply {
            message,
            ..Default::default()
        }))
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
        requests: RequestStream<ChatMessage>,
        _responses: ResponseSink<ChatMessage>,
    ) -> Result<(), Status> {
        // A room where nobody answers: only the client's timeout ends it.
        requests.context().cancelled().await;
        Ok(())
    }
}

/// Refuses calls without the token, except to public methods.
fn authorize(path: &str, metadata: &rgrpc::Metadata) -> Result<(), Status> {
    if PUBLIC.contains(&path) {
        return Ok(());
    }
    match metadata.get("authorization") {
        Some(TOKEN) => Ok(()),
        Some(_) => Err(Status::permission_denied("the token is not valid")),
        None => Err(Status::unauthenticated(
            "an authorization header is required",
        )),
    }
}

/// The path of the call a context is for.
fn path(context: &CallContext) -> &'static str {
    context.info().map_or("?", |info| info.path())
}

/// Calls by method and code.
#[derive(Default)]
struct Metrics {
    calls: Mutex<BTreeMap<(&'static str, Code), u64>>,
}

impl Metrics {
    fn count(&self, path: &'static str, result: Result<(), &Status>) {
        let code = result.map_or_else(Status::code, |()| Code::Ok);
        let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        *calls.entry((path, code)).or_default() += 1;
    }
}

/// One line per call: method, code and duration.
fn log(path: &str, started: Instant, result: Result<(), &Status>) {
    let code = result.map_or_else(Status::code, |()| Code::Ok);
    println!("log: {path} {code} in {} µs", started.elapsed().as_micros());
}

fn server(metrics: &Arc<Metrics>) -> Server {
    let unary_metrics = metrics.clone();
    let stream_metrics = metrics.clone();
    Server::builder()
        .add_service(ChatServiceServer::new(Chat))
        // The first interceptor added is the outermost: logging and metrics
        // see the calls that authentication refuses too.
        .unary_interceptor(move |request: AnyRequest, next: UnaryNext| {
            let metrics = unary_metrics.clone();
            async move {
                let (path, started) = (path(request.context()), Instant::now());
                let result = next.run(request).await;
                let outcome = result.as_ref().map(|_| ());
                log(path, started, outcome);
                metrics.count(path, outcome);
                result
            }
        })
        .stream_interceptor(move |stream: ServerStream, next: StreamNext| {
            let metrics = stream_metrics.clone();
            async move {
                let (path, started) = (path(stream.context()), Instant::now());
                let result = next.run(stream).await;
                log(path, started, result.as_ref().copied());
                metrics.count(path, result.as_ref().copied());
                result
            }
        })
        .unary_interceptor(|request: AnyRequest, next: UnaryNext| async move {
            authorize(path(request.context()), request.metadata())?;
            next.run(request).await
        })
        .stream_interceptor(|stream: ServerStream, next: StreamNext| async move {
            authorize(path(stream.context()), stream.metadata())?;
            next.run(stream).await
        })
        .build()
}

/// The header every call of this client carries.
fn tag(call: &mut ClientCall) {
    let options = call.options_mut();
    // A fixed, valid key and value: inserting cannot fail.
    let _ = options
        .metadata_mut()
        .insert("x-client", "interceptors-demo");
}

fn channel(server: &Server, token: Option<&str>) -> Channel {
    let token = token.map(str::to_owned);
    Channel::in_memory(server)
        .unary_interceptor(
            move |mut call: ClientCall, mut request: AnyRequest, next: client::UnaryNext| {
                let token = token.clone();
                async move {
                    tag(&mut call);
                    if let Some(token) = token {
                        request
                            .metadata_mut()
                            .insert("authorization", token)
                            .map_err(|err| Status::internal(err.to_string()))?;
                    }
                    next.run(call, request).await
                }
            },
        )
        .stream_interceptor(
            |mut call: ClientCall, next: client::StreamNext| async move {
                tag(&mut call);
                // Streams without a deadline get one.
                let options = std::mem::take(call.options_mut());
                *call.options_mut() = options.timeout(Duration::from_millis(300));
                let stream: StartedStream = next.run(call).await?;
                Ok(stream)
            },
        )
        .connect_lazy()
}

/// The streaming calls carry the token in their options.
fn with_token() -> client::CallOptions {
    let mut options = client::CallOptions::new();
    // A fixed, valid key and value: inserting cannot fail.
    let _ = options.metadata_mut().insert("authorization", TOKEN);
    options
}

fn show<T: std::fmt::Debug>(what: &str, result: Result<T, Status>) {
    match result {
        Ok(value) => println!("{what}: {value:?}"),
        Err(status) => println!("{what}: {status}"),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let metrics = Arc::new(Metrics::default());
    let server = server(&metrics);
    let anonymous = ChatServiceClient::new(channel(&server, None));
    let member = ChatServiceClient::new(channel(&server, Some(TOKEN)));
    let hello = || HelloRequest {
        name: "Ada".into(),
        ..Default::default()
    };

    // Public: no token needed. The client's interceptor tagged the call.
    let reply = anonymous.say_hello(hello()).await;
    show(
        "say_hello, anonymous",
        reply.map(|r| r.into_message().message),
    );

    // Not public: refused without a token, served with one.
    let upload = async |client: &ChatServiceClient, options| {
        let mut call = client.upload_stream().with_options(options).await?;
        for data in ["a", "bc"] {
            let chunk = UploadChunk {
                data: data.into(),
                ..Default::default()
            };
            // A refused call fails here or at the end; the end says why.
            let _ = call.send(&chunk).await;
        }
        call.close_and_recv().await.map(|r| r.into_message().chunks)
    };
    show(
        "upload, anonymous",
        upload(&anonymous, client::CallOptions::new()).await,
    );
    show("upload, member", upload(&member, with_token()).await);

    // A stream the server never ends: the client's stream interceptor gave
    // it a deadline.
    let chat = async {
        let mut call = member.chat_stream().with_options(with_token()).await?;
        call.recv().await
    };
    show("chat, nobody answers", chat.await);

    println!("metrics:");
    let calls = metrics.calls.lock().unwrap_or_else(|p| p.into_inner());
    for ((path, code), count) in calls.iter() {
        println!("  {path} {code} {count}");
    }
    Ok(())
}
