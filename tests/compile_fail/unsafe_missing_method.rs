// An implementation of the Unsafe variant must implement every method.
use rgrpc::{Request, Response, Status};
use rgrpc_tests::pb::echo::{EchoRequest, EchoResponse, EchoServer, UnsafeEcho};

struct Partial;

impl UnsafeEcho for Partial {
    async fn echo_message(&self, request: Request<EchoRequest>) -> Result<Response<EchoResponse>, Status> {
        Ok(Response::new(EchoResponse { message: request.into_message().message, ..Default::default() }))
    }
}

fn main() {
    let _ = EchoServer::new(Partial);
}
