//! A peer that speaks raw HTTP/2, for tests of what rgrpc does with
//! requests no gRPC client would send, and of what exactly it answers.

use std::time::Duration;

use bytes::Bytes;
use h2::client::SendRequest;
use http::{HeaderMap, Request, StatusCode};

/// A server's whole answer to one request.
#[derive(Debug)]
pub struct Answer {
    /// The HTTP status.
    pub http: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// `grpc-status`, from the trailers or a trailers-only response.
    pub code: Option<i32>,
    /// `grpc-message`, likewise.
    pub message: String,
    /// The response body: message frames.
    pub body: Vec<u8>,
}

fn grpc_status(headers: &HeaderMap) -> (Option<i32>, String) {
    let code = headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok()?.parse().ok());
    let message = headers
        .get("grpc-message")
        .map(|v| v.to_str().unwrap_or_default().to_owned())
        .unwrap_or_default();
    (code, message)
}

/// Sends a request to `path` with `method`, `headers` and `body` (then
/// END_STREAM) on `sender`'s connection, and reads the whole answer,
/// which must come within 5 seconds.
pub async fn exchange(
    sender: SendRequest<Bytes>,
    path: &str,
    headers: &[(&str, &str)],
    method: &str,
    body: &[u8],
) -> Answer {
    let mut sender = sender.ready().await.unwrap();
    let mut request = Request::builder()
        .method(method)
        .uri(format!("http://localhost{path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let (response, mut stream) = sender
        .send_request(request.body(()).unwrap(), false)
        .unwrap();
    stream
        .send_data(Bytes::copy_from_slice(body), true)
        .unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(5), async {
        let response = response.await.unwrap();
        let http = response.status();
        let headers = response.headers().clone();
        let (mut code, mut message) = grpc_status(&headers);
        let mut body_stream = response.into_body();
        let mut body = Vec::new();
        while let Some(chunk) = body_stream.data().await {
            let chunk = chunk.unwrap();
            let _ = body_stream.flow_control().release_capacity(chunk.len());
            body.extend_from_slice(&chunk);
        }
        if let Some(trailers) = body_stream.trailers().await.unwrap() {
            (code, message) = grpc_status(&trailers);
        }
        Answer {
            http,
            headers,
            code,
            message,
            body,
        }
    })
    .await;
    answer.expect("the server answers instead of hanging")
}

/// A message frame: the compressed flag, the length, the message.
pub fn frame(flag: u8, message: &[u8]) -> Vec<u8> {
    let mut frame = vec![flag];
    frame.extend_from_slice(&(message.len() as u32).to_be_bytes());
    frame.extend_from_slice(message);
    frame
}

/// The flags and messages of a body of frames.
pub fn frames(mut body: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while body.len() >= 5 {
        let len = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
        out.push((body[0], body[5..5 + len].to_vec()));
        body = &body[5 + len..];
    }
    out
}
