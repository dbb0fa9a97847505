//! `call`: one call of any of the four shapes, its requests read from JSON
//! and its responses written as JSON, by the descriptors the server's
//! reflection sent.

use std::io::Write;

use rgrpc::client::{CallOptions, bidi_streaming, client_streaming, server_streaming, unary};
use rgrpc::json::{ParseOptions, PrintOptions, Registry};
use rgrpc::wkt::Empty;
use rgrpc::{Channel, Message, Request, Status};

use crate::pool::Pool;

/// What to call, and with what.
pub struct Invocation {
    /// The method, `pkg.Service/Method` or `pkg.Service.Method`.
    pub method: String,
    /// The request messages in JSON, one after another, if given.
    pub data: Option<String>,
    /// Request metadata.
    pub headers: Vec<(String, String)>,
    /// Whether to print fields that hold their default value.
    pub emit_defaults: bool,
}

impl Invocation {
    /// The service and the method's own name.
    pub fn service_and_method(&self) -> Result<(&str, &str), String> {
        let method = self.method.trim_start_matches('.');
        method
            .split_once('/')
            .or_else(|| method.rsplit_once('.'))
            .filter(|(service, name)| !service.is_empty() && !name.is_empty())
            .ok_or_else(|| {
                format!(
                    "{}: expected a method as pkg.Service/Method or pkg.Service.Method",
                    self.method
                )
            })
    }
}

/// Messages kept encoded: `Empty` keeps every field as one it does not
/// know, and writes them back unchanged.
type Encoded = Empty;

/// Makes the call described by `invocation` on `channel`, with the types
/// in `pool`, within `deadline` if there is one, printing each response as
/// it comes.
///
/// # Errors
/// A request that is not its type in JSON, metadata that is not valid, or
/// the call's failure.
pub async fn call(
    channel: &Channel,
    pool: &Pool,
    invocation: &Invocation,
    deadline: Option<std::time::Duration>,
) -> Result<(), String> {
    let (service, name) = invocation.service_and_method()?;
    let method = pool
        .method(service, name)
        .ok_or_else(|| format!("method not found: {service}/{name}"))?;
    let mut registry = Registry::new();
    for file in pool.files() {
        registry
            .add_encoded(&file.encode_to_vec())
            .map_err(|err| format!("{}: {err}", file.name()))?;
    }
    let input = method.input_type().trim_start_matches('.');
    let output = method.output_type().trim_start_matches('.');
    let requests = requests(&registry, input, invocation.data.as_deref())?;
    let mut options = CallOptions::default();
    if let Some(deadline) = deadline {
        options = options.timeout(deadline);
    }
    for (key, value) in &invocation.headers {
        options
            .metadata_mut()
            .insert(key, value.clone())
            .map_err(|err| format!("-H {key}: {err}"))?;
    }
    // One path for the whole process, which makes one call.
    let path: &'static str = Box::leak(format!("/{service}/{name}").into_boxed_str());
    let print = Printer {
        registry: &registry,
        output,
        options: PrintOptions::default()
            .always_print_fields_without_presence(invocation.emit_defaults),
    };
    let failed = |status: Status| status.to_string();
    let streaming = (method.client_streaming(), method.server_streaming());
    match streaming {
        (false, _) => {
            let request = match <[Encoded; 1]>::try_from(requests) {
                Ok([request]) => request,
                Err(requests) if requests.is_empty() => Encoded::default(),
                Err(requests) => {
                    return Err(format!(
                        "{service}/{name} takes one request; -d gave {}",
                        requests.len()
                    ));
                }
            };
            let request = Request::new(request);
            if streaming.1 {
                let mut responses = server_streaming::<Encoded, Encoded>(channel, path, request)
                    .with_options(options)
                    .await
                    .map_err(failed)?;
                while let Some(response) = responses.recv().await.map_err(failed)? {
                    print.response(&response)?;
                }
            } else {
                let response = unary::<Encoded, Encoded>(channel, path, request)
                    .with_options(options)
                    .await
                    .map_err(failed)?;
                print.response(response.message())?;
            }
        }
        (true, false) => {
            let mut call = client_streaming::<Encoded, Encoded>(channel, path)
                .with_options(options)
                .await
                .map_err(failed)?;
            for request in &requests {
                call.send(request).await.map_err(failed)?;
            }
            let response = call.close_and_recv().await.map_err(failed)?;
            print.response(response.message())?;
        }
        (true, true) => {
            let mut call = bidi_streaming::<Encoded, Encoded>(channel, path)
                .with_options(options)
                .await
                .map_err(failed)?;
            for request in &requests {
                call.send(request).await.map_err(failed)?;
            }
            call.close_send().await.map_err(failed)?;
            while let Some(response) = call.recv().await.map_err(failed)? {
                print.response(&response)?;
            }
        }
    }
    Ok(())
}

/// The request messages `data` holds in JSON, of type `input`, encoded;
/// none without data.
fn requests(registry: &Registry, input: &str, data: Option<&str>) -> Result<Vec<Encoded>, String> {
    let Some(data) = data else {
        return Ok(Vec::new());
    };
    let text = match data.strip_prefix('@') {
        Some("-") => {
            std::io::read_to_string(std::io::stdin()).map_err(|err| format!("stdin: {err}"))?
        }
        Some(file) => std::fs::read_to_string(file).map_err(|err| format!("{file}: {err}"))?,
        None => data.to_owned(),
    };
    let values = serde_json::Deserializer::from_str(&text).into_iter::<serde_json::Value>();
    let mut requests = Vec::new();
    for (i, value) in values.enumerate() {
        let which = || format!("request {} ({input})", i + 1);
        let value = value.map_err(|err| format!("{}: {err}", which()))?;
        let encoded = registry
            .deserialize_encoded(input, &ParseOptions::default(), value)
            .map_err(|err| format!("{}: {err}", which()))?;
        let request = Encoded::decode(&encoded).map_err(|err| format!("{}: {err}", which()))?;
        requests.push(request);
    }
    Ok(requests)
}

/// Writes responses to stdout, one JSON object each.
struct Printer<'a> {
    registry: &'a Registry,
    output: &'a str,
    options: PrintOptions,
}

impl Printer<'_> {
    fn response(&self, response: &Encoded) -> Result<(), String> {
        let mut out = Vec::new();
        self.registry
            .serialize_encoded(
                self.output,
                &response.encode_to_vec(),
                &self.options,
                &mut serde_json::Serializer::pretty(&mut out),
            )
            .map_err(|err| format!("a response ({}): {err}", self.output))?;
        out.push(b'\n');
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(&out)
            .and_then(|()| stdout.flush())
            .map_err(|err| format!("stdout: {err}"))
    }
}
