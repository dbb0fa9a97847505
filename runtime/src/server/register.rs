//! The typed edge of each method, as generated services register them
//! (re-exported in `__codegen::server`): the request decoded, the
//! implementation called, and its response encoded, around the one untyped
//! [`Handler`].
//!
//! `method` is the generated closure calling the implementation. It
//! captures nothing, so it is `Copy` and each call takes its own.

use std::future::Future;
use std::sync::Arc;

use super::driver::{Finish, Shared};
use super::handler::{Call, Handler};
use super::handles::{RequestStream, ResponseSink};
use super::router::Routes;
use crate::frame::Frame;
use crate::{CallKind, Message, Request, Response, Status};

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

/// The request of a unary or server-streaming call, decoded.
async fn single_request<Req: Message>(call: &mut Call) -> Result<Request<Req>, Status> {
    call.first_request().await?;
    let message = call.incoming.decode("request")?;
    call.no_more_requests().await?;
    Ok(Request::from_parts(
        message,
        std::mem::take(&mut call.metadata),
        call.context.clone(),
    ))
}

/// The end of a call answered with `response`, encoded within `max_size`.
fn reply<Resp: Message>(response: Response<Resp>, max_size: usize) -> Result<Finish, Status> {
    let (message, headers, trailers) = response.into_parts();
    let frame = Frame::measure(&message, max_size)?.encode();
    Ok(Finish::reply(frame, headers, trailers))
}

/// The request messages of a client- or bidirectional-streaming call, and
/// the state its response goes through.
fn request_stream<Req: Message>(call: Call) -> (RequestStream<Req>, Shared) {
    let Call {
        metadata,
        context,
        incoming,
        sink,
    } = call;
    (RequestStream::new(incoming, metadata, context), sink)
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
        move |service, mut call| async move {
            let request = single_request(&mut call).await?;
            let response = method(service, request).await?;
            reply(response, call.sink.max_message_size())
        },
    );
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
    add(
        routes,
        path,
        CallKind::ServerStreaming,
        service,
        move |service, mut call| async move {
            let request = single_request(&mut call).await?;
            method(service, request, ResponseSink::new(call.sink)).await?;
            Ok(Finish::streamed())
        },
    );
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
    add(
        routes,
        path,
        CallKind::ClientStreaming,
        service,
        move |service, call| async move {
            let (requests, sink) = request_stream(call);
            let response = method(service, requests).await?;
            reply(response, sink.max_message_size())
        },
    );
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
    add(
        routes,
        path,
        CallKind::BidiStreaming,
        service,
        move |service, call| async move {
            let (requests, sink) = request_stream(call);
            method(service, requests, ResponseSink::new(sink)).await?;
            Ok(Finish::streamed())
        },
    );
}
