//! Transport benchmark: rgrpc, tonic and a framework-free ceiling (raw h2
//! with canned responses) serving the same echo.proto over loopback, in one
//! run, in one process.
//!
//! `cargo bench -p rgrpc-bench --bench transport [unary|streaming|interceptors|gzip|balancing]`.
//! Samples of the implementations alternate; each figure is the median of
//! `RGRPC_BENCH_SAMPLES` samples (default 3) of `RGRPC_BENCH_SECONDS` seconds (default 1).
//!
//! - unary echo, 32 B and 4 KiB payloads, 1, 16 and 64 calls in flight:
//!   requests/s, p50 and p99 latency;
//! - server streaming of 64 B and 16 KiB messages: messages/s and MB/s;
//! - `interceptors`: rgrpc unary calls behind three no-op interceptors on
//!   each side against none, 32 B at 1 and 16 calls in flight;
//! - `balancing`: rgrpc unary calls of one channel spread round robin over
//!   three servers against the same channel's calls to one, 32 B at 1 and
//!   16 calls in flight: what the balancer costs a call;
//! - `gzip`: rgrpc and tonic each with gzip both ways (the client compresses
//!   its requests, the server its responses), without a ceiling: unary echo
//!   of 4 KiB at 1, 16 and 64 calls in flight, and server streaming of
//!   16 KiB messages. The payloads are one letter repeated, which gzip
//!   shrinks to a few dozen bytes.
//!
//! With `--features mimalloc` all three allocate with mimalloc rather than the
//! system allocator: glibc's arenas make a buffer freed on another thread
//! cost a lock, which a framework that decodes and encodes pays and a canned
//! server does not.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rgrpc::server::ResponseSink;
use rgrpc_bench::median;
use rgrpc_bench::rgrpc_types::echo as r;
use rgrpc_bench::tonic_echo as t;
use tonic::codec::CompressionEncoding;

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Messages per server-streaming call.
const STREAM_LENGTH: usize = 1000;

/// Calls in flight in the unary cases.
const IN_FLIGHT: [usize; 3] = [1, 16, 64];

/// How long each target runs before a case's samples: connections and buffers.
const WARM_UP: Duration = Duration::from_millis(100);

/// The text of every message: `size` bytes of one letter.
fn payload(size: usize) -> String {
    "x".repeat(size)
}

/// Asks the streaming methods for `count` messages of `size` bytes.
fn stream_request(count: usize, size: usize) -> String {
    format!("{count} {size}")
}

fn parse_stream_request(message: &str) -> (usize, usize) {
    let (count, size) = message.split_once(' ').unwrap_or(("0", "0"));
    (count.parse().unwrap_or(0), size.parse().unwrap_or(0))
}

// ---------------------------------------------------------------- servers

struct RgrpcEcho;

impl r::Echo for RgrpcEcho {
    async fn echo_message(
        &self,
        request: rgrpc::Request<r::EchoRequest>,
    ) -> Result<rgrpc::Response<r::EchoResponse>, rgrpc::Status> {
        let message = request.into_message().message;
        Ok(rgrpc::Response::new(r::EchoResponse {
            message,
            ..Default::default()
        }))
    }

    async fn echo_server_streaming(
        &self,
        request: rgrpc::Request<r::EchoRequest>,
        mut responses: ResponseSink<r::EchoResponse>,
    ) -> Result<(), rgrpc::Status> {
        let (count, size) = parse_stream_request(&request.message().message);
        let response = r::EchoResponse {
            message: payload(size),
            ..Default::default()
        };
        for _ in 0..count {
            responses.send(&response).await?;
        }
        Ok(())
    }
}

struct TonicEcho;

#[tonic::async_trait]
impl t::echo_server::Echo for TonicEcho {
    async fn echo_message(
        &self,
        request: tonic::Request<t::EchoRequest>,
    ) -> Result<tonic::Response<t::EchoResponse>, tonic::Status> {
        let message = request.into_inner().message;
        Ok(tonic::Response::new(t::EchoResponse { message }))
    }

    type EchoServerStreamingStream =
        Pin<Box<dyn tokio_stream::Stream<Item = Result<t::EchoResponse, tonic::Status>> + Send>>;

    async fn echo_server_streaming(
        &self,
        request: tonic::Request<t::EchoRequest>,
    ) -> Result<tonic::Response<Self::EchoServerStreamingStream>, tonic::Status> {
        let (count, size) = parse_stream_request(&request.into_inner().message);
        let response = t::EchoResponse {
            message: payload(size),
        };
        let stream = tokio_stream::iter(std::iter::repeat_n(Ok(response), count));
        Ok(tonic::Response::new(Box::pin(stream)))
    }

    async fn echo_client_streaming(
        &self,
        _: tonic::Request<tonic::Streaming<t::EchoRequest>>,
    ) -> Result<tonic::Response<t::EchoResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented("not benchmarked"))
    }

    type EchoBidirectionalStreamingStream =
        Pin<Box<dyn tokio_stream::Stream<Item = Result<t::EchoResponse, tonic::Status>> + Send>>;

    async fn echo_bidirectional_streaming(
        &self,
        _: tonic::Request<tonic::Streaming<t::EchoRequest>>,
    ) -> Result<tonic::Response<Self::EchoBidirectionalStreamingStream>, tonic::Status> {
        Err(tonic::Status::unimplemented("not benchmarked"))
    }
}

/// Serves `service` with tonic on `listener`.
async fn serve_tonic(
    listener: tokio::net::TcpListener,
    service: t::echo_server::EchoServer<TonicEcho>,
) -> Result<(), tonic::transport::Error> {
    tonic::transport::Server::builder()
        .tcp_nodelay(true)
        .add_service(service)
        // The builder's tcp_nodelay applies to sockets it accepts itself;
        // these are accepted here, so set it on each.
        .serve_with_incoming(tokio_stream::StreamExt::map(
            tokio_stream::wrappers::TcpListenerStream::new(listener),
            |socket| {
                if let Ok(socket) = &socket {
                    socket.set_nodelay(true).ok();
                }
                socket
            },
        ))
        .await
}

fn frame(message: &impl rgrpc::Message) -> Bytes {
    let body = message.encode_to_vec();
    let mut framed = Vec::with_capacity(5 + body.len());
    framed.push(0);
    framed.extend_from_slice(&(body.len() as u32).to_be_bytes());
    framed.extend_from_slice(&body);
    framed.into()
}

/// The ceiling: an h2 server that answers every request with prepared bytes,
/// reading the request but decoding nothing.
async fn raw_server(
    listener: tokio::net::TcpListener,
    unary: Bytes,
    streams: Vec<(usize, Bytes, usize)>,
) {
    let streams = Arc::new(streams);
    while let Ok((socket, _)) = listener.accept().await {
        socket.set_nodelay(true).ok();
        let (unary, streams) = (unary.clone(), streams.clone());
        tokio::spawn(async move {
            let Ok(mut connection) = h2::server::Builder::new()
                .initial_window_size(1 << 20)
                .initial_connection_window_size(4 << 20)
                .handshake::<_, Bytes>(socket)
                .await
            else {
                return;
            };
            while let Some(Ok((request, mut respond))) = connection.accept().await {
                let (unary, streams) = (unary.clone(), streams.clone());
                tokio::spawn(async move {
                    let mut body = request.into_body();
                    let mut size = 0;
                    while let Some(Ok(chunk)) = body.data().await {
                        size += chunk.len();
                        let _ = body.flow_control().release_capacity(chunk.len());
                    }
                    let response = http::Response::builder()
                        .header("content-type", "application/grpc")
                        .body(())
                        .unwrap();
                    let Ok(mut stream) = respond.send_response(response, false) else {
                        return;
                    };
                    // Streaming requests are told apart by their size: they ask for a count.
                    // Each message is its own write, as a framework's would be.
                    let (message, count) = streams
                        .iter()
                        .find(|(request, _, _)| *request == size)
                        .map_or((unary, 1), |(_, message, count)| (message.clone(), *count));
                    for _ in 0..count {
                        let mut data = message.clone();
                        while !data.is_empty() {
                            stream.reserve_capacity(data.len());
                            let Some(Ok(capacity)) =
                                std::future::poll_fn(|cx| stream.poll_capacity(cx)).await
                            else {
                                return;
                            };
                            let chunk = data.split_to(capacity.min(data.len()));
                            if stream.send_data(chunk, false).is_err() {
                                return;
                            }
                        }
                    }
                    let mut trailers = http::HeaderMap::new();
                    trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
                    let _ = stream.send_trailers(trailers);
                });
            }
        });
    }
}

// ---------------------------------------------------------------- clients

/// One implementation under test, as the load generator drives it.
trait Target: Send + Sync + 'static {
    fn unary(&self, message: Arc<String>) -> BoxFuture<()>;
    /// Runs one streaming call; returns the messages received.
    fn stream(&self, count: usize, size: usize) -> BoxFuture<usize>;
}

struct RgrpcTarget(r::EchoClient);

impl Target for RgrpcTarget {
    fn unary(&self, message: Arc<String>) -> BoxFuture<()> {
        let client = self.0.clone();
        Box::pin(async move {
            let request = r::EchoRequest {
                message: (*message).clone(),
                ..Default::default()
            };
            let response = client.echo_message(request).await.expect("rgrpc call");
            assert_eq!(response.message().message.len(), message.len());
        })
    }

    fn stream(&self, count: usize, size: usize) -> BoxFuture<usize> {
        let client = self.0.clone();
        Box::pin(async move {
            let request = r::EchoRequest {
                message: stream_request(count, size),
                ..Default::default()
            };
            let mut stream = client
                .echo_server_streaming(request)
                .await
                .expect("rgrpc call");
            let mut received = 0;
            while stream.recv().await.expect("rgrpc stream").is_some() {
                received += 1;
            }
            received
        })
    }
}

struct TonicTarget(t::echo_client::EchoClient<tonic::transport::Channel>);

impl Target for TonicTarget {
    fn unary(&self, message: Arc<String>) -> BoxFuture<()> {
        let mut client = self.0.clone();
        Box::pin(async move {
            let request = t::EchoRequest {
                message: (*message).clone(),
            };
            let response = client.echo_message(request).await.expect("tonic call");
            assert_eq!(response.get_ref().message.len(), message.len());
        })
    }

    fn stream(&self, count: usize, size: usize) -> BoxFuture<usize> {
        let mut client = self.0.clone();
        Box::pin(async move {
            let request = t::EchoRequest {
                message: stream_request(count, size),
            };
            let mut stream = client
                .echo_server_streaming(request)
                .await
                .expect("tonic call")
                .into_inner();
            let mut received = 0;
            while stream.message().await.expect("tonic stream").is_some() {
                received += 1;
            }
            received
        })
    }
}

/// A tonic client of one connection to `address`.
async fn tonic_client(
    address: SocketAddr,
) -> t::echo_client::EchoClient<tonic::transport::Channel> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{address}"))
        .unwrap()
        .tcp_nodelay(true)
        .connect()
        .await
        .expect("tonic connect");
    t::echo_client::EchoClient::new(channel)
}

/// The ceiling's client: raw h2, sending prepared request bytes.
struct RawTarget {
    sender: h2::client::SendRequest<Bytes>,
    address: SocketAddr,
}

impl RawTarget {
    fn call(&self, body: Bytes) -> BoxFuture<usize> {
        let sender = self.sender.clone();
        let uri = format!("http://{}/echo.Echo/EchoMessage", self.address);
        Box::pin(async move {
            let mut sender = sender.ready().await.expect("raw connection");
            let request = http::Request::builder()
                .method("POST")
                .uri(uri)
                .header("content-type", "application/grpc")
                .header("te", "trailers")
                .body(())
                .unwrap();
            let (response, mut stream) = sender.send_request(request, false).expect("raw request");
            stream.reserve_capacity(body.len());
            stream.send_data(body, true).expect("raw send");
            let mut body = response.await.expect("raw response").into_body();
            let mut received = 0;
            while let Some(chunk) = body.data().await {
                let chunk = chunk.expect("raw data");
                received += chunk.len();
                let _ = body.flow_control().release_capacity(chunk.len());
            }
            let _ = body.trailers().await;
            received
        })
    }
}

impl Target for RawTarget {
    fn unary(&self, message: Arc<String>) -> BoxFuture<()> {
        let request = frame(&r::EchoRequest {
            message: (*message).clone(),
            ..Default::default()
        });
        let call = self.call(request);
        Box::pin(async move {
            call.await;
        })
    }

    fn stream(&self, count: usize, size: usize) -> BoxFuture<usize> {
        let request = frame(&r::EchoRequest {
            message: stream_request(count, size),
            ..Default::default()
        });
        let call = self.call(request);
        Box::pin(async move {
            call.await;
            count
        })
    }
}

// ---------------------------------------------------------------- measuring

struct UnaryRun {
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

async fn unary_run(
    target: Arc<dyn Target>,
    size: usize,
    in_flight: usize,
    seconds: Duration,
) -> UnaryRun {
    let message = Arc::new(payload(size));
    let started = Instant::now();
    let stop = started + seconds;
    let workers: Vec<_> = (0..in_flight)
        .map(|_| {
            let (target, message) = (target.clone(), message.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while Instant::now() < stop {
                    let begun = Instant::now();
                    target.unary(message.clone()).await;
                    latencies.push(begun.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await.expect("worker"));
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let percentile =
        |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    UnaryRun {
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: percentile(0.50),
        p99: percentile(0.99),
    }
}

/// What a unary row shows of one target: medians of its samples, latencies
/// in whole microseconds, truncated as `Duration::as_micros` does.
struct UnaryMedians {
    per_second: f64,
    p50: u128,
    p99: u128,
}

impl UnaryMedians {
    /// The medians of `runs`.
    fn of(runs: Vec<UnaryRun>) -> Self {
        let micros = |latency: fn(&UnaryRun) -> Duration| {
            median(
                runs.iter()
                    .map(|r| latency(r).as_secs_f64() * 1e6)
                    .collect(),
            ) as u128
        };
        UnaryMedians {
            per_second: median(runs.iter().map(|r| r.per_second).collect()),
            p50: micros(|r| r.p50),
            p99: micros(|r| r.p99),
        }
    }

    /// The latency column: p50/p99 in microseconds.
    fn latencies(&self) -> String {
        format!("{:>8}/{:<8}", self.p50, self.p99)
    }
}

/// Messages per second of one streaming call after another.
async fn stream_run(target: Arc<dyn Target>, size: usize, seconds: Duration) -> f64 {
    let started = Instant::now();
    let mut messages = 0;
    while started.elapsed() < seconds {
        messages += target.stream(STREAM_LENGTH, size).await;
    }
    messages as f64 / started.elapsed().as_secs_f64()
}

/// Runs one case: `run` warms each of `targets` up, then takes `samples`
/// samples of `seconds` from each in turn, so that a change in the
/// machine's load falls on all of them alike. Returns each target's
/// samples, in the order of `targets`.
async fn alternate<const N: usize, Sample, Run>(
    targets: [&Arc<dyn Target>; N],
    samples: usize,
    seconds: Duration,
    run: impl Fn(Arc<dyn Target>, Duration) -> Run,
) -> [Vec<Sample>; N]
where
    Run: Future<Output = Sample>,
{
    for target in targets {
        run(target.clone(), WARM_UP).await;
    }
    let mut taken = std::array::from_fn(|_| Vec::with_capacity(samples));
    for _ in 0..samples {
        for (target, taken) in targets.iter().zip(&mut taken) {
            taken.push(run((*target).clone(), seconds).await);
        }
    }
    taken
}

async fn bind() -> (tokio::net::TcpListener, SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    (listener, address)
}

fn main() {
    let samples: usize = std::env::var("RGRPC_BENCH_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let seconds = Duration::from_secs_f64(
        std::env::var("RGRPC_BENCH_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1.0),
    );
    // Naming parts (`unary`, `streaming`, `interceptors`, `gzip`,
    // `balancing`) runs only those.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted = |part: &str| args.is_empty() || args.iter().any(|a| a == part);
    let (unary, streaming, intercepted, gzip, balancing) = (
        wanted("unary"),
        wanted("streaming"),
        wanted("interceptors"),
        wanted("gzip"),
        wanted("balancing"),
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        // The three servers, and variants of the first two.
        let (listener, rgrpc_address) = bind().await;
        let server = rgrpc::Server::builder().add_service(r::EchoServer::new(RgrpcEcho)).build();
        tokio::spawn(server.serve_with_shutdown(listener, std::future::pending()));
        // The same behind three no-op unary interceptors on each side.
        let (listener, layered_address) = bind().await;
        let mut builder = rgrpc::Server::builder().add_service(r::EchoServer::new(RgrpcEcho));
        for _ in 0..3 {
            builder = builder.unary_interceptor(|request: rgrpc::AnyRequest, next: rgrpc::server::UnaryNext| next.run(request));
        }
        tokio::spawn(builder.build().serve_with_shutdown(listener, std::future::pending()));
        // The same answering in gzip: rgrpc's clients always accept it.
        let (listener, rgrpc_gzip_address) = bind().await;
        let server = rgrpc::Server::builder()
            .send_compressed(rgrpc::Compression::Gzip)
            .add_service(r::EchoServer::new(RgrpcEcho))
            .build();
        tokio::spawn(server.serve_with_shutdown(listener, std::future::pending()));

        // Two more like the first, for a channel to balance over three.
        let mut replicas = vec![rgrpc_address];
        for _ in 0..2 {
            let (listener, address) = bind().await;
            let server = rgrpc::Server::builder().add_service(r::EchoServer::new(RgrpcEcho)).build();
            tokio::spawn(server.serve_with_shutdown(listener, std::future::pending()));
            replicas.push(address);
        }

        let (listener, tonic_address) = bind().await;
        tokio::spawn(serve_tonic(listener, t::echo_server::EchoServer::new(TonicEcho)));
        // tonic's own gzip server, which takes gzip and answers in it to a
        // client that accepts it.
        let (listener, tonic_gzip_address) = bind().await;
        tokio::spawn(serve_tonic(
            listener,
            t::echo_server::EchoServer::new(TonicEcho)
                .accept_compressed(CompressionEncoding::Gzip)
                .send_compressed(CompressionEncoding::Gzip),
        ));

        let (listener, raw_address) = bind().await;
        let canned = |size: usize| frame(&r::EchoResponse { message: payload(size), ..Default::default() });
        let streams: Vec<(usize, Bytes, usize)> = [64, 16 * 1024]
            .into_iter()
            .map(|size| {
                let request = frame(&r::EchoRequest { message: stream_request(STREAM_LENGTH, size), ..Default::default() });
                (request.len(), canned(size), STREAM_LENGTH)
            })
            .collect();
        // Unary answers depend on the payload size; the raw server answers 32 B
        // and 4 KiB requests with the response of the same size.
        let raw_unary = |size: usize| canned(size);
        let (raw_32, raw_4k) = (raw_unary(32), raw_unary(4096));
        let (listener_4k, raw_4k_address) = bind().await;
        tokio::spawn(raw_server(listener, raw_32, streams.clone()));
        tokio::spawn(raw_server(listener_4k, raw_4k, streams));

        // The clients: one connection each, shared by every call in flight.
        let rgrpc_channel = rgrpc::Channel::builder(&rgrpc_address.to_string()).unwrap().connect().await.expect("rgrpc connect");
        let rgrpc: Arc<dyn Target> = Arc::new(RgrpcTarget(r::EchoClient::new(rgrpc_channel)));
        let mut layered_channel = rgrpc::Channel::builder(&layered_address.to_string()).unwrap();
        for _ in 0..3 {
            layered_channel = layered_channel.unary_interceptor(
                |call: rgrpc::client::ClientCall, request: rgrpc::AnyRequest, next: rgrpc::client::UnaryNext| next.run(call, request),
            );
        }
        let layered_channel = layered_channel.connect().await.expect("rgrpc connect");
        let layered: Arc<dyn Target> = Arc::new(RgrpcTarget(r::EchoClient::new(layered_channel)));
        let rgrpc_gzip_channel = rgrpc::Channel::builder(&rgrpc_gzip_address.to_string())
            .unwrap()
            .send_compressed(rgrpc::Compression::Gzip)
            .connect()
            .await
            .expect("rgrpc connect");
        let rgrpc_gzip: Arc<dyn Target> =
            Arc::new(RgrpcTarget(r::EchoClient::new(rgrpc_gzip_channel)));
        let replicas = replicas.iter().map(SocketAddr::to_string).collect::<Vec<_>>().join(",");
        let balanced_channel = rgrpc::Channel::builder(&format!("ipv4:{replicas}"))
            .unwrap()
            .load_balancing(rgrpc::client::LoadBalancing::RoundRobin)
            .connect()
            .await
            .expect("rgrpc connect");
        let balanced: Arc<dyn Target> = Arc::new(RgrpcTarget(r::EchoClient::new(balanced_channel)));
        let tonic: Arc<dyn Target> = Arc::new(TonicTarget(tonic_client(tonic_address).await));
        let tonic_gzip: Arc<dyn Target> = Arc::new(TonicTarget(
            tonic_client(tonic_gzip_address)
                .await
                .send_compressed(CompressionEncoding::Gzip)
                .accept_compressed(CompressionEncoding::Gzip),
        ));
        let raw_target = |address: SocketAddr| async move {
            let socket = tokio::net::TcpStream::connect(address).await.expect("raw connect");
            socket.set_nodelay(true).ok();
            let (sender, connection) = h2::client::Builder::new()
                .initial_window_size(1 << 20)
                .initial_connection_window_size(4 << 20)
                .handshake(socket)
                .await
                .expect("raw handshake");
            tokio::spawn(connection);
            Arc::new(RawTarget { sender, address }) as Arc<dyn Target>
        };
        let raw_small = raw_target(raw_address).await;
        let raw_large = raw_target(raw_4k_address).await;

        let allocator = if cfg!(feature = "mimalloc") { "mimalloc" } else { "the system allocator" };
        println!(
            "transport benchmark: median of {samples} samples of {seconds:?}, allocating with {allocator}; ratios are rgrpc/tonic and rgrpc/raw-h2"
        );
        println!(
            "{:<24} {:>12} {:>12} {:>12} {:>8} {:>8}   {:>17} {:>17}",
            "unary", "rgrpc req/s", "tonic req/s", "raw req/s", "vs tonic", "vs raw", "rgrpc p50/p99 µs", "tonic p50/p99 µs"
        );
        for size in [32, 4096].into_iter().filter(|_| unary) {
            for in_flight in IN_FLIGHT {
                let raw = if size == 32 { &raw_small } else { &raw_large };
                let targets = [&rgrpc, &tonic, raw];
                let [r, t, raw] = alternate(targets, samples, seconds, |target, time| {
                    unary_run(target, size, in_flight, time)
                })
                .await
                .map(UnaryMedians::of);
                println!(
                    "{:<24} {:>12.0} {:>12.0} {:>12.0} {:>7.2}x {:>7.2}x   {} {}",
                    format!("{size} B, {in_flight} in flight"),
                    r.per_second,
                    t.per_second,
                    raw.per_second,
                    r.per_second / t.per_second,
                    r.per_second / raw.per_second,
                    r.latencies(),
                    t.latencies(),
                );
            }
        }

        println!(
            "\n{:<24} {:>12} {:>12} {:>12} {:>8} {:>8}   {:>10} {:>10}",
            "server streaming", "rgrpc msg/s", "tonic msg/s", "raw msg/s", "vs tonic", "vs raw", "rgrpc MB/s", "tonic MB/s"
        );
        for size in [64, 16 * 1024].into_iter().filter(|_| streaming) {
            let [r_rate, t_rate, raw_rate] =
                alternate([&rgrpc, &tonic, &raw_small], samples, seconds, |target, time| {
                    stream_run(target, size, time)
                })
                .await
                .map(median);
            let mb = |rate: f64| rate * size as f64 / 1e6;
            println!(
                "{:<24} {:>12.0} {:>12.0} {:>12.0} {:>7.2}x {:>7.2}x   {:>10.1} {:>10.1}",
                format!("{size} B messages"),
                r_rate,
                t_rate,
                raw_rate,
                r_rate / t_rate,
                r_rate / raw_rate,
                mb(r_rate),
                mb(t_rate),
            );
        }

        println!(
            "\n{:<24} {:>12} {:>12} {:>8}",
            "interceptors", "none req/s", "3+3 req/s", "3+3/none"
        );
        for in_flight in [1, 16].into_iter().filter(|_| intercepted) {
            let [plain, chained] = alternate([&rgrpc, &layered], samples, seconds, |target, time| {
                unary_run(target, 32, in_flight, time)
            })
            .await
            .map(|runs| UnaryMedians::of(runs).per_second);
            println!(
                "{:<24} {:>12.0} {:>12.0} {:>7.2}x",
                format!("32 B, {in_flight} in flight"),
                plain,
                chained,
                chained / plain,
            );
        }

        println!(
            "\n{:<24} {:>12} {:>12} {:>8}   {:>17} {:>17}",
            "round robin", "1 srv req/s", "3 srv req/s", "3/1", "1 srv p50/p99 µs", "3 srv p50/p99 µs"
        );
        for in_flight in [1, 16].into_iter().filter(|_| balancing) {
            let [one, three] = alternate([&rgrpc, &balanced], samples, seconds, |target, time| {
                unary_run(target, 32, in_flight, time)
            })
            .await
            .map(UnaryMedians::of);
            println!(
                "{:<24} {:>12.0} {:>12.0} {:>7.2}x   {} {}",
                format!("32 B, {in_flight} in flight"),
                one.per_second,
                three.per_second,
                three.per_second / one.per_second,
                one.latencies(),
                three.latencies(),
            );
        }

        // No ceiling here: the raw server's canned answers are not compressed.
        println!(
            "\n{:<24} {:>12} {:>12} {:>8}   {:>17} {:>17}",
            "unary, gzip both ways", "rgrpc req/s", "tonic req/s", "vs tonic",
            "rgrpc p50/p99 µs", "tonic p50/p99 µs"
        );
        for in_flight in IN_FLIGHT.into_iter().filter(|_| gzip) {
            let [r, t] = alternate([&rgrpc_gzip, &tonic_gzip], samples, seconds, |target, time| {
                unary_run(target, 4096, in_flight, time)
            })
            .await
            .map(UnaryMedians::of);
            println!(
                "{:<24} {:>12.0} {:>12.0} {:>7.2}x   {} {}",
                format!("4096 B, {in_flight} in flight"),
                r.per_second,
                t.per_second,
                r.per_second / t.per_second,
                r.latencies(),
                t.latencies(),
            );
        }

        println!(
            "\n{:<24} {:>12} {:>12} {:>8}   {:>10} {:>10}",
            "server streaming, gzip", "rgrpc msg/s", "tonic msg/s", "vs tonic", "rgrpc MB/s", "tonic MB/s"
        );
        if gzip {
            let size = 16 * 1024;
            let [r_rate, t_rate] =
                alternate([&rgrpc_gzip, &tonic_gzip], samples, seconds, |target, time| {
                    stream_run(target, size, time)
                })
                .await
                .map(median);
            // Megabytes of messages as sent, before compression.
            let mb = |rate: f64| rate * size as f64 / 1e6;
            println!(
                "{:<24} {:>12.0} {:>12.0} {:>7.2}x   {:>10.1} {:>10.1}",
                format!("{size} B messages"),
                r_rate,
                t_rate,
                r_rate / t_rate,
                mb(r_rate),
                mb(t_rate),
            );
        }
    });
}
