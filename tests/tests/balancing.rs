//! Load balancing over several servers behind one target: round robin
//! spreads calls evenly, leaves a server that went away out, and brings it
//! back when it returns; pick_first keeps to one server; a resolver's new
//! addresses are found while the channel is in use.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rgrpc::client::{ConnectBackoff, ConnectivityState, LoadBalancing};
use rgrpc::{Channel, Code, Request, Response, Status};
use rgrpc_tests::pb::echo::{Echo, EchoClient, EchoRequest, EchoResponse, EchoServer};

/// Answers every call with its name.
struct Named(&'static str);

impl Echo for Named {
    async fn echo_message(
        &self,
        _request: Request<EchoRequest>,
    ) -> Result<Response<EchoResponse>, Status> {
        Ok(Response::new(rgrpc_tests::response(self.0)))
    }
}

/// A [`Named`] server on `address` (port 0: any), its address, and the
/// switch that stops it, gracefully.
async fn serve(
    name: &'static str,
    address: &str,
) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let bound = rgrpc::Server::builder()
        .add_service(EchoServer::new(Named(name)))
        .build()
        .bind(address)
        .await
        .expect("bind a loopback port");
    let address = bound.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(bound.serve_with_shutdown(async {
        let _ = stopped.await;
    }));
    (address, stop)
}

/// Makes `calls` calls one after another: how many each server answered,
/// and the errors.
async fn spread(channel: &Channel, calls: usize) -> (BTreeMap<String, usize>, Vec<Status>) {
    let client = EchoClient::new(channel.clone());
    let mut answered = BTreeMap::new();
    let mut failed = Vec::new();
    for _ in 0..calls {
        match client.echo_message(rgrpc_tests::request("")).await {
            Ok(response) => *answered.entry(response.into_message().message).or_default() += 1,
            Err(status) => failed.push(status),
        }
    }
    (answered, failed)
}

/// Whether each of `names` answered within 10% of an even share of
/// `calls`, and no other did.
fn even(answered: &BTreeMap<String, usize>, names: &[&str], calls: usize) -> bool {
    let share = calls as f64 / names.len() as f64;
    answered.len() == names.len()
        && names.iter().all(|name| {
            answered
                .get(*name)
                .is_some_and(|n| (*n as f64 - share).abs() <= share * 0.1)
        })
}

fn quick_backoff() -> ConnectBackoff {
    ConnectBackoff {
        initial: Duration::from_millis(50),
        multiplier: 1.0,
        jitter: 0.0,
        max: Duration::from_millis(50),
    }
}

/// Waits, up to five seconds, until the channel's calls reach `names`
/// evenly.
async fn until_even(channel: &Channel, names: &[&str]) -> BTreeMap<String, usize> {
    let mut answered = BTreeMap::new();
    for _ in 0..100 {
        (answered, _) = spread(channel, 30).await;
        if even(&answered, names, 30) {
            return answered;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("calls never reached {names:?} evenly: {answered:?}");
}

#[tokio::test]
async fn round_robin_spreads_calls_and_follows_servers_that_go_and_come_back() {
    let (a, _stop_a) = serve("a", "127.0.0.1:0").await;
    let (b, stop_b) = serve("b", "127.0.0.1:0").await;
    let (c, _stop_c) = serve("c", "127.0.0.1:0").await;
    let channel = Channel::builder(&format!("ipv4:{a},{b},{c}"))
        .unwrap()
        .load_balancing(LoadBalancing::RoundRobin)
        .connect_backoff(quick_backoff())
        .connect()
        .await
        .unwrap();

    // Connected to all three, the channel spreads 300 calls evenly.
    until_even(&channel, &["a", "b", "c"]).await;
    let (answered, failed) = spread(&channel, 300).await;
    assert!(failed.is_empty(), "{failed:?}");
    assert!(even(&answered, &["a", "b", "c"], 300), "{answered:?}");

    // b stops between calls: none fails, and the others share them.
    stop_b.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (answered, failed) = spread(&channel, 300).await;
    assert!(failed.is_empty(), "{failed:?}");
    assert!(even(&answered, &["a", "c"], 300), "{answered:?}");
    assert_eq!(channel.state(), ConnectivityState::Ready);

    // b comes back on its address: after a backoff, it has its share again.
    let (_, _stop_b) = serve("b", &b.to_string()).await;
    until_even(&channel, &["a", "b", "c"]).await;
}

#[tokio::test]
async fn round_robin_fails_fast_only_when_every_server_fails() {
    let (a, stop_a) = serve("a", "127.0.0.1:0").await;
    let channel = Channel::builder(&format!("ipv4:{a},{}", rgrpc_tests::closed_port().await))
        .unwrap()
        .load_balancing(LoadBalancing::RoundRobin)
        .connect_lazy();
    // The address that refuses is left out from the first call on.
    let (answered, failed) = spread(&channel, 20).await;
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(answered.get("a"), Some(&20));

    stop_a.send(()).unwrap();
    let state = tokio::time::timeout(
        Duration::from_secs(5),
        channel.state_changed(ConnectivityState::Ready),
    )
    .await
    .unwrap();
    assert_ne!(state, ConnectivityState::Ready);
    let err = tokio::time::timeout(Duration::from_secs(5), spread(&channel, 1))
        .await
        .unwrap()
        .1
        .remove(0);
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    assert_eq!(channel.state(), ConnectivityState::TransientFailure);
}

#[tokio::test]
async fn pick_first_keeps_to_the_first_server_that_accepts() {
    let (a, _stop_a) = serve("a", "127.0.0.1:0").await;
    let (b, _stop_b) = serve("b", "127.0.0.1:0").await;
    let channel = Channel::builder(&format!("ipv4:{a},{b}"))
        .unwrap()
        .connect_lazy();
    let (answered, failed) = spread(&channel, 50).await;
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(answered.get("a"), Some(&50), "{answered:?}");
}

#[tokio::test]
async fn servers_added_behind_the_name_are_found_while_the_channel_is_in_use() {
    let (a, _stop_a) = serve("a", "127.0.0.1:0").await;
    let (b, _stop_b) = serve("b", "127.0.0.1:0").await;
    let addresses = Arc::new(Mutex::new(vec![a]));
    let resolved = addresses.clone();
    let channel = Channel::with_resolver("echo.test:50051", move || {
        let addresses = resolved.lock().unwrap().clone();
        async move { Ok(addresses) }
    })
    .unwrap()
    .load_balancing(LoadBalancing::RoundRobin)
    .resolve_interval(Duration::from_millis(100))
    .connect_lazy();
    let (answered, _) = spread(&channel, 10).await;
    assert_eq!(answered.get("a"), Some(&10), "{answered:?}");

    // The service scales up; so does the spread, and down again.
    addresses.lock().unwrap().push(b);
    until_even(&channel, &["a", "b"]).await;
    addresses.lock().unwrap().remove(0);
    until_even(&channel, &["b"]).await;
}

/// `calls` calls on each of `tasks` tasks at once: the answers and errors
/// of them all.
async fn under_load(
    channel: &Channel,
    tasks: usize,
    calls: usize,
) -> tokio::task::JoinSet<(BTreeMap<String, usize>, Vec<Status>)> {
    let mut running = tokio::task::JoinSet::new();
    for _ in 0..tasks {
        let channel = channel.clone();
        running.spawn(async move { spread(&channel, calls).await });
    }
    running
}

/// A TCP proxy to `to`, and the switch that cuts it: every connection
/// through it is dropped at once, mid-call, and new ones are refused, as
/// when a server's machine goes away.
async fn cuttable(to: SocketAddr) -> (SocketAddr, tokio::sync::watch::Sender<bool>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (cut, watch) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let mut cutting = watch.clone();
        loop {
            let mut client = tokio::select! {
                accepted = listener.accept() => accepted.unwrap().0,
                _ = cutting.changed() => return,
            };
            let mut cutting = watch.clone();
            tokio::spawn(async move {
                let mut server = tokio::net::TcpStream::connect(to).await.unwrap();
                tokio::select! {
                    _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                    _ = cutting.changed() => {}
                }
            });
        }
    });
    (address, cut)
}

#[tokio::test]
async fn a_server_lost_under_load_loses_no_call_that_may_be_retried() {
    for retried in [true, false] {
        let (a, _stop_a) = serve("a", "127.0.0.1:0").await;
        let (b, _stop_b) = serve("b", "127.0.0.1:0").await;
        let (c, _stop_c) = serve("c", "127.0.0.1:0").await;
        let (b, cut_b) = cuttable(b).await;
        let mut builder = Channel::builder(&format!("ipv4:{a},{b},{c}"))
            .unwrap()
            .load_balancing(LoadBalancing::RoundRobin);
        if retried {
            builder = builder
                .service_config(
                    r#"{"methodConfig": [{"name": [{"service": "echo.Echo"}],
                        "retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.01s",
                        "maxBackoff": "0.05s", "backoffMultiplier": 2,
                        "retryableStatusCodes": ["UNAVAILABLE"]}}]}"#,
                )
                .unwrap();
        }
        let channel = builder.connect().await.unwrap();
        until_even(&channel, &["a", "b", "c"]).await;

        let mut running = under_load(&channel, 4, 300).await;
        tokio::time::sleep(Duration::from_millis(30)).await;
        cut_b.send(true).unwrap();
        let mut answered = BTreeMap::<String, usize>::new();
        let mut failed = Vec::new();
        while let Some(done) = running.join_next().await {
            let (counts, errors) = done.unwrap();
            for (name, n) in counts {
                *answered.entry(name).or_default() += n;
            }
            failed.extend(errors);
        }
        assert!(answered.get("b").is_some_and(|n| *n > 0), "{answered:?}");
        if retried {
            assert!(failed.is_empty(), "{failed:?}");
        } else {
            // At most the calls in flight when b went away: one per task.
            assert!(failed.len() <= 4, "{failed:?}");
            assert!(
                failed.iter().all(|s| s.code() == Code::Unavailable),
                "{failed:?}"
            );
        }
        assert_eq!(answered.values().sum::<usize>() + failed.len(), 1200);
    }
}

/// Answers after a while.
struct Slow;

impl Echo for Slow {
    async fn echo_message(
        &self,
        request: Request<EchoRequest>,
    ) -> Result<Response<EchoResponse>, Status> {
        tokio::time::sleep(Duration::from_millis(300)).await;
        Ok(Response::new(rgrpc_tests::response(
            request.into_message().message,
        )))
    }
}

#[tokio::test]
async fn a_channel_shut_down_fails_new_calls_and_finishes_those_under_way() {
    let bound = rgrpc::Server::builder()
        .add_service(EchoServer::new(Slow))
        .build()
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let address = bound.local_addr().unwrap();
    tokio::spawn(bound.serve_with_shutdown(std::future::pending()));
    let channel = Channel::builder(&address.to_string())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let client = EchoClient::new(channel.clone());
    let under_way = tokio::spawn(async move {
        client
            .echo_message(rgrpc_tests::request("in flight"))
            .await
            .map(|response| response.into_message().message)
    });
    tokio::time::sleep(Duration::from_millis(50)).await;

    let watching = tokio::spawn({
        let channel = channel.clone();
        async move { channel.state_changed(ConnectivityState::Ready).await }
    });
    channel.clone().shutdown();
    assert_eq!(watching.await.unwrap(), ConnectivityState::Shutdown);
    assert_eq!(channel.state(), ConnectivityState::Shutdown);
    let err = EchoClient::new(channel.clone())
        .echo_message(rgrpc_tests::request("late"))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (Code::Unavailable, "the channel was shut down")
    );
    assert_eq!(under_way.await.unwrap().as_deref(), Ok("in flight"));
}
