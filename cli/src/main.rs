//! `rgrpc-cli`: explores any gRPC server that offers reflection, and calls
//! its methods with JSON, from the descriptors it sends, as grpcurl does.

mod call;
mod pool;
mod reflect;

use std::process::ExitCode;
use std::time::Duration;

use call::Invocation;
use pool::Pool;
use reflect::{Failure, Reflector};
use rgrpc::tls::{ClientTls, Roots};
use rgrpc::{Channel, Code};

const HELP: &str = "\
rgrpc-cli: explores a gRPC server through its reflection service, and
calls its methods with JSON.

Usage:
    rgrpc-cli [OPTIONS] ADDRESS list [SERVICE]
    rgrpc-cli [OPTIONS] ADDRESS describe [SYMBOL]
    rgrpc-cli [OPTIONS] ADDRESS call METHOD

    list               the server's services, one a line
    list SERVICE       the service's methods, by full name
    describe           every service, as .proto text
    describe SYMBOL    a service, method, message, field, enum or enum value
    call METHOD        calls METHOD (pkg.Service/Method or pkg.Service.Method)
                       with the requests of -d, and prints each response, in
                       proto3's JSON mapping

ADDRESS is host:port (plaintext), http://host:port, or https://host:port
(TLS, trusting the system's certificate authorities).

Options:
    -d, --data JSON    call's requests: JSON objects one after another (none,
                       one, or a stream's); @FILE reads them from FILE, @-
                       from stdin; without -d, a call of one request sends {}
                       and a stream of them sends none
    -H, --header 'NAME: VALUE'
                       request metadata for call; repeat for more
    --emit-defaults    call prints fields that hold their default value too
    --cacert FILE      trust the certificate authorities in FILE (PEM) for TLS
    --timeout SECS     give up after SECS seconds (default: 10); for call, the
                       wait for reflection, and the call's deadline when given
    -h, --help         print this help
    -V, --version      print the version
";

/// A command line, parsed.
struct Command {
    address: String,
    cacert: Option<String>,
    timeout: Duration,
    /// Whether `--timeout` was given.
    timeout_given: bool,
    action: Action,
}

enum Action {
    List(Option<String>),
    Describe(Option<String>),
    Call(Invocation),
}

/// What went wrong, and the exit code that says so.
struct Failed(String, u8);

fn usage(message: impl Into<String>) -> Failed {
    Failed(format!("{}\n\n{HELP}", message.into()), 2)
}

fn parse(args: Vec<String>) -> Result<Option<Command>, Failed> {
    let mut cacert = None;
    let mut timeout = Duration::from_secs(10);
    let mut timeout_given = false;
    let mut data = None;
    let mut headers = Vec::new();
    let mut emit_defaults = false;
    let mut rest = Vec::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "-d" | "--data" => {
                data = Some(args.next().ok_or_else(|| usage("-d needs JSON"))?);
            }
            "-H" | "--header" => {
                let header = args.next().ok_or_else(|| usage("-H needs NAME: VALUE"))?;
                let (name, value) = header
                    .split_once(':')
                    .ok_or_else(|| usage(format!("-H {header}: expected NAME: VALUE")))?;
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
            "--emit-defaults" => emit_defaults = true,
            "--cacert" => {
                cacert = Some(args.next().ok_or_else(|| usage("--cacert needs a file"))?);
            }
            "--timeout" => {
                let value = args
                    .next()
                    .ok_or_else(|| usage("--timeout needs seconds"))?;
                let seconds = value
                    .parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && *s > 0.0)
                    .ok_or_else(|| usage(format!("--timeout {value}: expected seconds")))?;
                timeout = Duration::from_secs_f64(seconds);
                timeout_given = true;
            }
            flag if flag.starts_with('-') => return Err(usage(format!("unknown option {flag}"))),
            _ => rest.push(arg),
        }
    }
    let mut rest = rest.into_iter();
    let address = rest.next().ok_or_else(|| usage("no address"))?;
    let verb = rest.next().ok_or_else(|| usage("no command"))?;
    let argument = rest.next();
    if let Some(extra) = rest.next() {
        return Err(usage(format!("unexpected argument {extra}")));
    }
    let action = match verb.as_str() {
        "list" => Action::List(argument),
        "describe" => Action::Describe(argument),
        "call" => Action::Call(Invocation {
            method: argument.ok_or_else(|| usage("call needs a METHOD"))?,
            data,
            headers,
            emit_defaults,
        }),
        other => return Err(usage(format!("unknown command {other}"))),
    };
    Ok(Some(Command {
        address,
        cacert,
        timeout,
        timeout_given,
        action,
    }))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-V" || a == "--version") {
        println!("rgrpc-cli {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    let outcome = match parse(args) {
        Ok(None) => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        // A call's responses may stream for as long as it lasts: it bounds
        // its own waits.
        Ok(Some(command)) if matches!(command.action, Action::Call(_)) => run(command).await,
        Ok(Some(command)) => {
            let timeout = command.timeout;
            within(timeout, run(command))
                .await
                .and_then(|outcome| outcome)
        }
        Err(failed) => Err(failed),
    };
    match outcome {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(Failed(message, code)) => {
            eprintln!("rgrpc-cli: {message}");
            ExitCode::from(code)
        }
    }
}

/// `future`'s outcome, or a failure after `timeout`.
async fn within<T>(timeout: Duration, future: impl Future<Output = T>) -> Result<T, Failed> {
    tokio::time::timeout(timeout, future)
        .await
        .map_err(|_| Failed(format!("no answer within {} s", timeout.as_secs_f64()), 1))
}

/// Runs `command`; what to print.
async fn run(command: Command) -> Result<String, Failed> {
    let failed = |message: String| Failed(message, 1);
    let mut builder = Channel::builder(&command.address)
        .map_err(|status| usage(format!("{}: {}", command.address, status.message())))?;
    if let Some(path) = &command.cacert {
        let pem = std::fs::read(path).map_err(|err| failed(format!("{path}: {err}")))?;
        let roots = Roots::from_pem(&pem).map_err(|err| failed(format!("{path}: {err}")))?;
        builder = builder
            .tls(ClientTls::new().roots(roots))
            .map_err(|err| failed(format!("--cacert {path}: {err}")))?;
    }
    let channel = builder.connect_lazy();
    let mut reflector = Reflector::new(channel.clone());
    let reflection = |err: Failure| failed(err.to_string());
    match command.action {
        Action::List(None) => {
            let mut services = reflector.services().await.map_err(reflection)?;
            services.sort();
            Ok(services.iter().map(|s| format!("{s}\n")).collect())
        }
        Action::List(Some(service)) => {
            let pool = load(&mut reflector, &service).await?;
            match pool.find(&service) {
                Some(pool::Found::Service(found)) => Ok(found
                    .method
                    .iter()
                    .map(|m| format!("{service}.{}\n", m.name()))
                    .collect()),
                _ => Err(failed(format!("service not found: {service}"))),
            }
        }
        Action::Describe(Some(symbol)) => {
            let pool = load(&mut reflector, &symbol).await?;
            match pool.find(&symbol) {
                Some(found) => Ok(pool.describe(&symbol, &found)),
                None => Err(failed(format!("symbol not found: {symbol}"))),
            }
        }
        Action::Call(invocation) => {
            let (service, _) = invocation.service_and_method().map_err(usage)?;
            let pool = within(command.timeout, load(&mut reflector, service)).await??;
            let deadline = command.timeout_given.then_some(command.timeout);
            call::call(&channel, &pool, &invocation, deadline)
                .await
                .map_err(failed)?;
            Ok(String::new())
        }
        Action::Describe(None) => {
            let mut services = reflector.services().await.map_err(reflection)?;
            services.sort();
            let mut text = String::new();
            for service in services {
                let pool = load(&mut reflector, &service).await?;
                match pool.find(&service) {
                    Some(found) => text.push_str(&pool.describe(&service, &found)),
                    None => return Err(failed(format!("symbol not found: {service}"))),
                }
            }
            Ok(text)
        }
    }
}

/// The files declaring `symbol` and all they import. A server that does not
/// find a method or a field by name is asked for what declares it.
async fn load(reflector: &mut Reflector, symbol: &str) -> Result<Pool, Failed> {
    let mut pool = Pool::default();
    let mut asked = symbol.trim_start_matches('.');
    loop {
        match reflector.file_containing(asked).await {
            Ok(files) => {
                pool.add(files);
                break;
            }
            Err(Failure::Answered(Code::NotFound, _)) => match asked.rsplit_once('.') {
                Some((parent, _)) => asked = parent,
                None => return Err(Failed(format!("symbol not found: {symbol}"), 1)),
            },
            Err(err) => return Err(Failed(err.to_string(), 1)),
        }
    }
    // Servers send the imports with a file; one that does not is asked.
    loop {
        let missing = pool.missing_imports();
        if missing.is_empty() {
            return Ok(pool);
        }
        for name in missing {
            let files = reflector
                .file_by_name(&name)
                .await
                .map_err(|err| Failed(format!("{name}: {err}"), 1))?;
            if !files.iter().any(|f| f.name() == name) {
                return Err(Failed(format!("the server did not send {name}"), 1));
            }
            pool.add(files);
        }
    }
}
