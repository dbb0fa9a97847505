//! With the `tracing` feature, one span per call on each side, with the
//! OpenTelemetry RPC fields, and the call's status code recorded.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rgrpc::{Channel, Code, Request, Response, Server, Status};
use rgrpc_tests::pb::echo::{Echo, EchoClient, EchoRequest, EchoResponse, EchoServer};
use rgrpc_tests::request;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};
use tracing_core::span::Current;

/// A span's name and fields.
type Recorded = (String, BTreeMap<String, String>);

/// Every span, in the order spans were made, and the spans entered now
/// (the tests run on one thread).
#[derive(Default, Clone)]
struct Spans {
    next: Arc<AtomicU64>,
    spans: Arc<Mutex<Vec<Recorded>>>,
    metadata: Arc<Mutex<Vec<&'static Metadata<'static>>>>,
    entered: Arc<Mutex<Vec<Id>>>,
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl Subscriber for Spans {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, attributes: &Attributes<'_>) -> Id {
        let mut fields = BTreeMap::new();
        attributes.record(&mut Fields(&mut fields));
        let mut spans = self.spans.lock().unwrap();
        spans.push((attributes.metadata().name().to_owned(), fields));
        self.metadata.lock().unwrap().push(attributes.metadata());
        self.next.fetch_add(1, Ordering::SeqCst);
        Id::from_u64(spans.len() as u64)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut spans = self.spans.lock().unwrap();
        if let Some((_, fields)) = spans.get_mut(span.into_u64() as usize - 1) {
            values.record(&mut Fields(fields));
        }
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, _: &Event<'_>) {}

    fn enter(&self, span: &Id) {
        self.entered.lock().unwrap().push(span.clone());
    }

    fn exit(&self, _: &Id) {
        self.entered.lock().unwrap().pop();
    }

    fn current_span(&self) -> Current {
        match self.entered.lock().unwrap().last() {
            Some(span) => {
                let metadata = self.metadata.lock().unwrap()[span.into_u64() as usize - 1];
                Current::new(span.clone(), metadata)
            }
            None => Current::none(),
        }
    }
}

struct Failing;

impl Echo for Failing {
    async fn echo_message(
        &self,
        request: Request<EchoRequest>,
    ) -> Result<Response<EchoResponse>, Status> {
        match request.message().message.as_str() {
            "fail" => Err(Status::not_found("nothing here")),
            _ => Ok(Response::new(EchoResponse::default())),
        }
    }
}

#[tokio::test]
async fn each_call_is_a_span_on_each_side_with_its_status_code() {
    let spans = Spans::default();
    let _guard = tracing::subscriber::set_default(spans.clone());
    let server = Server::builder()
        .add_service(EchoServer::new(Failing))
        .build();
    let client = EchoClient::new(Channel::in_memory(&server).connect_lazy());
    client.echo_message(request("ok")).await.unwrap();
    let err = client.echo_message(request("fail")).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    let spans = spans.spans.lock().unwrap().clone();
    let calls: Vec<_> = spans
        .iter()
        .filter(|(name, _)| name.starts_with("grpc."))
        .map(|(name, fields)| {
            (
                name.as_str(),
                fields.get("rpc.system").map(String::as_str),
                fields.get("rpc.service").map(String::as_str),
                fields.get("rpc.method").map(String::as_str),
                fields.get("rpc.grpc.status_code").map(String::as_str),
            )
        })
        .collect();
    let call = |side, code| {
        (
            side,
            Some("grpc"),
            Some("echo.Echo"),
            Some("EchoMessage"),
            Some(code),
        )
    };
    // Each call's client span starts before its server span.
    assert_eq!(
        calls,
        [
            call("grpc.client", "0"),
            call("grpc.server", "0"),
            call("grpc.client", "5"),
            call("grpc.server", "5"),
        ]
    );
    let server = spans.iter().find(|(name, _)| name == "grpc.server");
    let peerless = server.is_some_and(|(_, fields)| !fields.contains_key("network.peer.address"));
    assert!(
        peerless,
        "an in-process call has no peer address: {server:?}"
    );
}
