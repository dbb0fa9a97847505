//! The service config, as gRFC A2 and A6 write it in JSON: each method's
//! timeout, wait-for-ready, message limits and retry policy, the load
//! balancing policy, and retry throttling.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use super::balancer::LoadBalancing;
use crate::{Code, Status};

/// The most attempts a retry policy may make: larger values are lowered to
/// this, as gRFC A6 says.
const MAX_ATTEMPTS: u32 = 5;

/// A channel's service config, read and checked.
#[derive(Debug, Default)]
pub(crate) struct ServiceConfig {
    /// The policy its `loadBalancingConfig` chose, if it has one.
    pub(crate) load_balancing: Option<LoadBalancing>,
    /// Method configs by name: `service/method`, `service`, or `` for
    /// every method.
    methods: HashMap<Box<str>, Arc<MethodConfig>>,
    pub(crate) throttling: Option<Throttling>,
}

/// What the service config says of a method's calls.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct MethodConfig {
    /// The longest a call may take, unless it is given a shorter deadline.
    pub(crate) timeout: Option<Duration>,
    /// Whether calls wait for ready, unless they say.
    pub(crate) wait_for_ready: Option<bool>,
    /// The largest request message, unless the channel's is smaller.
    pub(crate) max_request_message_bytes: Option<usize>,
    /// The largest response message, unless the channel's is smaller.
    pub(crate) max_response_message_bytes: Option<usize>,
    pub(crate) retry: Option<RetryPolicy>,
}

/// When and how often a failed call is tried again.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RetryPolicy {
    /// Attempts in all, the first included: 2 to 5.
    pub(crate) max_attempts: u32,
    pub(crate) initial_backoff: Duration,
    pub(crate) max_backoff: Duration,
    pub(crate) backoff_multiplier: f64,
    /// The codes that are tried again, as a set of bits by number.
    retryable: u32,
}

impl RetryPolicy {
    /// Whether a call that failed with `code` may be tried again.
    pub(crate) fn retries(&self, code: Code) -> bool {
        self.retryable & (1 << code.as_i32()) != 0
    }
}

/// Retry throttling: a channel stops retrying when too many of its calls
/// fail. Counted in thousandths of a token, the precision gRFC A6 gives
/// `tokenRatio`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Throttling {
    pub(crate) max_milli_tokens: u64,
    pub(crate) milli_token_ratio: u64,
}

impl ServiceConfig {
    /// Reads a service config from `json`.
    ///
    /// # Errors
    /// INVALID_ARGUMENT, saying where and why, when it is not valid JSON or
    /// not a valid service config.
    pub(crate) fn from_json(json: &str) -> Result<Self, Status> {
        let value: Value =
            serde_json::from_str(json).map_err(|err| invalid(format!("not valid JSON: {err}")))?;
        let Value::Object(root) = value else {
            return Err(invalid("not a JSON object"));
        };
        let mut config = ServiceConfig {
            load_balancing: load_balancing(&root)?,
            ..ServiceConfig::default()
        };
        for (i, method) in array(&root, "methodConfig", "methodConfig")?
            .iter()
            .enumerate()
        {
            let at = format!("methodConfig[{i}]");
            let method = object(method, &at)?;
            let parsed = Arc::new(method_config(method, &at)?);
            for (j, name) in array(method, "name", &format!("{at}.name"))?
                .iter()
                .enumerate()
            {
                let at = format!("{at}.name[{j}]");
                let key = method_name(object(name, &at)?, &at)?;
                if config.methods.insert(key.clone(), parsed.clone()).is_some() {
                    return Err(invalid(format!(
                        "{at}: {} is named by two method configs",
                        if key.is_empty() { "the default" } else { &key }
                    )));
                }
            }
        }
        if let Some(throttling) = root.get("retryThrottling") {
            config.throttling = Some(throttling_of(object(throttling, "retryThrottling")?)?);
        }
        Ok(config)
    }

    /// What applies to calls to `path` (`/service/method`): the method's
    /// own config, else its service's, else the default.
    pub(crate) fn method(&self, path: &str) -> Option<&Arc<MethodConfig>> {
        let name = path.strip_prefix('/').unwrap_or(path);
        let service = name.rsplit_once('/').map_or(name, |(service, _)| service);
        self.methods
            .get(name)
            .or_else(|| self.methods.get(service))
            .or_else(|| self.methods.get(""))
    }
}

fn invalid(what: impl std::fmt::Display) -> Status {
    Status::invalid_argument(format!("invalid service config: {what}"))
}

fn object<'v>(value: &'v Value, at: &str) -> Result<&'v Map<String, Value>, Status> {
    value
        .as_object()
        .ok_or_else(|| invalid(format!("{at}: not an object")))
}

/// `parent[key]` as an array: empty when absent.
fn array<'v>(parent: &'v Map<String, Value>, key: &str, at: &str) -> Result<&'v [Value], Status> {
    match parent.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(invalid(format!("{at}: not an array"))),
    }
}

/// The policy of `loadBalancingConfig` (the first of its list this build
/// has), or of the older `loadBalancingPolicy`.
fn load_balancing(root: &Map<String, Value>) -> Result<Option<LoadBalancing>, Status> {
    let configs = array(root, "loadBalancingConfig", "loadBalancingConfig")?;
    let mut named = Vec::new();
    for (i, config) in configs.iter().enumerate() {
        let at = format!("loadBalancingConfig[{i}]");
        let config = object(config, &at)?;
        let mut policies = config.iter();
        let (Some((name, settings)), None) = (policies.next(), policies.next()) else {
            return Err(invalid(format!("{at}: must name exactly one policy")));
        };
        object(settings, &format!("{at}.{name}"))?;
        if let Some(policy) = policy_named(name) {
            return Ok(Some(policy));
        }
        named.push(name.as_str());
    }
    if !configs.is_empty() {
        return Err(invalid(format!(
            "loadBalancingConfig: none of its policies ({}) is one this channel has \
             (pick_first, round_robin)",
            named.join(", ")
        )));
    }
    match root.get("loadBalancingPolicy") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(name)) => policy_named(&name.to_ascii_lowercase())
            .map(Some)
            .ok_or_else(|| {
                invalid(format!(
                    "loadBalancingPolicy: {name:?} is not a policy this channel has \
                     (pick_first, round_robin)"
                ))
            }),
        Some(_) => Err(invalid("loadBalancingPolicy: not a string")),
    }
}

fn policy_named(name: &str) -> Option<LoadBalancing> {
    match name {
        "pick_first" => Some(LoadBalancing::PickFirst),
        "round_robin" => Some(LoadBalancing::RoundRobin),
        _ => None,
    }
}

/// A method config's name as a key: `service/method`, `service`, or ``.
fn method_name(name: &Map<String, Value>, at: &str) -> Result<Box<str>, Status> {
    let field = |key: &str| match name.get(key) {
        None | Some(Value::Null) => Ok(""),
        Some(Value::String(value)) => Ok(value.as_str()),
        Some(_) => Err(invalid(format!("{at}.{key}: not a string"))),
    };
    let (service, method) = (field("service")?, field("method")?);
    match (service.is_empty(), method.is_empty()) {
        (true, false) => Err(invalid(format!(
            "{at}: a method ({method:?}) needs its service"
        ))),
        (_, true) => Ok(service.into()),
        (false, false) => Ok(format!("{service}/{method}").into()),
    }
}

fn method_config(method: &Map<String, Value>, at: &str) -> Result<MethodConfig, Status> {
    let mut config = MethodConfig::default();
    if let Some(value) = present(method, "timeout") {
        config.timeout = Some(duration(value, &format!("{at}.timeout"))?);
    }
    if let Some(value) = present(method, "waitForReady") {
        config.wait_for_ready = Some(
            value
                .as_bool()
                .ok_or_else(|| invalid(format!("{at}.waitForReady: not a boolean")))?,
        );
    }
    for (key, limit) in [
        (
            "maxRequestMessageBytes",
            &mut config.max_request_message_bytes,
        ),
        (
            "maxResponseMessageBytes",
            &mut config.max_response_message_bytes,
        ),
    ] {
        if let Some(value) = present(method, key) {
            let bytes = integer(value, &format!("{at}.{key}"))?;
            *limit = Some(usize::try_from(bytes).unwrap_or(usize::MAX));
        }
    }
    if present(method, "hedgingPolicy").is_some() {
        return Err(invalid(format!(
            "{at}.hedgingPolicy: hedging is not supported; use a retryPolicy"
        )));
    }
    if let Some(value) = present(method, "retryPolicy") {
        let at = format!("{at}.retryPolicy");
        config.retry = Some(retry_policy(object(value, &at)?, &at)?);
    }
    Ok(config)
}

/// `parent[key]`, unless absent or null.
fn present<'v>(parent: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    parent.get(key).filter(|value| !value.is_null())
}

fn required<'v>(parent: &'v Map<String, Value>, key: &str, at: &str) -> Result<&'v Value, Status> {
    present(parent, key).ok_or_else(|| invalid(format!("{at}.{key}: required")))
}

fn retry_policy(policy: &Map<String, Value>, at: &str) -> Result<RetryPolicy, Status> {
    let at_key = |key: &str| format!("{at}.{key}");
    let max_attempts = integer(required(policy, "maxAttempts", at)?, &at_key("maxAttempts"))?;
    if max_attempts < 2 {
        return Err(invalid(format!(
            "{}: must be at least 2",
            at_key("maxAttempts")
        )));
    }
    let positive = |key: &str| -> Result<Duration, Status> {
        let wait = duration(required(policy, key, at)?, &at_key(key))?;
        if wait.is_zero() {
            return Err(invalid(format!("{}: must be more than 0", at_key(key))));
        }
        Ok(wait)
    };
    let initial_backoff = positive("initialBackoff")?;
    let max_backoff = positive("maxBackoff")?;
    let backoff_multiplier = required(policy, "backoffMultiplier", at)?
        .as_f64()
        .filter(|multiplier| *multiplier > 0.0 && multiplier.is_finite())
        .ok_or_else(|| {
            invalid(format!(
                "{}: must be a number more than 0",
                at_key("backoffMultiplier")
            ))
        })?;
    let codes = match required(policy, "retryableStatusCodes", at)? {
        Value::Array(codes) if !codes.is_empty() => codes,
        _ => {
            return Err(invalid(format!(
                "{}: must be a list of status codes, not empty",
                at_key("retryableStatusCodes")
            )));
        }
    };
    let mut retryable = 0u32;
    for (i, code) in codes.iter().enumerate() {
        let at = format!("{}[{i}]", at_key("retryableStatusCodes"));
        let code = status_code(code)
            .ok_or_else(|| invalid(format!("{at}: {code} is not a status code")))?;
        if code == Code::Ok {
            return Err(invalid(format!("{at}: OK cannot be retried")));
        }
        retryable |= 1 << code.as_i32();
    }
    Ok(RetryPolicy {
        max_attempts: u32::try_from(max_attempts).map_or(MAX_ATTEMPTS, |n| n.min(MAX_ATTEMPTS)),
        initial_backoff,
        max_backoff,
        backoff_multiplier,
        retryable,
    })
}

/// A status code by name (`"UNAVAILABLE"`) or number.
fn status_code(value: &Value) -> Option<Code> {
    match value {
        Value::String(name) => Code::ALL
            .iter()
            .copied()
            .find(|code| code.name().eq_ignore_ascii_case(name)),
        Value::Number(number) => {
            let number = i32::try_from(number.as_u64()?).ok()?;
            Code::ALL.get(usize::try_from(number).ok()?).copied()
        }
        _ => None,
    }
}

fn throttling_of(throttling: &Map<String, Value>) -> Result<Throttling, Status> {
    let at = "retryThrottling";
    let max_tokens = integer(
        required(throttling, "maxTokens", at)?,
        "retryThrottling.maxTokens",
    )?;
    if !(1..=1000).contains(&max_tokens) {
        return Err(invalid("retryThrottling.maxTokens: must be from 1 to 1000"));
    }
    let ratio = required(throttling, "tokenRatio", at)?
        .as_f64()
        .filter(|ratio| *ratio > 0.0 && ratio.is_finite())
        .ok_or_else(|| invalid("retryThrottling.tokenRatio: must be a number more than 0"))?;
    // Three decimal places are kept, as gRFC A6 says.
    let milli_token_ratio = (ratio * 1000.0).floor() as u64;
    if milli_token_ratio == 0 {
        return Err(invalid(
            "retryThrottling.tokenRatio: must be at least 0.001",
        ));
    }
    Ok(Throttling {
        max_milli_tokens: max_tokens * 1000,
        milli_token_ratio,
    })
}

/// A non-negative integer: a JSON number, or a string of one (proto3 JSON
/// writes 64-bit integers so).
fn integer(value: &Value, at: &str) -> Result<u64, Status> {
    let number = match value {
        Value::Number(number) => number.as_u64(),
        Value::String(digits) => digits.parse().ok(),
        _ => None,
    };
    number.ok_or_else(|| invalid(format!("{at}: {value} is not a non-negative integer")))
}

/// A duration as proto3 JSON writes one: seconds with up to nine decimals
/// and an `s`, such as `"1.5s"`; not negative.
fn duration(value: &Value, at: &str) -> Result<Duration, Status> {
    let bad = || invalid(format!("{at}: {value} is not a duration such as \"1.5s\""));
    let parsed: crate::wkt::Duration =
        value.as_str().ok_or_else(bad)?.parse().map_err(|_| bad())?;
    Duration::try_from(parsed).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(json: &str) -> String {
        ServiceConfig::from_json(json)
            .unwrap_err()
            .message()
            .to_owned()
    }

    #[test]
    fn a_full_config_is_read() {
        let config = ServiceConfig::from_json(
            r#"{
              "loadBalancingConfig": [{"weighted_target": {}}, {"round_robin": {}}],
              "methodConfig": [
                {"name": [{"service": "echo.Echo", "method": "EchoMessage"}],
                 "timeout": "1.5s", "waitForReady": true,
                 "maxRequestMessageBytes": 1024, "maxResponseMessageBytes": "2048",
                 "retryPolicy": {"maxAttempts": 9, "initialBackoff": "0.1s",
                   "maxBackoff": "1s", "backoffMultiplier": 2,
                   "retryableStatusCodes": ["UNAVAILABLE", "resource_exhausted", 10]}},
                {"name": [{"service": "echo.Echo"}], "timeout": "2s"},
                {"name": [{}], "timeout": "3s"}
              ],
              "retryThrottling": {"maxTokens": 10, "tokenRatio": 0.1234},
              "somethingNewer": {}
            }"#,
        )
        .unwrap();
        assert_eq!(config.load_balancing, Some(LoadBalancing::RoundRobin));
        let exact = config.method("/echo.Echo/EchoMessage").unwrap();
        assert_eq!(exact.timeout, Some(Duration::from_millis(1500)));
        assert_eq!(exact.wait_for_ready, Some(true));
        assert_eq!(exact.max_request_message_bytes, Some(1024));
        assert_eq!(exact.max_response_message_bytes, Some(2048));
        let retry = exact.retry.as_ref().unwrap();
        assert_eq!(retry.max_attempts, 5);
        assert_eq!(retry.initial_backoff, Duration::from_millis(100));
        assert_eq!(retry.backoff_multiplier, 2.0);
        assert!(retry.retries(Code::Unavailable));
        assert!(retry.retries(Code::ResourceExhausted));
        assert!(retry.retries(Code::Aborted));
        assert!(!retry.retries(Code::Internal));
        let service = config.method("/echo.Echo/Other").unwrap();
        assert_eq!(service.timeout, Some(Duration::from_secs(2)));
        let default = config.method("/other.Service/Method").unwrap();
        assert_eq!(default.timeout, Some(Duration::from_secs(3)));
        assert_eq!(
            config.throttling,
            Some(Throttling {
                max_milli_tokens: 10_000,
                milli_token_ratio: 123
            })
        );
    }

    #[test]
    fn without_a_default_other_methods_have_no_config() {
        let config = ServiceConfig::from_json(
            r#"{"methodConfig": [{"name": [{"service": "a.A"}], "waitForReady": false}],
                "loadBalancingPolicy": "ROUND_ROBIN"}"#,
        )
        .unwrap();
        assert!(config.method("/a.A/M").is_some());
        assert!(config.method("/b.B/M").is_none());
        assert_eq!(config.load_balancing, Some(LoadBalancing::RoundRobin));
        assert_eq!(ServiceConfig::from_json("{}").unwrap().load_balancing, None);
    }

    #[test]
    fn durations_are_proto3_json_ones() {
        let parse = |text: &str| duration(&Value::String(text.into()), "t");
        assert_eq!(parse("0s").unwrap(), Duration::ZERO);
        assert_eq!(parse("1.000000001s").unwrap(), Duration::new(1, 1));
        assert_eq!(parse("0.25s").unwrap(), Duration::from_millis(250));
        for bad in [
            "1",
            "-1s",
            "1.s",
            ".5s",
            "1.0000000001s",
            "1e3s",
            "s",
            " 1s",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn invalid_configs_say_where_and_why() {
        let cases = [
            ("[]", "invalid service config: not a JSON object"),
            (
                "{",
                "invalid service config: not valid JSON: EOF while parsing an object at line 1 column 1",
            ),
            (
                r#"{"loadBalancingConfig": [{"grpclb": {}}]}"#,
                "invalid service config: loadBalancingConfig: none of its policies (grpclb) is one this channel has (pick_first, round_robin)",
            ),
            (
                r#"{"loadBalancingConfig": [{"pick_first": {}, "round_robin": {}}]}"#,
                "invalid service config: loadBalancingConfig[0]: must name exactly one policy",
            ),
            (
                r#"{"methodConfig": [{"name": [{"method": "M"}]}]}"#,
                "invalid service config: methodConfig[0].name[0]: a method (\"M\") needs its service",
            ),
            (
                r#"{"methodConfig": [{"name": [{"service": "a.A"}]}, {"name": [{"service": "a.A"}]}]}"#,
                "invalid service config: methodConfig[1].name[0]: a.A is named by two method configs",
            ),
            (
                r#"{"methodConfig": [{"name": [{}], "timeout": "soon"}]}"#,
                "invalid service config: methodConfig[0].timeout: \"soon\" is not a duration such as \"1.5s\"",
            ),
            (
                r#"{"methodConfig": [{"name": [{}], "retryPolicy": {"maxAttempts": 1}}]}"#,
                "invalid service config: methodConfig[0].retryPolicy.maxAttempts: must be at least 2",
            ),
            (
                r#"{"methodConfig": [{"name": [{}], "retryPolicy": {"maxAttempts": 2, "initialBackoff": "0s"}}]}"#,
                "invalid service config: methodConfig[0].retryPolicy.initialBackoff: must be more than 0",
            ),
            (
                r#"{"methodConfig": [{"name": [{}], "retryPolicy": {"maxAttempts": 2, "initialBackoff": "1s", "maxBackoff": "2s"}}]}"#,
                "invalid service config: methodConfig[0].retryPolicy.backoffMultiplier: required",
            ),
            (
                r#"{"methodConfig": [{"name": [{}], "retryPolicy": {"maxAttempts": 2, "initialBackoff": "1s", "maxBackoff": "2s", "backoffMultiplier": 1, "retryableStatusCodes": []}}]}"#,
                "invalid service config: methodConfig[0].retryPolicy.retryableStatusCodes: must be a list of status codes, not empty",
            ),
            (
                r#"{"methodConfig": [{"name": [{}], "retryPolicy": {"maxAttempts": 2, "initialBackoff": "1s", "maxBackoff": "2s", "backoffMultiplier": 1, "retryableStatusCodes": ["SOMETIMES"]}}]}"#,
                "invalid service config: methodConfig[0].retryPolicy.retryableStatusCodes[0]: \"SOMETIMES\" is not a status code",
            ),
            (
                r#"{"methodConfig": [{"name": [{}], "hedgingPolicy": {}}]}"#,
                "invalid service config: methodConfig[0].hedgingPolicy: hedging is not supported; use a retryPolicy",
            ),
            (
                r#"{"retryThrottling": {"maxTokens": 0, "tokenRatio": 1}}"#,
                "invalid service config: retryThrottling.maxTokens: must be from 1 to 1000",
            ),
            (
                r#"{"retryThrottling": {"maxTokens": 10, "tokenRatio": 0.0001}}"#,
                "invalid service config: retryThrottling.tokenRatio: must be at least 0.001",
            ),
            (
                r#"{"methodConfig": [{"name": [{}], "maxRequestMessageBytes": -1}]}"#,
                "invalid service config: methodConfig[0].maxRequestMessageBytes: -1 is not a non-negative integer",
            ),
        ];
        for (json, expected) in cases {
            assert_eq!(error(json), expected, "{json}");
        }
    }
}
