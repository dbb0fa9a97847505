//! TLS with rustls, its crypto from ring: the settings of each side, and
//! the handshake that turns a connection into an encrypted one that speaks
//! HTTP/2.
//!
//! A server takes a [`ServerTls`] ([`ServerBuilder::tls`]), a channel a
//! [`ClientTls`] ([`ChannelBuilder::tls`], or an `https://` target, which
//! trusts the system's roots). Both offer HTTP/2 alone by ALPN, as gRPC
//! requires, and a client refuses a server that does not agree to it.
//!
//! ```no_run
//! # async fn run(service: impl rgrpc::server::Service) -> Result<(), Box<dyn std::error::Error>> {
//! use rgrpc::tls::{ClientTls, Identity, Roots, ServerTls};
//!
//! let identity = Identity::from_pem(std::fs::read("server.pem")?, std::fs::read("server.key")?)?;
//! let server = rgrpc::Server::builder()
//!     .tls(ServerTls::new(identity))?
//!     .add_service(service)
//!     .build();
//! tokio::spawn(server.serve("0.0.0.0:50051"));
//!
//! let roots = Roots::from_pem(std::fs::read("ca.pem")?)?;
//! let channel = rgrpc::Channel::builder("https://localhost:50051")?
//!     .tls(ClientTls::new().roots(roots))?
//!     .connect_lazy();
//! # Ok(()) }
//! ```
//!
//! [`ServerBuilder::tls`]: crate::ServerBuilder::tls
//! [`ChannelBuilder::tls`]: crate::ChannelBuilder::tls

use std::fmt;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
#[cfg(feature = "server")]
use rustls::server::ResolvesServerCert;
#[cfg(feature = "client")]
use rustls_pki_types::ServerName;
use rustls_pki_types::pem::PemObject;
use tokio::io::{AsyncRead, AsyncWrite};

pub use rustls;
pub use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// The one application protocol gRPC speaks over TLS.
const H2: &[u8] = b"h2";

/// A TLS setting that cannot be used: a certificate or key that does not
/// parse, a key that does not fit its certificate, no roots to trust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    message: String,
}

impl Error {
    pub(crate) fn new(message: impl fmt::Display) -> Self {
        Self {
            message: message.to_string(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// A certificate chain, the end entity's first, and its private key: what
/// a server shows its clients, or a client its server under mutual TLS.
#[derive(Debug)]
pub struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl Clone for Identity {
    fn clone(&self) -> Self {
        Self {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

impl Identity {
    /// An identity from PEM: `chain` holds one or more `CERTIFICATE`
    /// blocks, the end entity's first, and `key` one private key (PKCS#8,
    /// PKCS#1 or SEC1).
    ///
    /// # Errors
    /// When either does not parse, or holds no certificate or no key.
    pub fn from_pem(chain: impl AsRef<[u8]>, key: impl AsRef<[u8]>) -> Result<Self, Error> {
        let chain = certificates_from_pem(chain.as_ref(), "the certificate chain")?;
        let key = PrivateKeyDer::from_pem_slice(key.as_ref())
            .map_err(|err| Error::new(format_args!("the private key does not parse: {err}")))?;
        Ok(Self { chain, key })
    }

    /// An identity from DER: the chain, the end entity's first, and its key.
    ///
    /// # Errors
    /// When `chain` is empty.
    pub fn from_der(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<Self, Error> {
        if chain.is_empty() {
            return Err(Error::new("the certificate chain is empty"));
        }
        Ok(Self { chain, key })
    }
}

/// The certificate authorities one side trusts to vouch for the other.
#[derive(Debug, Clone, Default)]
pub struct Roots {
    certificates: Vec<CertificateDer<'static>>,
}

impl Roots {
    /// The authorities of a PEM bundle: one or more `CERTIFICATE` blocks.
    ///
    /// # Errors
    /// When it does not parse or holds no certificate.
    pub fn from_pem(bundle: impl AsRef<[u8]>) -> Result<Self, Error> {
        let certificates = certificates_from_pem(bundle.as_ref(), "the root certificates")?;
        Ok(Self { certificates })
    }

    /// The authorities of DER certificates.
    pub fn from_der(certificates: Vec<CertificateDer<'static>>) -> Self {
        Self { certificates }
    }

    /// The system's trusted authorities (with `rustls-native-certs`: on
    /// Linux the bundle that `SSL_CERT_FILE` or OpenSSL's usual places
    /// name). Certificates the system has but that do not parse are left
    /// out.
    ///
    /// # Errors
    /// When the system's store cannot be read or holds none.
    pub fn native() -> Result<Self, Error> {
        let found = rustls_native_certs::load_native_certs();
        if found.certs.is_empty() {
            let why = found
                .errors
                .first()
                .map_or_else(|| "none were found".to_owned(), ToString::to_string);
            return Err(Error::new(format_args!(
                "the system's root certificates cannot be loaded: {why}"
            )));
        }
        Ok(Self {
            certificates: found.certs,
        })
    }

    /// The store rustls verifies with.
    fn store(&self) -> Result<RootCertStore, Error> {
        let mut store = RootCertStore::empty();
        let (added, _) = store.add_parsable_certificates(self.certificates.iter().cloned());
        if added == 0 {
            return Err(Error::new("no usable root certificate"));
        }
        Ok(store)
    }
}

/// Every certificate of a PEM text, which must hold one at least.
fn certificates_from_pem(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| Error::new(format_args!("{what} do not parse: {err}")))?;
    if certificates.is_empty() {
        return Err(Error::new(format_args!(
            "{what} hold no PEM CERTIFICATE block"
        )));
    }
    Ok(certificates)
}

/// The crypto rustls uses: ring's, chosen here rather than process-wide,
/// so that another crate's choice does not change it.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// How a server does TLS: the certificate it shows, and whether it asks
/// clients for theirs (mutual TLS).
#[cfg(feature = "server")]
#[derive(Clone)]
pub struct ServerTls {
    certificate: ServerCertificate,
    clients: Option<(Roots, bool)>,
}

#[cfg(feature = "server")]
#[derive(Clone)]
enum ServerCertificate {
    Fixed(Identity),
    Resolved(Arc<dyn ResolvesServerCert>),
}

#[cfg(feature = "server")]
impl ServerTls {
    /// A server that shows `identity`, and does not ask clients for a
    /// certificate.
    pub fn new(identity: Identity) -> Self {
        Self {
            certificate: ServerCertificate::Fixed(identity),
            clients: None,
        }
    }

    /// A server whose certificate `resolver` chooses for each handshake:
    /// one that can change without a restart (a renewed certificate, read
    /// again), or depend on the name the client asks for.
    pub fn with_resolver(resolver: Arc<dyn ResolvesServerCert>) -> Self {
        Self {
            certificate: ServerCertificate::Resolved(resolver),
            clients: None,
        }
    }

    /// Requires every client to show a certificate that one of `roots`
    /// vouches for (mutual TLS); a client without one fails its handshake.
    pub fn client_roots(mut self, roots: Roots) -> Self {
        self.clients = Some((roots, false));
        self
    }

    /// Asks clients for a certificate that one of `roots` vouches for, and
    /// serves those that show none as well; one that shows a certificate
    /// the roots do not vouch for fails its handshake.
    pub fn optional_client_roots(mut self, roots: Roots) -> Self {
        self.clients = Some((roots, true));
        self
    }

    /// rustls's configuration of it.
    pub(crate) fn acceptor(&self) -> Result<Acceptor, Error> {
        let provider = provider();
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(Error::new)?;
        let builder = match &self.clients {
            None => builder.with_no_client_auth(),
            Some((roots, optional)) => {
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots.store()?),
                    provider,
                );
                let verifier = if *optional {
                    verifier.allow_unauthenticated()
                } else {
                    verifier
                };
                builder.with_client_cert_verifier(verifier.build().map_err(Error::new)?)
            }
        };
        let mut config = match &self.certificate {
            ServerCertificate::Fixed(identity) => builder
                .with_single_cert(identity.chain.clone(), identity.key.clone_key())
                .map_err(|err| {
                    Error::new(format_args!("the server's identity cannot be used: {err}"))
                })?,
            ServerCertificate::Resolved(resolver) => builder.with_cert_resolver(resolver.clone()),
        };
        config.alpn_protocols = vec![H2.to_vec()];
        Ok(Acceptor(tokio_rustls::TlsAcceptor::from(Arc::new(config))))
    }
}

#[cfg(feature = "server")]
impl fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let certificate = match &self.certificate {
            ServerCertificate::Fixed(_) => "fixed",
            ServerCertificate::Resolved(_) => "resolved",
        };
        f.debug_struct("ServerTls")
            .field("certificate", &certificate)
            .field(
                "client_roots",
                &self.clients.as_ref().map(|(roots, _)| roots),
            )
            .field(
                "client_optional",
                &self.clients.as_ref().is_some_and(|(_, optional)| *optional),
            )
            .finish()
    }
}

/// How a channel does TLS: the authorities it trusts, the certificate it
/// shows if the server asks (mutual TLS), and the name it expects the
/// server's certificate to carry.
#[cfg(feature = "client")]
#[derive(Debug, Clone, Default)]
pub struct ClientTls {
    roots: Option<Roots>,
    identity: Option<Identity>,
    server_name: Option<String>,
}

#[cfg(feature = "client")]
impl ClientTls {
    /// Trusts the system's authorities ([`Roots::native`]), shows no
    /// certificate, and expects the server's to name the target's host.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts `roots` instead of the system's authorities.
    pub fn roots(mut self, roots: Roots) -> Self {
        self.roots = Some(roots);
        self
    }

    /// Shows `identity` to a server that asks for a client certificate.
    pub fn identity(mut self, identity: Identity) -> Self {
        self.identity = Some(identity);
        self
    }

    /// The name sent by SNI and checked against the server's certificate,
    /// instead of the target's host: for a server reached by an address
    /// its certificate does not name (grpc-go's `server_host_override`).
    pub fn server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }

    /// rustls's configuration of it, for a server whose host is `host`
    /// unless a name was given.
    pub(crate) fn connector(&self, host: &str) -> Result<Connector, Error> {
        let roots = match &self.roots {
            Some(roots) => roots.store()?,
            None => Roots::native()?.store()?,
        };
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(Error::new)?
            .with_root_certificates(roots);
        let mut config = match &self.identity {
            None => builder.with_no_client_auth(),
            Some(identity) => builder
                .with_client_auth_cert(identity.chain.clone(), identity.key.clone_key())
                .map_err(|err| {
                    Error::new(format_args!("the client's identity cannot be used: {err}"))
                })?,
        };
        config.alpn_protocols = vec![H2.to_vec()];
        let name = self.server_name.as_deref().unwrap_or(host);
        // An IPv6 address, as an authority writes it.
        let name = name
            .strip_prefix('[')
            .and_then(|name| name.strip_suffix(']'))
            .unwrap_or(name);
        let name = ServerName::try_from(name.to_owned())
            .map_err(|_| Error::new(format_args!("{name:?} is not a valid TLS server name")))?;
        Ok(Connector {
            connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
            name,
        })
    }
}

/// A server's TLS, ready to accept connections.
#[cfg(feature = "server")]
#[derive(Clone)]
pub(crate) struct Acceptor(tokio_rustls::TlsAcceptor);

#[cfg(feature = "server")]
impl fmt::Debug for Acceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Acceptor")
    }
}

#[cfg(feature = "server")]
impl Acceptor {
    /// The server's side of the TLS handshake over `io`, and the
    /// certificates the client showed, if any.
    ///
    /// # Errors
    /// Why the handshake failed.
    pub(crate) async fn accept<IO>(
        &self,
        io: IO,
    ) -> std::io::Result<(
        tokio_rustls::server::TlsStream<IO>,
        Option<Arc<[CertificateDer<'static>]>>,
    )>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let stream = self.0.accept(io).await?;
        let certificates = stream.get_ref().1.peer_certificates().map(Arc::from);
        Ok((stream, certificates))
    }
}

/// A channel's TLS, ready to connect.
#[cfg(feature = "client")]
#[derive(Clone)]
pub(crate) struct Connector {
    connector: tokio_rustls::TlsConnector,
    name: ServerName<'static>,
}

#[cfg(feature = "client")]
impl Connector {
    /// The client's side of the TLS handshake over `io`, which must agree
    /// on HTTP/2.
    ///
    /// # Errors
    /// UNAVAILABLE, saying why, when the handshake fails or the server does
    /// not agree on HTTP/2.
    pub(crate) async fn connect<IO>(
        &self,
        io: IO,
    ) -> Result<tokio_rustls::client::TlsStream<IO>, crate::Status>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let stream = self
            .connector
            .connect(self.name.clone(), io)
            .await
            .map_err(|err| crate::Status::unavailable(handshake_failure(&err)))?;
        if stream.get_ref().1.alpn_protocol() != Some(H2) {
            return Err(crate::Status::unavailable(
                "the server did not agree on HTTP/2 during the TLS handshake (ALPN h2): \
                 it is not a gRPC server, or not one that speaks TLS properly",
            ));
        }
        Ok(stream)
    }
}

#[cfg(feature = "client")]
/// Why a client's TLS handshake failed, with a hint when the server seems
/// not to speak TLS at all.
fn handshake_failure(err: &std::io::Error) -> String {
    let plaintext = match err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(rustls::Error::InvalidMessage(_)) => true,
        Some(_) => false,
        None => err.kind() == std::io::ErrorKind::UnexpectedEof,
    };
    if plaintext {
        format!(
            "TLS handshake failed: {err}; the server does not seem to speak TLS \
             (a plaintext server wants http://, without TLS)"
        )
    } else {
        format!("TLS handshake failed: {err}")
    }
}

/// What a failure of an established TLS connection means to a client: the
/// server refuses its certificate, or wants one, when it says so by an
/// alert (which TLS 1.3 sends after the handshake).
#[cfg(feature = "client")]
pub(crate) fn explain(err: &std::io::Error) -> String {
    use rustls::AlertDescription::{
        BadCertificate, CertificateExpired, CertificateRequired, CertificateRevoked,
        CertificateUnknown, UnknownCA, UnsupportedCertificate,
    };
    let alert = match err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(rustls::Error::AlertReceived(alert)) => *alert,
        _ => return err.to_string(),
    };
    match alert {
        CertificateRequired => format!(
            "the server requires a client certificate, and this channel shows none \
             (ClientTls::identity): {err}"
        ),
        BadCertificate
        | UnsupportedCertificate
        | CertificateRevoked
        | CertificateExpired
        | CertificateUnknown
        | UnknownCA => {
            format!("the server refused this channel's client certificate: {err}")
        }
        _ => err.to_string(),
    }
}
