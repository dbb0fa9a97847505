//! The examples run to completion and say what they should.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs an example binary, failing if it takes more than 60 seconds.
fn run(binary: &str) -> String {
    let mut child = Command::new(binary)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the example starts");
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            child.kill().ok();
            panic!("{binary} did not finish within 60 seconds");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("output");
    assert!(output.status.success(), "{binary} failed");
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

fn assert_lines(output: &str, expected: &[&str]) {
    for line in expected {
        assert!(
            output.lines().any(|l| l == *line),
            "missing line {line:?} in:\n{output}"
        );
    }
}

#[test]
fn echo_runs_all_four_shapes() {
    let output = run(env!("CARGO_BIN_EXE_echo"));
    assert_lines(
        &output,
        &[
            "response: \"hello, rgrpc\"",
            "headers:  {\"location\": \"loopback\"}",
            "trailers: {\"handled-by\": \"echo_message\"}",
            "received: \"tick #3\"",
            "trailers: {\"sent\": \"3\"}",
            "response: \"one two three\"",
            "received: \"done\"",
            "server stopped",
        ],
    );
}

#[test]
fn user_shows_each_error() {
    let output = run(env!("CARGO_BIN_EXE_user"));
    assert_lines(
        &output,
        &[
            "create without a token: UNAUTHENTICATED: an authorization header is required",
            "create without a name: INVALID_ARGUMENT: name: must not be empty",
            "create with a bad e-mail: INVALID_ARGUMENT: email: \"bob\" is not an e-mail address",
            "get user 42: NOT_FOUND: user \"42\" not found",
            "get user 1 within 10 ms: DEADLINE_EXCEEDED: not enough time left for the lookup",
        ],
    );
    assert!(
        output.contains("get user 1: User { id: \"1\", name: \"Ada\""),
        "{output}"
    );
}

#[test]
fn chat_runs_every_method() {
    let output = run(env!("CARGO_BIN_EXE_chat"));
    assert_lines(
        &output,
        &[
            "say_hello:      \"Hello, Ada!\"",
            "upload_stream:  3 chunks, 31 bytes",
            "chat_stream:    Cy hears Bob: \"hi all\"",
            "broadcast:      Ada sees Cy: \"hello Bob\"",
        ],
    );
}

#[test]
fn interceptors_authenticate_log_count_tag_and_time_out() {
    let output = run(env!("CARGO_BIN_EXE_interceptors"));
    assert_lines(
        &output,
        &[
            "say_hello, anonymous: \"Hello, Ada! (from interceptors-demo)\"",
            "upload, anonymous: UNAUTHENTICATED: an authorization header is required",
            "upload, member: 2",
            "chat, nobody answers: DEADLINE_EXCEEDED: deadline exceeded",
            "  /chat.ChatService/SayHello OK 1",
            "  /chat.ChatService/UploadStream OK 1",
            "  /chat.ChatService/UploadStream UNAUTHENTICATED 1",
        ],
    );
    for call in [
        "log: /chat.ChatService/SayHello OK in ",
        "log: /chat.ChatService/UploadStream UNAUTHENTICATED in ",
        "log: /chat.ChatService/UploadStream OK in ",
    ] {
        assert!(
            output.lines().any(|line| line.starts_with(call)),
            "no line starting {call:?} in:\n{output}"
        );
    }
}

#[test]
fn rich_errors_carry_and_read_the_standard_details() {
    let output = run(env!("CARGO_BIN_EXE_rich_errors"));
    assert_lines(
        &output,
        &[
            "create with no name and a bad e-mail: INVALID_ARGUMENT: the request has invalid fields",
            "  bad field name: must not be empty (EMPTY); for the user, in en-US: Please check the name.",
            "  bad field email: must contain an @ (NOT_AN_EMAIL); for the user, in en-US: Please check the email.",
            "  resource user.v1.User \"42\": no user has this id",
            "  reason USER_NOT_FOUND in users.example.com, {\"id\": \"42\"}",
            "create Ada again: RESOURCE_EXHAUSTED: the creation quota is spent",
            "  quota of project:demo: 1 user creation a minute",
            "  retry after 1500 ms",
            "  help: Quotas <https://example.com/docs/quotas>",
        ],
    );
}

#[test]
fn tls_echo_answers_over_tls_and_refuses_a_stranger_s_client() {
    let output = run(env!("CARGO_BIN_EXE_tls_echo"));
    assert_lines(
        &output,
        &[
            "response: \"hello over TLS\"",
            "received: \"tick #3\"",
            "server stopped",
        ],
    );
    assert!(
        output
            .lines()
            .any(|line| line.starts_with("refused: UNAVAILABLE: TLS handshake failed")),
        "{output}"
    );
}
