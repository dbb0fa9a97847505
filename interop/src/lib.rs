//! `grpc.testing.TestService` for the gRPC interop tests (grpc's
//! doc/interop-test-descriptions.md): the server implementation and the
//! client test cases, shared by the `interop-server` and `interop-client`
//! binaries.

use std::time::Duration;

use rgrpc::server::{RequestStream, ResponseSink};
use rgrpc::{Bytes, CallContext, Code, Compression, Metadata, Request, Response, Status};

/// The generated `grpc.testing` package.
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/mod.rs"));
}

pub mod cases;
pub mod flags;

use pb::grpc::testing::{
    BoolValue, EchoStatus, Empty, Payload, ResponseParameters, SimpleRequest, SimpleResponse,
    StreamingInputCallRequest, StreamingInputCallResponse, StreamingOutputCallRequest,
    StreamingOutputCallResponse, TestService,
};

/// Request metadata the server echoes as initial metadata.
pub const ECHO_INITIAL: &str = "x-grpc-test-echo-initial";
/// Request metadata the server echoes as trailing metadata.
pub const ECHO_TRAILING: &str = "x-grpc-test-echo-trailing-bin";

/// A payload of `size` zero bytes.
pub fn zeros(size: i32) -> Payload {
    Payload {
        body: Bytes::from(vec![0u8; usize::try_from(size).unwrap_or(0)]),
        ..Default::default()
    }
}

/// The interop server: every method the test cases use.
pub struct InteropService;

/// The metadata to echo back: (initial, trailing).
fn echoed(metadata: &Metadata) -> Result<(Metadata, Metadata), Status> {
    let invalid = |err: rgrpc::InvalidMetadata| Status::internal(err.to_string());
    let mut initial = Metadata::new();
    if let Some(value) = metadata.get(ECHO_INITIAL) {
        initial.insert(ECHO_INITIAL, value).map_err(invalid)?;
    }
    let mut trailing = Metadata::new();
    if let Some(value) = metadata.get_bin(ECHO_TRAILING) {
        trailing
            .insert_bin(ECHO_TRAILING, value.clone())
            .map_err(invalid)?;
    }
    Ok((initial, trailing))
}

/// The status a request asks the server to answer with, if any.
fn requested_status(status: Option<&EchoStatus>, trailing: &Metadata) -> Result<(), Status> {
    match status {
        Some(echo) if echo.code != 0 => {
            let mut status = Status::new(Code::from_i32(echo.code), echo.message.clone());
            status.metadata_mut().extend(trailing.clone());
            Err(status)
        }
        _ => Ok(()),
    }
}

/// Whether a nullable bool is there and true.
fn is_true(value: Option<&BoolValue>) -> bool {
    value.is_some_and(|value| value.value)
}

/// Compressed Request: a request that says it was compressed must have
/// been (INVALID_ARGUMENT otherwise).
fn check_compressed(expected: Option<&BoolValue>, context: &CallContext) -> Result<(), Status> {
    if is_true(expected) && !context.request_compressed() {
        return Err(Status::invalid_argument(
            "the request was expected to be compressed, and was not",
        ));
    }
    Ok(())
}

/// Compressed Response: gzip when `compressed` (and the client accepts
/// it), none otherwise.
fn compress_response(compressed: bool, context: &CallContext) {
    context.set_compression(compressed.then_some(Compression::Gzip));
}

/// Sends one response per parameter, waiting `interval_us` before each,
/// each compressed or not as its parameter asks.
async fn respond(
    parameters: &[ResponseParameters],
    responses: &mut ResponseSink<StreamingOutputCallResponse>,
    context: &CallContext,
) -> Result<(), Status> {
    let compressed = |parameter: &ResponseParameters| is_true(parameter.compressed.as_ref());
    compress_response(parameters.iter().any(compressed), context);
    for parameter in parameters {
        if !compressed(parameter) {
            responses.disable_next_message_compression();
        }
        if parameter.interval_us > 0 {
            tokio::time::sleep(Duration::from_micros(
                u64::try_from(parameter.interval_us).unwrap_or(0),
            ))
            .await;
        }
        let response = StreamingOutputCallResponse {
            payload: Some(zeros(parameter.size)),
            ..Default::default()
        };
        responses.send(&response).await?;
    }
    Ok(())
}

impl TestService for InteropService {
    async fn empty_call(&self, _: Request<Empty>) -> Result<Response<Empty>, Status> {
        Ok(Response::new(Empty::default()))
    }

    async fn unary_call(
        &self,
        request: Request<SimpleRequest>,
    ) -> Result<Response<SimpleResponse>, Status> {
        let (initial, trailing) = echoed(request.metadata())?;
        let message = request.message();
        requested_status(message.response_status.as_ref(), &trailing)?;
        check_compressed(message.expect_compressed.as_ref(), request.context())?;
        compress_response(
            is_true(message.response_compressed.as_ref()),
            request.context(),
        );
        let mut response = Response::new(SimpleResponse {
            payload: Some(zeros(message.response_size)),
            ..Default::default()
        });
        response.headers_mut().extend(initial);
        response.trailers_mut().extend(trailing);
        Ok(response)
    }

    async fn streaming_output_call(
        &self,
        request: Request<StreamingOutputCallRequest>,
        mut responses: ResponseSink<StreamingOutputCallResponse>,
    ) -> Result<(), Status> {
        let (initial, trailing) = echoed(request.metadata())?;
        responses.set_header(initial);
        responses.set_trailer(trailing.clone());
        let message = request.message();
        respond(
            &message.response_parameters,
            &mut responses,
            request.context(),
        )
        .await?;
        requested_status(message.response_status.as_ref(), &trailing)
    }

    async fn streaming_input_call(
        &self,
        mut requests: RequestStream<StreamingInputCallRequest>,
    ) -> Result<Response<StreamingInputCallResponse>, Status> {
        let mut size = 0;
        while let Some(request) = requests.recv().await? {
            check_compressed(request.expect_compressed.as_ref(), requests.context())?;
            size += request.payload.map_or(0, |p| p.body.len());
        }
        let aggregated_payload_size =
            i32::try_from(size).map_err(|_| Status::out_of_range("payloads too large"))?;
        Ok(Response::new(StreamingInputCallResponse {
            aggregated_payload_size,
            ..Default::default()
        }))
    }

    async fn full_duplex_call(
        &self,
        mut requests: RequestStream<StreamingOutputCallRequest>,
        mut responses: ResponseSink<StreamingOutputCallResponse>,
    ) -> Result<(), Status> {
        let (initial, trailing) = echoed(requests.metadata())?;
        responses.set_header(initial);
        responses.set_trailer(trailing.clone());
        while let Some(request) = requests.recv().await? {
            requested_status(request.response_status.as_ref(), &trailing)?;
            let context = requests.context();
            respond(&request.response_parameters, &mut responses, context).await?;
        }
        Ok(())
    }

    async fn half_duplex_call(
        &self,
        mut requests: RequestStream<StreamingOutputCallRequest>,
        mut responses: ResponseSink<StreamingOutputCallResponse>,
    ) -> Result<(), Status> {
        let mut buffered = Vec::new();
        while let Some(request) = requests.recv().await? {
            buffered.push(request);
        }
        let context = requests.context();
        for request in buffered {
            respond(&request.response_parameters, &mut responses, context).await?;
        }
        Ok(())
    }
}
