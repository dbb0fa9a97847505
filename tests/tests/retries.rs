//! The service config and retries (gRFC A2 and A6), against a server
//! written on h2 directly, so that each attempt's answer is the test's to
//! choose: attempt counts, `grpc-previous-rpc-attempts`, no retry once the
//! response headers came, pushback, throttling, and the method config's
//! timeout, wait-for-ready and limits.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response};
use rgrpc::{Channel, Code, Message};
use rgrpc_tests::pb::echo::EchoClient;

/// How the server answers one attempt.
#[derive(Clone, Copy)]
enum Answer {
    /// A trailers-only response with this code, and this
    /// `grpc-retry-pushback-ms` if any.
    Fail(Code, Option<&'static str>),
    /// Response headers, then trailers with this code.
    FailAfterHeaders(Code),
    /// The echo of the request.
    Echo,
    /// One response joining the messages of the request with `+`.
    Join,
    /// A trailers-only response with this code at once, before reading
    /// the request.
    Refuse(Code),
}

/// What the server saw: each request's `grpc-previous-rpc-attempts`, and
/// when it came.
type Seen = Arc<Mutex<Vec<(Option<String>, Instant)>>>;

/// A server answering the n-th request it receives (from 0) with
/// `script(n)`.
async fn scripted(script: fn(usize) -> Answer) -> (SocketAddr, Seen) {
    serve_scripted(script, 0).await
}

/// [`scripted`], sending GOAWAY on each of its first `going_away`
/// connections as soon as it is open, before any stream.
async fn serve_scripted(script: fn(usize) -> Answer, going_away: usize) -> (SocketAddr, Seen) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let seen = Seen::default();
    let record = seen.clone();
    tokio::spawn(async move {
        for accepted in 0.. {
            let (socket, _) = listener.accept().await.unwrap();
            let record = record.clone();
            tokio::spawn(async move {
                let mut connection = h2::server::handshake(socket).await.unwrap();
                if accepted < going_away {
                    connection.abrupt_shutdown(h2::Reason::NO_ERROR);
                }
                while let Some(Ok((request, mut respond))) = connection.accept().await {
                    let previous = request
                        .headers()
                        .get("grpc-previous-rpc-attempts")
                        .map(|v| v.to_str().unwrap().to_owned());
                    let n = {
                        let mut seen = record.lock().unwrap();
                        seen.push((previous, Instant::now()));
                        seen.len() - 1
                    };
                    let script = script(n);
                    if let Answer::Refuse(code) = script {
                        answer(Answer::Fail(code, None), &[], &mut respond);
                        continue;
                    }
                    // On a task of its own: the connection is driven by
                    // `accept`, which must go on meanwhile.
                    tokio::spawn(async move {
                        let mut body = request.into_body();
                        let mut received = Vec::new();
                        while let Some(Ok(data)) = body.data().await {
                            let _ = body.flow_control().release_capacity(data.len());
                            received.extend_from_slice(&data);
                        }
                        answer(script, &received, &mut respond);
                    });
                }
            });
        }
    });
    (address, seen)
}

fn answer(answer: Answer, request: &[u8], respond: &mut h2::server::SendResponse<Bytes>) {
    let headers = || {
        Response::builder()
            .header("content-type", "application/grpc")
            .body(())
            .unwrap()
    };
    let status = |code: Code| {
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", HeaderValue::from(code.as_i32()));
        trailers.insert("grpc-message", HeaderValue::from_static("scripted"));
        trailers
    };
    match answer {
        Answer::Fail(code, pushback) => {
            let mut response = headers();
            response.headers_mut().extend(status(code));
            if let Some(ms) = pushback {
                response
                    .headers_mut()
                    .insert("grpc-retry-pushback-ms", HeaderValue::from_static(ms));
            }
            respond.send_response(response, true).unwrap();
        }
        Answer::FailAfterHeaders(code) => {
            let mut stream = respond.send_response(headers(), false).unwrap();
            stream.send_trailers(status(code)).unwrap();
        }
        Answer::Echo | Answer::Join | Answer::Refuse(_) => {
            let texts: Vec<String> = rgrpc_tests::raw::frames(request)
                .into_iter()
                .map(|(_, message)| {
                    rgrpc_tests::pb::echo::EchoRequest::decode(&message[..])
                        .unwrap()
                        .message
                })
                .collect();
            let reply = rgrpc_tests::response(texts.join("+")).encode_to_vec();
            let mut stream = respond.send_response(headers(), false).unwrap();
            let frame = rgrpc_tests::raw::frame(0, &reply);
            stream.send_data(frame.into(), false).unwrap();
            stream.send_trailers(status(Code::Ok)).unwrap();
        }
    }
}

/// A retry policy on every method: `attempts` in all, 10 ms backoff.
fn retrying(attempts: u32, codes: &str) -> String {
    format!(
        r#"{{"methodConfig": [{{"name": [{{}}], "retryPolicy": {{
            "maxAttempts": {attempts}, "initialBackoff": "0.01s", "maxBackoff": "0.01s",
            "backoffMultiplier": 1, "retryableStatusCodes": [{codes}]}}}}]}}"#
    )
}

async fn channel(address: SocketAddr, config: &str) -> EchoClient {
    let channel = Channel::builder(&address.to_string())
        .unwrap()
        .service_config(config)
        .unwrap()
        .connect_lazy();
    EchoClient::new(channel)
}

async fn echo(client: &EchoClient) -> Result<String, rgrpc::Status> {
    Ok(client
        .echo_message(rgrpc_tests::request("hi"))
        .await?
        .into_message()
        .message)
}

fn previous(seen: &Seen) -> Vec<Option<String>> {
    seen.lock()
        .unwrap()
        .iter()
        .map(|(p, _)| p.clone())
        .collect()
}

#[tokio::test]
async fn failed_attempts_are_retried_with_the_attempt_header() {
    let (address, seen) = scripted(|n| match n {
        0 | 1 => Answer::Fail(Code::Unavailable, None),
        _ => Answer::Echo,
    })
    .await;
    let client = channel(address, &retrying(3, r#""UNAVAILABLE""#)).await;
    assert_eq!(echo(&client).await.as_deref(), Ok("hi"));
    assert_eq!(
        previous(&seen),
        [None, Some("1".to_owned()), Some("2".to_owned())]
    );
}

#[tokio::test]
async fn retries_stop_at_max_attempts_and_at_codes_not_listed() {
    let (address, seen) = scripted(|_| Answer::Fail(Code::Unavailable, None)).await;
    let client = channel(address, &retrying(4, r#""UNAVAILABLE""#)).await;
    let err = echo(&client).await.unwrap_err();
    assert_eq!((err.code(), err.message()), (Code::Unavailable, "scripted"));
    assert_eq!(seen.lock().unwrap().len(), 4);

    let (address, seen) = scripted(|_| Answer::Fail(Code::Internal, None)).await;
    let client = channel(address, &retrying(4, r#""UNAVAILABLE""#)).await;
    assert_eq!(echo(&client).await.unwrap_err().code(), Code::Internal);
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn no_retry_once_the_response_headers_came() {
    let (address, seen) = scripted(|_| Answer::FailAfterHeaders(Code::Unavailable)).await;
    let client = channel(address, &retrying(5, r#""UNAVAILABLE""#)).await;
    assert_eq!(echo(&client).await.unwrap_err().code(), Code::Unavailable);
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn server_streaming_calls_are_retried_until_committed() {
    let (address, seen) = scripted(|n| match n {
        0 => Answer::Fail(Code::Unavailable, None),
        _ => Answer::Echo,
    })
    .await;
    let client = channel(address, &retrying(2, r#""UNAVAILABLE""#)).await;
    let mut responses = client
        .echo_server_streaming(rgrpc_tests::request("hi"))
        .await
        .unwrap();
    let first = responses.recv().await.unwrap().unwrap();
    assert_eq!(first.message, "hi");
    assert_eq!(previous(&seen), [None, Some("1".to_owned())]);
}

#[tokio::test]
async fn pushback_sets_the_wait_and_a_negative_one_stops_retries() {
    let (address, seen) = scripted(|n| match n {
        0 => Answer::Fail(Code::Unavailable, Some("300")),
        1 => Answer::Echo,
        2 => Answer::Fail(Code::Unavailable, Some("-1")),
        _ => Answer::Echo,
    })
    .await;
    let client = channel(address, &retrying(3, r#""UNAVAILABLE""#)).await;
    assert_eq!(echo(&client).await.as_deref(), Ok("hi"));
    let waited = {
        let seen = seen.lock().unwrap();
        seen[1].1 - seen[0].1
    };
    // The policy's backoff is 10 ms; the server asked for 300.
    assert!(waited >= Duration::from_millis(300), "{waited:?}");

    assert_eq!(echo(&client).await.unwrap_err().code(), Code::Unavailable);
    assert_eq!(seen.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn throttling_stops_retries_when_too_many_calls_fail() {
    let (address, seen) = scripted(|_| Answer::Fail(Code::Unavailable, None)).await;
    // 4 tokens: retries only while more than 2 are left; each failed
    // attempt takes one.
    let config = retrying(3, r#""UNAVAILABLE""#).replace(
        r#"{"methodConfig""#,
        r#"{"retryThrottling": {"maxTokens": 4, "tokenRatio": 0.5}, "methodConfig""#,
    );
    let client = channel(address, &config).await;
    // 4 -> 3: retried; 3 -> 2: not.
    assert!(echo(&client).await.is_err());
    assert_eq!(seen.lock().unwrap().len(), 2);
    // Every call now makes one attempt.
    for _ in 0..3 {
        assert!(echo(&client).await.is_err());
    }
    assert_eq!(seen.lock().unwrap().len(), 5);
}

#[tokio::test]
async fn streaming_calls_that_commit_refill_the_throttle() {
    let (address, seen) = scripted(|n| match n {
        2 | 3 => Answer::Join,
        _ => Answer::Fail(Code::Unavailable, None),
    })
    .await;
    // 4 tokens, one back per call that commits.
    let config = retrying(3, r#""UNAVAILABLE""#).replace(
        r#"{"methodConfig""#,
        r#"{"retryThrottling": {"maxTokens": 4, "tokenRatio": 1}, "methodConfig""#,
    );
    let client = channel(address, &config).await;
    // 4 -> 3: retried; 3 -> 2: not, and retries stop.
    assert!(echo(&client).await.is_err());
    assert_eq!(seen.lock().unwrap().len(), 2);
    // A client-streaming call and a bidi call commit: 2 -> 4.
    let mut call = client.echo_client_streaming().await.unwrap();
    call.send(&rgrpc_tests::request("a")).await.unwrap();
    assert_eq!(call.close_and_recv().await.unwrap().message().message, "a");
    let mut call = client.echo_bidirectional_streaming().await.unwrap();
    call.send(&rgrpc_tests::request("b")).await.unwrap();
    call.close_send().await.unwrap();
    assert_eq!(call.recv().await.unwrap().unwrap().message, "b");
    assert_eq!(call.recv().await.unwrap(), None);
    // So a failing call is retried again: 4 -> 3, then 3 -> 2.
    assert!(echo(&client).await.is_err());
    assert_eq!(seen.lock().unwrap().len(), 6);
}

#[tokio::test]
async fn the_method_config_sets_timeouts_and_limits() {
    let (address, _) = scripted(|_| Answer::Echo).await;
    let client = channel(
        address,
        r#"{"methodConfig": [
            {"name": [{"service": "echo.Echo", "method": "EchoMessage"}], "maxRequestMessageBytes": 8},
            {"name": [{"service": "echo.Echo"}], "maxResponseMessageBytes": 4}
        ]}"#,
    )
    .await;
    // The request's message is over 8 bytes: not sent.
    let err = client
        .echo_message(rgrpc_tests::request("more than eight"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    // The service's limit applies to the other methods.
    let mut responses = client
        .echo_server_streaming(rgrpc_tests::request("a long reply"))
        .await
        .unwrap();
    let err = responses.recv().await.unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");

    // A timeout from the config bounds a call with no deadline of its own,
    // and wait-for-ready makes it wait for a server that is not there.
    let nobody = rgrpc_tests::closed_port().await;
    let client = channel(
        nobody,
        r#"{"methodConfig": [{"name": [{}], "timeout": "0.3s", "waitForReady": true}]}"#,
    )
    .await;
    let started = Instant::now();
    let err = echo(&client).await.unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");
    assert!(started.elapsed() >= Duration::from_millis(300));
    // The call's own choice wins over the config's.
    let err = client
        .echo_message(rgrpc_tests::request("hi"))
        .wait_for_ready(false)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
}

#[tokio::test]
async fn client_streaming_calls_are_retried_with_their_requests_replayed() {
    let (address, seen) = scripted(|n| match n {
        0 => Answer::Fail(Code::Unavailable, None),
        _ => Answer::Join,
    })
    .await;
    let client = channel(address, &retrying(3, r#""UNAVAILABLE""#)).await;
    let mut call = client.echo_client_streaming().await.unwrap();
    for word in ["a", "b", "c"] {
        call.send(&rgrpc_tests::request(word)).await.unwrap();
    }
    let reply = call.close_and_recv().await.unwrap();
    assert_eq!(reply.message().message, "a+b+c");
    assert_eq!(previous(&seen), [None, Some("1".to_owned())]);
}

#[tokio::test]
async fn a_bidi_call_refused_while_sending_goes_on_on_a_new_attempt() {
    let (address, seen) = scripted(|n| match n {
        0 | 1 => Answer::Refuse(Code::Unavailable),
        _ => Answer::Join,
    })
    .await;
    let client = channel(address, &retrying(3, r#""UNAVAILABLE""#)).await;
    let mut call = client.echo_bidirectional_streaming().await.unwrap();
    call.send(&rgrpc_tests::request("x")).await.unwrap();
    // The first attempt has failed by now; the sends go on regardless.
    tokio::time::sleep(Duration::from_millis(50)).await;
    call.send(&rgrpc_tests::request("y")).await.unwrap();
    call.close_send().await.unwrap();
    assert_eq!(call.recv().await.unwrap().unwrap().message, "x+y");
    assert_eq!(call.recv().await.unwrap(), None);
    assert_eq!(
        previous(&seen),
        [None, Some("1".to_owned()), Some("2".to_owned())]
    );
}

#[tokio::test]
async fn streaming_calls_are_not_retried_once_committed_or_past_the_buffer() {
    let (address, seen) = scripted(|_| Answer::FailAfterHeaders(Code::Unavailable)).await;
    let client = channel(address, &retrying(5, r#""UNAVAILABLE""#)).await;
    let mut call = client.echo_client_streaming().await.unwrap();
    call.send(&rgrpc_tests::request("a")).await.unwrap();
    let err = call.close_and_recv().await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(seen.lock().unwrap().len(), 1);

    // Requests larger than the retry buffer commit the call.
    let (address, seen) = scripted(|n| match n {
        0 => Answer::Fail(Code::Unavailable, None),
        _ => Answer::Join,
    })
    .await;
    let channel = Channel::builder(&address.to_string())
        .unwrap()
        .service_config(&retrying(5, r#""UNAVAILABLE""#))
        .unwrap()
        .retry_buffer_size(16)
        .connect_lazy();
    let client = EchoClient::new(channel);
    let mut call = client.echo_client_streaming().await.unwrap();
    call.send(&rgrpc_tests::request("more than sixteen bytes"))
        .await
        .unwrap();
    let err = call.close_and_recv().await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_connection_going_away_before_the_call_does_not_fail_it() {
    let (address, seen) = serve_scripted(|_| Answer::Echo, 1).await;
    let channel = Channel::builder(&address.to_string())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let client = EchoClient::new(channel);
    assert_eq!(echo(&client).await.as_deref(), Ok("hi"));
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[test]
fn an_invalid_service_config_is_refused_when_the_channel_is_built() {
    let err = Channel::builder("localhost:50051")
        .unwrap()
        .service_config(r#"{"methodConfig": [{"name": [{}], "timeout": 5}]}"#)
        .err()
        .unwrap();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        err.message(),
        "invalid service config: methodConfig[0].timeout: 5 is not a duration such as \"1.5s\""
    );
}
