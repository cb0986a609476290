//! PKCE verifier/challenge and the `state` value, as Codex makes them.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A PKCE pair.
pub struct Pkce {
    /// 64 random bytes, base64url without padding (86 characters).
    pub verifier: String,
    /// `base64url_nopad(SHA256(verifier))`, method S256.
    pub challenge: String,
}

impl Pkce {
    /// A fresh random pair.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 64];
        rand::rng().fill_bytes(&mut bytes);
        let verifier = URL_SAFE_NO_PAD.encode(bytes);
        let challenge = challenge_for(&verifier);
        Self {
            verifier,
            challenge,
        }
    }
}

/// The S256 challenge of a verifier.
pub fn challenge_for(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A random `state`: 32 bytes, base64url without padding.
pub fn random_state() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_match_codex() {
        let p = Pkce::generate();
        assert_eq!(p.verifier.len(), 86);
        assert_eq!(p.challenge, challenge_for(&p.verifier));
        assert_eq!(random_state().len(), 43);
        assert_ne!(Pkce::generate().verifier, p.verifier);
        // Reference value from Python's hashlib + base64.urlsafe_b64encode, padding stripped.
        assert_eq!(
            challenge_for("dBjftJeZ4CVP-mJ92K8cFbUi-ZZgEgWkRIsQbCkAD9Y"),
            "MojYNIxlAHiqbx-L9JYve0m4CLA0946T0GHun1soEFQ"
        );
    }
}
