//! Connection backoff and wait-for-ready: after a failed attempt to
//! connect, a channel waits (gRPC's connection backoff) before the next;
//! meanwhile calls fail at once with the last error, unless they wait for
//! the channel to be ready, until their deadline.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rgrpc::client::{CallOptions, ConnectBackoff};
use rgrpc::{Channel, Code};
use rgrpc_tests::pb::echo::EchoClient;
use rgrpc_tests::{closed_port, echo_server};

/// A channel to the one address in `at`, which the test may change,
/// counting its resolutions (one per attempt to connect).
fn channel(at: &Arc<Mutex<SocketAddr>>, backoff: ConnectBackoff) -> (Channel, Arc<AtomicUsize>) {
    let attempts = Arc::new(AtomicUsize::new(0));
    let (at, counted) = (at.clone(), attempts.clone());
    let channel = Channel::with_resolver("echo.test:1", move || {
        counted.fetch_add(1, Ordering::SeqCst);
        let address = *at.lock().unwrap();
        async move { Ok(vec![address]) }
    })
    .unwrap()
    .min_resolve_interval(Duration::ZERO)
    .connect_backoff(backoff)
    .connect_lazy();
    (channel, attempts)
}

fn fixed(wait: Duration) -> ConnectBackoff {
    ConnectBackoff {
        initial: wait,
        multiplier: 1.0,
        jitter: 0.0,
        max: wait,
    }
}

async fn echo(channel: &Channel, options: CallOptions) -> Result<String, rgrpc::Status> {
    let client = EchoClient::new(channel.clone());
    Ok(client
        .echo_message(rgrpc_tests::request("hi"))
        .with_options(options)
        .await?
        .into_message()
        .message)
}

#[tokio::test]
async fn within_the_backoff_calls_fail_at_once_with_the_last_error() {
    let at = Arc::new(Mutex::new(closed_port().await));
    let (channel, attempts) = channel(&at, fixed(Duration::from_millis(400)));
    let first = echo(&channel, CallOptions::new()).await.unwrap_err();
    assert_eq!(first.code(), Code::Unavailable);

    // The server is there now, but the backoff is not over: no attempt.
    let (address, _stop) = echo_server().await;
    *at.lock().unwrap() = address;
    let second = echo(&channel, CallOptions::new()).await.unwrap_err();
    assert_eq!(second.message(), first.message());
    assert_eq!(attempts.load(Ordering::SeqCst), 1);

    // Once it is, the next call connects.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        echo(&channel, CallOptions::new()).await.as_deref(),
        Ok("hi")
    );
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_call_that_waits_for_ready_connects_when_the_server_comes() {
    let at = Arc::new(Mutex::new(closed_port().await));
    let (channel, attempts) = channel(&at, fixed(Duration::from_millis(100)));
    let waiting = CallOptions::new()
        .wait_for_ready(true)
        .timeout(Duration::from_secs(20));
    let call = tokio::spawn({
        let channel = channel.clone();
        async move { echo(&channel, waiting).await }
    });
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert!(attempts.load(Ordering::SeqCst) >= 2, "it tried again");
    let (address, _stop) = echo_server().await;
    *at.lock().unwrap() = address;
    assert_eq!(call.await.unwrap().as_deref(), Ok("hi"));
}

#[tokio::test]
async fn a_call_that_waits_for_ready_ends_at_its_deadline() {
    let at = Arc::new(Mutex::new(closed_port().await));
    let (channel, _) = channel(&at, fixed(Duration::from_millis(50)));
    let waiting = CallOptions::new()
        .wait_for_ready(true)
        .timeout(Duration::from_millis(300));
    let err = echo(&channel, waiting).await.unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");
}

#[tokio::test(start_paused = true)]
async fn attempts_follow_the_backoff_schedule() {
    // gRPC's schedule without jitter: attempts at 0, 1, 2.6, 5.16 and
    // 9.256 seconds, the clock paused and moved only by the waits.
    let attempts = Arc::new(AtomicUsize::new(0));
    let counted = attempts.clone();
    let channel = Channel::with_connector("echo.test:1", move || {
        counted.fetch_add(1, Ordering::SeqCst);
        async { Err::<tokio::net::TcpStream, _>(std::io::Error::other("refused")) }
    })
    .unwrap()
    .connect_backoff(ConnectBackoff {
        jitter: 0.0,
        ..ConnectBackoff::default()
    })
    .connect_lazy();
    let started = tokio::time::Instant::now();
    let waiting = CallOptions::new()
        .wait_for_ready(true)
        .timeout(Duration::from_secs(10));
    let err = echo(&channel, waiting).await.unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded);
    assert_eq!(attempts.load(Ordering::SeqCst), 5);
    // The deadline, to the timer's millisecond.
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_secs(10) && elapsed < Duration::from_millis(10_010),
        "{elapsed:?}"
    );
}

#[tokio::test]
async fn the_state_follows_the_connection_and_can_be_waited_for() {
    use rgrpc::client::ConnectivityState::{Connecting, Idle, Ready, TransientFailure};

    let (address, stop) = echo_server().await;
    let at = Arc::new(Mutex::new(address));
    let (channel, _) = channel(&at, fixed(Duration::from_millis(50)));
    assert_eq!(channel.state(), Idle);

    let watching = tokio::spawn({
        let channel = channel.clone();
        async move {
            let first = channel.state_changed(Idle).await;
            let second = channel.state_changed(first).await;
            (first, second)
        }
    });
    tokio::task::yield_now().await;
    assert_eq!(
        echo(&channel, CallOptions::new()).await.as_deref(),
        Ok("hi")
    );
    assert_eq!(watching.await.unwrap(), (Connecting, Ready));
    assert_eq!(channel.state(), Ready);

    // The server goes away: the channel is idle again.
    stop.send(()).unwrap();
    let state = tokio::time::timeout(Duration::from_secs(5), channel.state_changed(Ready))
        .await
        .expect("the channel sees its connection end");
    assert_eq!(state, Idle);

    // It cannot connect: a transient failure.
    *at.lock().unwrap() = closed_port().await;
    let err = echo(&channel, CallOptions::new()).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(channel.state(), TransientFailure);
}
