//! Certificates made at test time: a certificate authority, and the
//! certificates it signs for servers and clients. No key is ever written
//! to the repository.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rgrpc::tls::{CertificateDer, Identity, PrivateKeyDer, Roots};

/// A certificate authority of its own.
pub struct Authority {
    issuer: Issuer<'static, KeyPair>,
    certificate: rcgen::Certificate,
}

/// A certificate an [`Authority`] signed, with its key.
pub struct Signed {
    /// The certificate, DER.
    pub certificate: CertificateDer<'static>,
    /// The certificate, PEM.
    pub certificate_pem: String,
    /// The private key, PEM (PKCS#8).
    pub key_pem: String,
    /// The private key, DER (PKCS#8).
    key_der: Vec<u8>,
}

impl Signed {
    /// The private key, DER.
    pub fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(self.key_der.clone().into())
    }

    /// The certificate and key as an identity, the chain being the
    /// certificate alone.
    pub fn identity(&self) -> Identity {
        Identity::from_pem(&self.certificate_pem, &self.key_pem).expect("a valid identity")
    }
}

/// What a certificate is for, and how long it is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    /// A server's, valid now.
    Server,
    /// A client's, valid now.
    Client,
    /// A server's that expired in 2020.
    ExpiredServer,
}

impl Authority {
    /// A new authority named `name`.
    pub fn new(name: &str) -> Self {
        let key = KeyPair::generate().expect("a key");
        let mut params = CertificateParams::new(Vec::new()).expect("no names is valid");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let certificate = params.self_signed(&key).expect("a CA certificate");
        Self {
            issuer: Issuer::new(params, key),
            certificate,
        }
    }

    /// The authority's own certificate, PEM.
    pub fn pem(&self) -> String {
        self.certificate.pem()
    }

    /// The authority, as the roots a peer trusts.
    pub fn roots(&self) -> Roots {
        Roots::from_der(vec![self.certificate.der().clone()])
    }

    /// A certificate for `names` (DNS names or IP addresses), for `usage`,
    /// with `common_name` as its subject's.
    pub fn sign(&self, common_name: &str, names: &[&str], usage: Usage) -> Signed {
        let key = KeyPair::generate().expect("a key");
        let names = names
            .iter()
            .map(|name| (*name).to_owned())
            .collect::<Vec<_>>();
        let mut params = CertificateParams::new(names).expect("valid names");
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.extended_key_usages = vec![match usage {
            Usage::Client => ExtendedKeyUsagePurpose::ClientAuth,
            Usage::Server | Usage::ExpiredServer => ExtendedKeyUsagePurpose::ServerAuth,
        }];
        if usage == Usage::ExpiredServer {
            params.not_before = rcgen::date_time_ymd(2019, 1, 1);
            params.not_after = rcgen::date_time_ymd(2020, 1, 1);
        }
        let certificate = params.signed_by(&key, &self.issuer).expect("a certificate");
        Signed {
            certificate: certificate.der().clone(),
            certificate_pem: certificate.pem(),
            key_pem: key.serialize_pem(),
            key_der: key.serialize_der(),
        }
    }
}
