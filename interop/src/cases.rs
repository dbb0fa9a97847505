//! The client test cases of grpc's interop test descriptions. Each returns
//! `Err` with what went wrong.

use std::time::Duration;

use rgrpc::client::CallOptions;
use rgrpc::{Channel, Code, Compression, Metadata, Request, Status};

use crate::pb::grpc::testing::{
    BoolValue, EchoStatus, Empty, ResponseParameters, SimpleRequest, StreamingInputCallRequest,
    StreamingOutputCallRequest, TestServiceClient, UnimplementedServiceClient,
};
use crate::{ECHO_INITIAL, ECHO_TRAILING, zeros};

/// The test cases this client runs.
pub const ALL: &[&str] = &[
    "empty_unary",
    "large_unary",
    "client_streaming",
    "server_streaming",
    "ping_pong",
    "empty_stream",
    "timeout_on_sleeping_server",
    "cancel_after_begin",
    "cancel_after_first_response",
    "status_code_and_message",
    "special_status_message",
    "custom_metadata",
    "unimplemented_method",
    "unimplemented_service",
    "client_compressed_unary",
    "server_compressed_unary",
    "client_compressed_streaming",
    "server_compressed_streaming",
];

type Outcome = Result<(), String>;

fn check(condition: bool, what: impl FnOnce() -> String) -> Outcome {
    if condition { Ok(()) } else { Err(what()) }
}

fn failed(status: Status) -> String {
    format!("call failed: {status}")
}

fn expect_code<T>(result: Result<T, Status>, code: Code) -> Result<Status, String> {
    match result {
        Ok(_) => Err(format!("the call succeeded; expected {code}")),
        Err(status) if status.code() == code => Ok(status),
        Err(status) => Err(format!("expected {code}, got {status}")),
    }
}

fn body_len(payload: Option<&crate::pb::grpc::testing::Payload>) -> usize {
    payload.map_or(0, |p| p.body.len())
}

fn parameters(sizes: &[i32]) -> Vec<ResponseParameters> {
    sizes
        .iter()
        .map(|&size| ResponseParameters {
            size,
            ..Default::default()
        })
        .collect()
}

/// A full-duplex request asking for one response of `response` bytes and carrying `payload` bytes.
fn duplex_request(response: i32, payload: i32) -> StreamingOutputCallRequest {
    StreamingOutputCallRequest {
        response_parameters: parameters(&[response]),
        payload: Some(zeros(payload)),
        ..Default::default()
    }
}

/// Runs `case` against the server on `channel`.
///
/// # Errors
/// What the case found wrong, or that the case is unknown.
pub async fn run(case: &str, channel: Channel) -> Outcome {
    let client = TestServiceClient::new(channel.clone());
    match case {
        "empty_unary" => empty_unary(&client).await,
        "large_unary" => large_unary(&client).await,
        "client_streaming" => client_streaming(&client).await,
        "server_streaming" => server_streaming(&client).await,
        "ping_pong" => ping_pong(&client).await,
        "empty_stream" => empty_stream(&client).await,
        "timeout_on_sleeping_server" => timeout_on_sleeping_server(&client).await,
        "cancel_after_begin" => cancel_after_begin(&client).await,
        "cancel_after_first_response" => cancel_after_first_response(&client).await,
        "status_code_and_message" => status_code_and_message(&client).await,
        "special_status_message" => special_status_message(&client).await,
        "custom_metadata" => custom_metadata(&client).await,
        "unimplemented_method" => expect_code(
            client.unimplemented_call(Empty::default()).await,
            Code::Unimplemented,
        )
        .map(drop),
        "unimplemented_service" => {
            let client = UnimplementedServiceClient::new(channel);
            expect_code(
                client.unimplemented_call(Empty::default()).await,
                Code::Unimplemented,
            )
            .map(drop)
        }
        "client_compressed_unary" => client_compressed_unary(&client).await,
        "server_compressed_unary" => server_compressed_unary(&client).await,
        "client_compressed_streaming" => client_compressed_streaming(&client).await,
        "server_compressed_streaming" => server_compressed_streaming(&client).await,
        other => Err(format!(
            "unknown test case {other:?}; supported: {}",
            ALL.join(", ")
        )),
    }
}

async fn empty_unary(client: &TestServiceClient) -> Outcome {
    let response = client.empty_call(Empty::default()).await.map_err(failed)?;
    check(*response.message() == Empty::default(), || {
        "the response is not empty".into()
    })
}

fn large_request() -> SimpleRequest {
    SimpleRequest {
        response_size: 314_159,
        payload: Some(zeros(271_828)),
        ..Default::default()
    }
}

async fn large_unary(client: &TestServiceClient) -> Outcome {
    let response = client.unary_call(large_request()).await.map_err(failed)?;
    let payload = response.message().payload.as_ref();
    check(body_len(payload) == 314_159, || {
        format!("response payload is {} bytes", body_len(payload))
    })?;
    check(
        payload.is_some_and(|p| p.body.iter().all(|b| *b == 0)),
        || "response payload is not all zeros".into(),
    )
}

async fn client_streaming(client: &TestServiceClient) -> Outcome {
    let mut call = client.streaming_input_call().await.map_err(failed)?;
    for size in [27_182, 8, 1_828, 45_904] {
        let request = StreamingInputCallRequest {
            payload: Some(zeros(size)),
            ..Default::default()
        };
        call.send(&request).await.map_err(failed)?;
    }
    let response = call.close_and_recv().await.map_err(failed)?;
    let size = response.message().aggregated_payload_size;
    check(size == 74_922, || {
        format!("aggregated_payload_size is {size}")
    })
}

async fn server_streaming(client: &TestServiceClient) -> Outcome {
    let sizes = [31_415, 9, 2_653, 58_979];
    let request = StreamingOutputCallRequest {
        response_parameters: parameters(&sizes),
        ..Default::default()
    };
    expect_payloads(client, request, &sizes).await
}

/// Makes a StreamingOutputCall of `request`, whose responses must carry
/// payloads of `sizes`, in order.
async fn expect_payloads(
    client: &TestServiceClient,
    request: StreamingOutputCallRequest,
    sizes: &[i32],
) -> Outcome {
    let mut stream = client
        .streaming_output_call(request)
        .await
        .map_err(failed)?;
    let mut received = Vec::new();
    while let Some(response) = stream.recv().await.map_err(failed)? {
        received.push(body_len(response.payload.as_ref()));
    }
    let expected: Vec<usize> = sizes.iter().map(|&size| size as usize).collect();
    check(received == expected, || {
        format!("received payload sizes {received:?}")
    })
}

async fn ping_pong(client: &TestServiceClient) -> Outcome {
    let mut call = client.full_duplex_call().await.map_err(failed)?;
    for (response, payload) in [(31_415, 27_182), (9, 8), (2_653, 1_828), (58_979, 45_904)] {
        call.send(&duplex_request(response, payload))
            .await
            .map_err(failed)?;
        let received = call
            .recv()
            .await
            .map_err(failed)?
            .ok_or("the stream ended early")?;
        let size = body_len(received.payload.as_ref());
        check(size == response as usize, || {
            format!("expected {response} bytes, got {size}")
        })?;
    }
    call.close_send().await.map_err(failed)?;
    check(call.recv().await.map_err(failed)?.is_none(), || {
        "more responses than requests".into()
    })
}

async fn empty_stream(client: &TestServiceClient) -> Outcome {
    let mut call = client.full_duplex_call().await.map_err(failed)?;
    call.close_send().await.map_err(failed)?;
    check(call.recv().await.map_err(failed)?.is_none(), || {
        "a response on an empty stream".into()
    })
}

async fn timeout_on_sleeping_server(client: &TestServiceClient) -> Outcome {
    // The call may fail at any point; it must fail with DEADLINE_EXCEEDED.
    let outcome = async {
        let mut call = client
            .full_duplex_call()
            .timeout(Duration::from_millis(1))
            .await?;
        let request = StreamingOutputCallRequest {
            payload: Some(zeros(27_182)),
            ..Default::default()
        };
        // A send that fails means the call has ended (the server may have
        // given up on it first): its status comes from the receiving side.
        let _ = call.send(&request).await;
        call.recv().await
    }
    .await;
    expect_code(outcome, Code::DeadlineExceeded).map(drop)
}

async fn cancel_after_begin(client: &TestServiceClient) -> Outcome {
    let mut call = client.streaming_input_call().await.map_err(failed)?;
    call.cancel();
    expect_code(call.close_and_recv().await, Code::Cancelled).map(drop)
}

async fn cancel_after_first_response(client: &TestServiceClient) -> Outcome {
    let mut call = client.full_duplex_call().await.map_err(failed)?;
    call.send(&duplex_request(31_415, 27_182))
        .await
        .map_err(failed)?;
    call.recv()
        .await
        .map_err(failed)?
        .ok_or("no first response")?;
    call.cancel();
    expect_code(call.recv().await, Code::Cancelled).map(drop)
}

async fn echo_status(client: &TestServiceClient, message: &str) -> Outcome {
    let echo = EchoStatus {
        code: 2,
        message: message.into(),
        ..Default::default()
    };
    let request = SimpleRequest {
        response_status: Some(echo.clone()),
        ..Default::default()
    };
    let status = expect_code(client.unary_call(request).await, Code::Unknown)?;
    check(status.message() == message, || {
        format!("unary status message {:?}", status.message())
    })?;

    let mut call = client.full_duplex_call().await.map_err(failed)?;
    let request = StreamingOutputCallRequest {
        response_status: Some(echo),
        ..Default::default()
    };
    call.send(&request).await.map_err(failed)?;
    call.close_send().await.map_err(failed)?;
    let status = expect_code(call.recv().await, Code::Unknown)?;
    check(status.message() == message, || {
        format!("streaming status message {:?}", status.message())
    })
}

async fn status_code_and_message(client: &TestServiceClient) -> Outcome {
    echo_status(client, "test status message").await
}

async fn special_status_message(client: &TestServiceClient) -> Outcome {
    let message = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n";
    let echo = EchoStatus {
        code: 2,
        message: message.into(),
        ..Default::default()
    };
    let request = SimpleRequest {
        response_status: Some(echo),
        ..Default::default()
    };
    let status = expect_code(client.unary_call(request).await, Code::Unknown)?;
    check(status.message() == message, || {
        format!("status message {:?}", status.message())
    })
}

const INITIAL_VALUE: &str = "test_initial_metadata_value";
const TRAILING_VALUE: [u8; 3] = [0xab, 0xab, 0xab];

fn echo_metadata() -> Result<Metadata, String> {
    let mut metadata = Metadata::new();
    metadata
        .insert(ECHO_INITIAL, INITIAL_VALUE)
        .map_err(|e| e.to_string())?;
    metadata
        .insert_bin(ECHO_TRAILING, TRAILING_VALUE.to_vec())
        .map_err(|e| e.to_string())?;
    Ok(metadata)
}

fn check_echo(headers: &Metadata, trailers: &Metadata) -> Outcome {
    check(headers.get(ECHO_INITIAL) == Some(INITIAL_VALUE), || {
        format!("initial metadata {headers:?}")
    })?;
    let trailing = trailers.get_bin(ECHO_TRAILING);
    check(trailing.is_some_and(|v| v[..] == TRAILING_VALUE), || {
        format!("trailing metadata {trailers:?}")
    })
}

async fn custom_metadata(client: &TestServiceClient) -> Outcome {
    let mut request = Request::new(large_request());
    *request.metadata_mut() = echo_metadata()?;
    let response = client.unary_call(request).await.map_err(failed)?;
    check_echo(response.headers(), response.trailers())?;

    let options = CallOptions::new().metadata(echo_metadata()?);
    let mut call = client
        .full_duplex_call()
        .with_options(options)
        .await
        .map_err(failed)?;
    call.send(&duplex_request(314_159, 271_828))
        .await
        .map_err(failed)?;
    call.close_send().await.map_err(failed)?;
    while call.recv().await.map_err(failed)?.is_some() {}
    let headers = call.headers().await.map_err(failed)?.clone();
    check_echo(&headers, call.trailers())
}

/// A nullable bool of `value`.
fn boolean(value: bool) -> Option<BoolValue> {
    Some(BoolValue {
        value,
        ..Default::default()
    })
}

/// Options that compress the call's requests with gzip, or not.
fn gzip(compressed: bool) -> CallOptions {
    CallOptions::new().compression(compressed.then_some(Compression::Gzip))
}

async fn client_compressed_unary(client: &TestServiceClient) -> Outcome {
    let request = |expect_compressed| SimpleRequest {
        expect_compressed: boolean(expect_compressed),
        ..large_request()
    };
    // The probe: a server that checks must refuse an uncompressed request
    // that says it is compressed.
    let probe = client
        .unary_call(request(true))
        .with_options(gzip(false))
        .await;
    expect_code(probe, Code::InvalidArgument)?;
    for compressed in [true, false] {
        let response = client
            .unary_call(request(compressed))
            .with_options(gzip(compressed))
            .await
            .map_err(failed)?;
        let size = body_len(response.message().payload.as_ref());
        check(size == 314_159, || {
            format!("compressed={compressed}: response payload is {size} bytes")
        })?;
    }
    Ok(())
}

async fn server_compressed_unary(client: &TestServiceClient) -> Outcome {
    for compressed in [true, false] {
        let request = SimpleRequest {
            response_compressed: boolean(compressed),
            ..large_request()
        };
        let response = client.unary_call(request).await.map_err(failed)?;
        let size = body_len(response.message().payload.as_ref());
        check(size == 314_159, || {
            format!("compressed={compressed}: response payload is {size} bytes")
        })?;
    }
    Ok(())
}

/// A client-streaming request of `size` bytes that says whether it is
/// compressed.
fn input_request(size: i32, expect_compressed: bool) -> StreamingInputCallRequest {
    StreamingInputCallRequest {
        payload: Some(zeros(size)),
        expect_compressed: boolean(expect_compressed),
        ..Default::default()
    }
}

async fn client_compressed_streaming(client: &TestServiceClient) -> Outcome {
    // The probe, as in client_compressed_unary.
    let mut probe = client
        .streaming_input_call()
        .with_options(gzip(false))
        .await
        .map_err(failed)?;
    // A failed send means the server has answered: the close says how.
    let _ = probe.send(&input_request(27_182, true)).await;
    expect_code(probe.close_and_recv().await, Code::InvalidArgument)?;
    let mut call = client
        .streaming_input_call()
        .with_options(gzip(true))
        .await
        .map_err(failed)?;
    call.send(&input_request(27_182, true))
        .await
        .map_err(failed)?;
    call.disable_next_message_compression();
    call.send(&input_request(45_904, false))
        .await
        .map_err(failed)?;
    let response = call.close_and_recv().await.map_err(failed)?;
    let size = response.message().aggregated_payload_size;
    check(size == 73_086, || {
        format!("aggregated_payload_size is {size}")
    })
}

async fn server_compressed_streaming(client: &TestServiceClient) -> Outcome {
    let sent = [(31_415, true), (92_653, false)];
    let request = StreamingOutputCallRequest {
        response_parameters: sent
            .into_iter()
            .map(|(size, compressed)| ResponseParameters {
                size,
                compressed: boolean(compressed),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    expect_payloads(client, request, &sent.map(|(size, _)| size)).await
}
