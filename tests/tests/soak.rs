//! Reduced soak and stream-count runs: seconds of sustained calls, and
//! thousands of streams opened and dropped, with the process's resident
//! memory measured after a warm-up. What they assert is that memory stays
//! flat, not how fast anything goes.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rgrpc::server::ResponseSink;
use rgrpc::{Channel, Request, Response, Server, Status};
use rgrpc_tests::pb::echo::{Echo, EchoClient, EchoRequest, EchoResponse, EchoServer};
use rgrpc_tests::{request, response};

/// The process's resident memory, in bytes (Linux).
fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|pages| pages.parse().ok())
        .expect("resident pages");
    pages * 4096
}

const MIB: usize = 1024 * 1024;

/// One run at a time: resident memory is the whole process's.
static ALONE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Echo; a server-streaming request `N` gets N messages, and `hold` one
/// message, then nothing until the call is cancelled.
struct Service {
    /// Calls whose handler is running.
    running: Arc<AtomicUsize>,
}

impl Echo for Service {
    async fn echo_message(
        &self,
        request: Request<EchoRequest>,
    ) -> Result<Response<EchoResponse>, Status> {
        Ok(Response::new(response(request.into_message().message)))
    }

    async fn echo_server_streaming(
        &self,
        request: Request<EchoRequest>,
        mut responses: ResponseSink<EchoResponse>,
    ) -> Result<(), Status> {
        // Counted until the handler returns or is dropped.
        let _running = Running::new(&self.running);
        let text = request.message().message.clone();
        if text == "hold" {
            responses.send(&response("held")).await?;
            request.context().cancelled().await;
            return Err(Status::cancelled("cancelled"));
        }
        let count: usize = text.parse().unwrap_or(0);
        let message = response("x".repeat(64));
        for _ in 0..count {
            responses.send(&message).await?;
        }
        Ok(())
    }
}

/// One running handler, counted while it lives.
struct Running<'a>(&'a AtomicUsize);

impl<'a> Running<'a> {
    fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Self(count)
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A server on a new port, its client, and its count of running handlers.
async fn serve(streams: u32) -> (EchoClient, Arc<AtomicUsize>) {
    let running = Arc::new(AtomicUsize::new(0));
    let server = Server::builder()
        .max_concurrent_streams(streams)
        .add_service(EchoServer::new(Service {
            running: running.clone(),
        }))
        .build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(server.serve_with_shutdown(listener, std::future::pending()));
    let channel = Channel::builder(&address.to_string())
        .unwrap()
        .connect()
        .await
        .unwrap();
    (EchoClient::new(channel), running)
}

/// Sixteen callers for `duration`, each making unary calls and, every
/// tenth call, a server-streaming call of 20 messages; the calls made.
async fn load(client: &EchoClient, duration: Duration) -> usize {
    let until = Instant::now() + duration;
    let callers: Vec<_> = (0..16)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                let mut calls = 0;
                while Instant::now() < until {
                    if calls % 10 == 9 {
                        let mut stream = client.echo_server_streaming(request("20")).await.unwrap();
                        while stream.recv().await.unwrap().is_some() {}
                    } else {
                        client.echo_message(request("soak")).await.unwrap();
                    }
                    calls += 1;
                }
                calls
            })
        })
        .collect();
    let mut calls = 0;
    for caller in callers {
        calls += caller.await.unwrap();
    }
    calls
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_stays_flat_under_sustained_calls() {
    let _alone = ALONE.lock().await;
    let (client, _) = serve(100).await;
    load(&client, Duration::from_secs(1)).await;
    let warm = rss();
    let calls = load(&client, Duration::from_secs(4)).await;
    let grown = rss().saturating_sub(warm);
    eprintln!(
        "{calls} calls: resident memory grew by {} KiB",
        grown / 1024
    );
    assert!(calls > 1000, "only {calls} calls");
    assert!(
        grown < 16 * MIB,
        "resident memory grew by {} KiB over {calls} calls",
        grown / 1024
    );
}

/// Opens `count` streams that the server holds open, then drops them all
/// and waits for their handlers to be gone.
async fn open_and_drop(client: &EchoClient, running: &AtomicUsize, count: usize) {
    let mut streams = Vec::with_capacity(count);
    for _ in 0..count {
        streams.push(client.echo_server_streaming(request("hold")).await.unwrap());
    }
    for stream in &mut streams {
        assert!(stream.recv().await.unwrap().is_some());
    }
    assert_eq!(running.load(Ordering::SeqCst), count);
    drop(streams);
    let until = Instant::now() + Duration::from_secs(10);
    while running.load(Ordering::SeqCst) > 0 {
        assert!(Instant::now() < until, "handlers still running");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_streams_come_and_go_without_leaking() {
    let _alone = ALONE.lock().await;
    const STREAMS: usize = 3000;
    const ROUNDS: usize = 6;
    let (client, running) = serve(STREAMS as u32).await;
    // The allocator settles over the first rounds; the rounds after must
    // not add up. A leak of 700 bytes a stream would pass the bound.
    for _ in 0..2 {
        open_and_drop(&client, &running, STREAMS).await;
    }
    let warm = rss();
    for _ in 0..ROUNDS {
        open_and_drop(&client, &running, STREAMS).await;
    }
    let grown = rss().saturating_sub(warm);
    eprintln!(
        "{ROUNDS} x {STREAMS} streams: resident memory grew by {} KiB",
        grown / 1024
    );
    assert!(
        grown < 12 * MIB,
        "resident memory grew by {} KiB over {ROUNDS} rounds of {STREAMS} streams",
        grown / 1024
    );
}
