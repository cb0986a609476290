//! Which roots a server's certificate must chain to: the bundled webpki roots, the
//! system's trust store, and the extra roots of a company (its TLS-inspecting gateway's
//! CA) from a PEM file. The bundled and system roots are read once per process.

use super::NetError;
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use std::sync::{Arc, OnceLock};

/// Extra root certificates read from a PEM file.
#[derive(Debug, Clone)]
pub struct ExtraRoots {
    path: String,
    source_name: String,
    certificates: Vec<CertificateDer<'static>>,
}

impl ExtraRoots {
    /// Reads every `CERTIFICATE` block of the PEM file at `path`, set by `source_name`; a
    /// missing or unreadable file, or one without a certificate, is an error naming both.
    pub(super) fn load(path: &str, source_name: String) -> Result<Self, NetError> {
        let fail = |detail: String| NetError::CaFile {
            source_name: source_name.clone(),
            path: path.to_owned(),
            detail,
        };
        let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
        let certificates = CertificateDer::pem_slice_iter(&bytes)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| fail(format!("not valid PEM ({e})")))?;
        if certificates.is_empty() {
            return Err(fail("it holds no certificate".into()));
        }
        let mut check = RootCertStore::empty();
        for (i, cert) in certificates.iter().enumerate() {
            check
                .add(cert.clone())
                .map_err(|e| fail(format!("certificate #{} can't be a root ({e})", i + 1)))?;
        }
        Ok(Self {
            path: path.to_owned(),
            source_name,
            certificates,
        })
    }

    /// The file.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// How many certificates it holds.
    pub fn count(&self) -> usize {
        self.certificates.len()
    }

    /// The variable or `state.json` key that set it.
    pub fn source_name(&self) -> &str {
        &self.source_name
    }

    /// `PATH, N certificate(s) (SOURCE)`.
    pub(super) fn describe(&self) -> String {
        let n = self.count();
        let noun = if n == 1 {
            "certificate"
        } else {
            "certificates"
        };
        format!("{}, {n} {noun} ({})", self.path, self.source_name)
    }
}

/// The bundled roots and the system's, read once.
fn base_roots() -> &'static RootCertStore {
    static ROOTS: OnceLock<RootCertStore> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let native = rustls_native_certs::load_native_certs();
        for e in &native.errors {
            tracing::debug!(error = %e, "a system root certificate store could not be read");
        }
        let (added, ignored) = roots.add_parsable_certificates(native.certs);
        tracing::debug!(added, ignored, "system root certificates");
        roots
    })
}

/// The client configurations for HTTP (ALPN `h2`, `http/1.1`) and for WebSockets (ALPN
/// `http/1.1`), trusting the base roots and `extra`.
pub(super) fn client_configs(
    extra: Option<&ExtraRoots>,
) -> Result<(Arc<rustls::ClientConfig>, Arc<rustls::ClientConfig>), NetError> {
    let mut roots = base_roots().clone();
    if let Some(extra) = extra {
        roots.add_parsable_certificates(extra.certificates.iter().cloned());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let base = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| NetError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut http = base.clone();
    http.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let mut websocket = base;
    websocket.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((Arc::new(http), Arc::new(websocket)))
}
