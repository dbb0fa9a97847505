//! The typed edge of each method, as generated services register them
//! (re-exported in `__codegen::server`): the request decoded, the
//! implementation called behind the server's interceptors, and its response
//! encoded, around the one untyped [`Handler`].
//!
//! `method` is the generated closure calling the implementation. It
//! captures nothing, so it is `Copy` and each call takes its own.

use std::future::Future;
use std::sync::Arc;

use super::driver::Finish;
use super::handler::{Call, Handler};
use super::handles::{RequestStream, ResponseSink};
use super::intercept::{ServerStream, StreamNext, UnaryNext};
use super::router::Routes;
use crate::call::Layers;
use crate::frame::Frame;
use crate::{AnyRequest, CallKind, Message, Request, Response, Status};

/// Registers `handler` for `path`, of shape `kind`, calling it with `service`.
fn add<S, H, Fut>(
    routes: &mut Routes,
    path: &'static str,
    kind: CallKind,
    service: &Arc<S>,
    handler: H,
) where
    S: Send + Sync + 'static,
    H: Fn(Arc<S>, Call) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Finish, Status>> + Send + 'static,
{
    let service = service.clone();
    let handler: Handler = Box::new(move |call| Box::pin(handler(service.clone(), call)));
    routes.add(path, kind, handler);
}

/// Registers a unary method.
pub fn unary<S, F, Fut, Req, Resp>(
    routes: &mut Routes,
    path: &'static str,
    service: &Arc<S>,
    method: F,
) where
    S: Send + Sync + 'static,
    F: Fn(Arc<S>, Request<Req>) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = Result<Response<Resp>, Status>> + Send + 'static,
    Req: Message,
    Resp: Message,
{
    add(
        routes,
        path,
        CallKind::Unary,
        service,
        move |service, call| async move {
            let Call {
                metadata,
                context,
                incoming,
                sink,
                interceptors,
            } = call;
            let request = RequestStream::<Req>::new(incoming, metadata, context, Layers::default())
                .single()
                .await?;
            let response = match interceptors.filter(|chain| !chain.unary.is_empty()) {
                None => method(service, request).await?,
                Some(interceptors) => {
                    let handler = Box::new(move |request: AnyRequest| {
                        Box::pin(async move {
                            let response = method(service, request.downcast()?).await?;
                            Ok(response.into_dyn())
                        }) as _
                    });
                    let next = UnaryNext::new(&interceptors, handler);
                    next.run(request.into_dyn()).await?.downcast()?
                }
            };
            let (message, headers, trailers) = response.into_parts();
            let frame = Frame::measure(&message, sink.max_message_size())?
                .encode_with(sink.reply_compression())?;
            Ok(Finish::reply(frame, headers, trailers))
        },
    );
}

/// Runs a streaming call: `run` gets its typed request stream and response
/// sink, behind the server's stream interceptors if it has any.
async fn streaming<Req, Resp, R, Fut>(call: Call, run: R) -> Result<Finish, Status>
where
    Req: Message,
    Resp: Message,
    R: FnOnce(RequestStream<Req>, ResponseSink<Resp>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), Status>> + Send + 'static,
{
    let Call {
        metadata,
        context,
        incoming,
        sink,
        interceptors,
    } = call;
    match interceptors.filter(|chain| !chain.stream.is_empty()) {
        None => {
            let requests = RequestStream::new(incoming, metadata, context, Layers::default());
            run(requests, ResponseSink::new(sink, Layers::default())).await?;
        }
        Some(interceptors) => {
            let handler = Box::new(move |stream: ServerStream| {
                let (metadata, context, sink, layers) = stream.into_parts();
                let layers = Layers::new(layers);
                let requests = RequestStream::new(incoming, metadata, context, layers.clone());
                Box::pin(run(requests, ResponseSink::new(sink, layers))) as _
            });
            let stream = ServerStream::new(metadata, context, sink);
            StreamNext::new(&interceptors, handler).run(stream).await?;
        }
    }
    Ok(Finish::streamed())
}

/// Registers a server-streaming method.
pub fn server_streaming<S, F, Fut, Req, Resp>(
    routes: &mut Routes,
    path: &'static str,
    service: &Arc<S>,
    method: F,
) where
    S: Send + Sync + 'static,
    F: Fn(Arc<S>, Request<Req>, ResponseSink<Resp>) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = Result<(), Status>> + Send + 'static,
    Req: Message,
    Resp: Message,
{
    let kind = CallKind::ServerStreaming;
    add(routes, path, kind, service, move |service, call| {
        streaming(call, move |requests, responses| async move {
            let request = requests.single().await?;
            method(service, request, responses).await
        })
    });
}

/// Registers a client-streaming method.
pub fn client_streaming<S, F, Fut, Req, Resp>(
    routes: &mut Routes,
    path: &'static str,
    service: &Arc<S>,
    method: F,
) where
    S: Send + Sync + 'static,
    F: Fn(Arc<S>, RequestStream<Req>) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = Result<Response<Resp>, Status>> + Send + 'static,
    Req: Message,
    Resp: Message,
{
    let kind = CallKind::ClientStreaming;
    add(routes, path, kind, service, move |service, call| {
        streaming(call, move |requests, responses| async move {
            let response = method(service, requests).await?;
            responses.reply(response).await
        })
    });
}

/// Registers a bidirectional-streaming method.
pub fn bidi_streaming<S, F, Fut, Req, Resp>(
    routes: &mut Routes,
    path: &'static str,
    service: &Arc<S>,
    method: F,
) where
    S: Send + Sync + 'static,
    F: Fn(Arc<S>, RequestStream<Req>, ResponseSink<Resp>) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = Result<(), Status>> + Send + 'static,
    Req: Message,
    Resp: Message,
{
    let kind = CallKind::BidiStreaming;
    add(routes, path, kind, service, move |service, call| {
        streaming(call, move |requests, responses| {
            method(service, requests, responses)
        })
    });
}
