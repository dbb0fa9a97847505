//! The echo service over TLS, with certificates made at start-up: a
//! certificate authority of its own, and a certificate it signs for
//! `localhost`. The server shows that certificate; the client trusts the
//! authority alone, as a client of a private deployment does. A client
//! that trusts another authority is refused. The keys stay in memory.
//!
//! `cargo run -p rgrpc-examples --bin tls_echo`

use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rgrpc::server::ResponseSink;
use rgrpc::tls::{ClientTls, Identity, Roots, ServerTls};
use rgrpc::{Channel, Request, Response, Server, Status};
use rgrpc_examples::pb::echo::{Echo, EchoClient, EchoRequest, EchoResponse, EchoServer};

/// The server side: echoes what it receives.
struct EchoService;

fn reply(message: impl Into<String>) -> EchoResponse {
    EchoResponse {
        message: message.into(),
        ..Default::default()
    }
}

impl Echo for EchoService {
    async fn echo_message(
        &self,
        request: Request<EchoRequest>,
    ) -> Result<Response<EchoResponse>, Status> {
        Ok(Response::new(reply(&request.message().message)))
    }

    async fn echo_server_streaming(
        &self,
        request: Request<EchoRequest>,
        mut responses: ResponseSink<EchoResponse>,
    ) -> Result<(), Status> {
        for i in 1..=3 {
            responses
                .send(&reply(format!("{} #{i}", request.message().message)))
                .await?;
        }
        Ok(())
    }
}

fn request(message: &str) -> EchoRequest {
    EchoRequest {
        message: message.into(),
        ..Default::default()
    }
}

/// A certificate authority: its certificate, which clients trust, and the
/// key it signs with.
fn certificate_authority(name: &str) -> Result<CertifiedIssuer<'static, KeyPair>, rcgen::Error> {
    let mut params = CertificateParams::new(Vec::new())?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    CertifiedIssuer::self_signed(params, KeyPair::generate()?)
}

/// A server certificate for `localhost` that `authority` signs, with its
/// key: the identity the server shows.
fn localhost_identity(
    authority: &CertifiedIssuer<'static, KeyPair>,
) -> Result<Identity, Box<dyn std::error::Error>> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(vec!["localhost".to_owned()])?;
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let certificate = params.signed_by(&key, authority)?;
    Ok(Identity::from_pem(certificate.pem(), key.serialize_pem())?)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let authority = certificate_authority("rgrpc example CA")?;
    let identity = localhost_identity(&authority)?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = Server::builder()
        .tls(ServerTls::new(identity))?
        .add_service(EchoServer::new(EchoService))
        .build();
    let serving = tokio::spawn(server.serve_with_shutdown(listener, async {
        let _ = stopped.await;
    }));
    println!("TLS echo server listening on 127.0.0.1:{port}");

    // The client trusts the authority's certificate, as PEM, the form a
    // client reads from a file. The target's host, localhost, is the name
    // the server's certificate must carry. `tls` secures any target; an
    // https:// one would also load the system's roots, which this client
    // does not use and a fresh machine may not have.
    let target = format!("localhost:{port}");
    let roots = Roots::from_pem(authority.pem())?;
    let channel = Channel::builder(&target)?
        .tls(ClientTls::new().roots(roots))?
        .connect()
        .await?;
    let client = EchoClient::new(channel);

    println!("\n--- unary ---");
    let response = client
        .echo_message(request("hello over TLS"))
        .timeout(Duration::from_secs(5))
        .await?;
    println!("response: {:?}", response.message().message);

    println!("\n--- server streaming ---");
    let mut stream = client.echo_server_streaming(request("tick")).await?;
    while let Some(message) = stream.recv().await? {
        println!("received: {:?}", message.message);
    }

    println!("\n--- a client that trusts another authority ---");
    let stranger = Roots::from_pem(certificate_authority("another CA")?.pem())?;
    let channel = Channel::builder(&target)?
        .tls(ClientTls::new().roots(stranger))?
        .connect_lazy();
    match EchoClient::new(channel)
        .echo_message(request("hello?"))
        .await
    {
        Ok(_) => {
            return Err("a client that does not trust the server's authority got an answer".into());
        }
        Err(status) => println!("refused: {status}"),
    }

    let _ = stop.send(());
    serving.await??;
    println!("\nserver stopped");
    Ok(())
}
