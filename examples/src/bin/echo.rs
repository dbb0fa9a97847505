//! The echo example: messages generated from proto/echo.proto by the build
//! script (no protoc), encoded and decoded.

use rgrpc::Message;
use rgrpc_examples::pb::echo::{EchoRequest, EchoResponse};

fn main() -> Result<(), rgrpc::DecodeError> {
    let generated = concat!(env!("OUT_DIR"), "/echo/echo.rs");
    println!("generated from proto/echo.proto: {generated}");

    let request = EchoRequest {
        message: "hello, rgrpc".into(),
        ..Default::default()
    };
    let bytes = request.encode_to_vec();
    println!("request:  {request:?}");
    println!("encoded:  {} bytes {bytes:02x?}", bytes.len());

    let decoded = EchoRequest::decode(&bytes)?;
    let response = EchoResponse {
        message: decoded.message,
        ..Default::default()
    };
    println!("response: {response:?}");
    Ok(())
}
