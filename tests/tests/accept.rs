//! A server that runs out of file descriptors goes on serving once some are
//! free again. A test binary of its own: it lowers the process's limit.

use std::time::Duration;

use rgrpc::{Channel, Request, Response, Server, Status};
use rgrpc_tests::pb::echo::{Echo, EchoClient, EchoRequest, EchoResponse, EchoServer};
use rlimit::Resource;

struct Plain;

impl Echo for Plain {
    async fn echo_message(
        &self,
        request: Request<EchoRequest>,
    ) -> Result<Response<EchoResponse>, Status> {
        Ok(Response::new(EchoResponse {
            message: request.into_message().message,
            ..Default::default()
        }))
    }
}

fn open_descriptors() -> u64 {
    std::fs::read_dir("/proc/self/fd").unwrap().count() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_out_of_descriptors_does_not_stop_the_server() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = Server::builder()
        .add_service(EchoServer::new(Plain))
        .build();
    let serving = tokio::spawn(server.serve_with_shutdown(listener, std::future::pending()));

    let (soft, hard) = Resource::NOFILE.get().unwrap();
    Resource::NOFILE.set(open_descriptors() + 8, hard).unwrap();
    // Files until no descriptor is left, then one given back for a client
    // socket: the server's accept of that connection finds none.
    let mut files = Vec::new();
    while let Ok(file) = std::fs::File::open("/dev/null") {
        files.push(file);
        assert!(files.len() < 100, "the limit did not take");
    }
    files.pop();
    let socket = std::net::TcpStream::connect(address).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop((files, socket));
    Resource::NOFILE.set(soft, hard).unwrap();

    assert!(!serving.is_finished(), "the server stopped serving");
    let channel = Channel::builder(&format!("http://{address}"))
        .unwrap()
        .connect_lazy();
    let reply = tokio::time::timeout(
        Duration::from_secs(10),
        EchoClient::new(channel).echo_message(EchoRequest {
            message: "still here".into(),
            ..Default::default()
        }),
    )
    .await
    .expect("answered")
    .unwrap();
    assert_eq!(reply.message().message, "still here");
}
