//! Trusted public keys and the ed25519 signatures of narinfo files, as Nix checks them
//! (`src/libutil/signature/local-keys.cc`: `PublicKey`, `verifyDetached`): a key is
//! `name:base64(32-byte ed25519 public key)`, a signature `name:base64(64-byte signature)` of
//! the path's fingerprint ([`crate::narinfo::fingerprint`]).

use base64::Engine as _;

use crate::error::SubstituteError;

/// A public key binary caches may be signed with, as Nix's `trusted-public-keys` lists them.
#[derive(Clone, PartialEq, Eq)]
pub struct TrustedKey {
    pub name: String,
    key: [u8; 32],
}

impl std::fmt::Debug for TrustedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TrustedKey({self})")
    }
}

impl std::fmt::Display for TrustedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let key = base64::engine::general_purpose::STANDARD.encode(self.key);
        write!(f, "{}:{key}", self.name)
    }
}

impl TrustedKey {
    /// Parses `name:base64`, e.g. `cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=`.
    pub fn parse(text: &str) -> Result<TrustedKey, SubstituteError> {
        let invalid = |reason: &str| SubstituteError::InvalidKey {
            key: text.to_owned(),
            reason: reason.to_owned(),
        };
        let (name, key) = text
            .trim()
            .split_once(':')
            .ok_or_else(|| invalid("no `:` between the name and the key"))?;
        if name.is_empty() {
            return Err(invalid("the name is empty"));
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(key)
            .map_err(|_| invalid("the key is not base64"))?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| invalid("an ed25519 public key has 32 bytes"))?;
        Ok(TrustedKey {
            name: name.to_owned(),
            key,
        })
    }

    /// Whether `signature` (the raw 64 bytes) is this key's signature of `message`.
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, &self.key)
            .verify(message, signature)
            .is_ok()
    }
}

/// The outcome of checking a narinfo's `Sig` lines against the trusted keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SignatureCheck {
    /// A signature by this trusted key verifies.
    Valid(String),
    /// Signatures by trusted key names exist, and none verifies (the first such name).
    Invalid(String),
    /// No signature is by a trusted key name (the names that did sign).
    Untrusted(Vec<String>),
}

/// Checks `sigs` (`name:base64`) over `fingerprint`: valid as soon as one signature by a
/// trusted key verifies, as Nix's `checkSignatures` with a threshold of one.
pub(crate) fn check_signatures(
    fingerprint: &str,
    sigs: &[String],
    trusted: &[TrustedKey],
) -> SignatureCheck {
    let mut invalid = None;
    let mut names = Vec::new();
    for sig in sigs {
        let Some((name, encoded)) = sig.split_once(':') else {
            continue;
        };
        names.push(name.to_owned());
        let matching = trusted.iter().filter(|k| k.name == name);
        let decoded = base64::engine::general_purpose::STANDARD.decode(encoded);
        for key in matching {
            match &decoded {
                Ok(bytes) if key.verifies(fingerprint.as_bytes(), bytes) => {
                    return SignatureCheck::Valid(name.to_owned())
                }
                _ => {
                    invalid.get_or_insert_with(|| name.to_owned());
                }
            }
        }
    }
    match invalid {
        Some(name) => SignatureCheck::Invalid(name),
        None => SignatureCheck::Untrusted(names),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Signed by `nix-store --generate-binary-cache-key test-cache-1` and `nix copy` (Nix 2.8).
    const PUBLIC: &str = "test-cache-1:wytmaZ/tjG3gyJEYH4FQ7LnLt7HHtymPd4g+S8GSnYQ=";
    const FINGERPRINT: &str = "1;/nix/store/qf3g80z2c5i7ygxsz4k66z4m8jj2gls0-subst-mid;\
        sha256:0i6ch87r1v9c27xnfckhnsfsf9pbqi8gxrz373kvzqwmn7746bmz;1720;\
        /nix/store/z1wk736hlwrjllyahhaxlqqmwrq06g93-subst-leaf";
    const SIG: &str = "test-cache-1:sBAx3sDuapFz7nG/B+IqzCDkJkXNGsm1vRDP+h0Avz9xubBN5pb+f+0us/OEN6RqqnN+eGnhNL1i5T+sljpzBQ==";

    #[test]
    fn parse_keys() {
        let key = TrustedKey::parse(PUBLIC).expect("parse");
        assert_eq!(key.name, "test-cache-1");
        assert_eq!(key.to_string(), PUBLIC);
        for bad in [
            "no-colon",
            ":wytmaZ/tjG3gyJEYH4FQ7LnLt7HHtymPd4g+S8GSnYQ=",
            "name:not base64!",
            "name:AAAA",
        ] {
            let err = TrustedKey::parse(bad).expect_err(bad);
            assert!(matches!(err, SubstituteError::InvalidKey { .. }), "{bad}");
        }
    }

    #[test]
    fn nix_signature_verifies() {
        let key = TrustedKey::parse(PUBLIC).expect("parse");
        let sigs = vec![SIG.to_owned()];
        assert_eq!(
            check_signatures(FINGERPRINT, &sigs, std::slice::from_ref(&key)),
            SignatureCheck::Valid("test-cache-1".to_owned())
        );
        // Another fingerprint (the NAR size changed): the signature does not verify.
        let altered = FINGERPRINT.replace(";1720;", ";1721;");
        assert_eq!(
            check_signatures(&altered, &sigs, std::slice::from_ref(&key)),
            SignatureCheck::Invalid("test-cache-1".to_owned())
        );
        // A key of the same name but other bytes.
        let impostor =
            TrustedKey::parse("test-cache-1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
                .expect("parse");
        assert_eq!(
            check_signatures(FINGERPRINT, &sigs, std::slice::from_ref(&impostor)),
            SignatureCheck::Invalid("test-cache-1".to_owned())
        );
        // One good signature among bad ones is enough; garbage lines are skipped.
        let many = vec![
            "garbage".to_owned(),
            "test-cache-1:bm90IGEgc2lnbmF0dXJl".to_owned(),
            SIG.to_owned(),
        ];
        assert!(matches!(
            check_signatures(FINGERPRINT, &many, &[impostor, key]),
            SignatureCheck::Valid(_)
        ));
    }

    #[test]
    fn untrusted_and_unsigned() {
        let other =
            TrustedKey::parse("other:wytmaZ/tjG3gyJEYH4FQ7LnLt7HHtymPd4g+S8GSnYQ=").expect("parse");
        assert_eq!(
            check_signatures(FINGERPRINT, &[SIG.to_owned()], std::slice::from_ref(&other)),
            SignatureCheck::Untrusted(vec!["test-cache-1".to_owned()])
        );
        assert_eq!(
            check_signatures(FINGERPRINT, &[], &[other]),
            SignatureCheck::Untrusted(vec![])
        );
    }
}
