//! API tokens: `glt_<id>_<secret>`. The id is public (it names the token in lists,
//! the audit log and revocations); only a SHA-256 of the secret is stored, so a copy
//! of the database does not hold usable tokens.

use rand::RngCore;
use sha2::{Digest, Sha256};

pub const TOKEN_PREFIX: &str = "glt_";

/// A token as issued: `token` is shown once, `secret_hash` is what is stored.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub id: String,
    pub secret_hash: String,
    pub token: String,
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// A new token with 256 random bits of secret.
pub fn generate_token() -> IssuedToken {
    let id = random_hex(8);
    let secret = random_hex(32);
    IssuedToken {
        token: format!("{TOKEN_PREFIX}{id}_{secret}"),
        secret_hash: hash_secret(&secret),
        id,
    }
}

/// The id and secret of a well-formed token.
pub fn parse_token(token: &str) -> Option<(&str, &str)> {
    let rest = token.strip_prefix(TOKEN_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hex(id, 16) && hex(secret, 64)).then_some((id, secret))
}

pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Compares secrets in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_parse_and_match_their_hash() {
        let t = generate_token();
        let (id, secret) = parse_token(&t.token).unwrap();
        assert_eq!(id, t.id);
        assert_eq!(hash_secret(secret), t.secret_hash);
        assert!(!t.secret_hash.contains(secret));
        assert_ne!(generate_token().token, t.token);
    }

    #[test]
    fn malformed_tokens_are_rejected() {
        for bad in [
            "",
            "glt_",
            "glt_abc_def",
            "Bearer glt_0123456789abcdef_00",
            &format!("glt_0123456789abcdeg_{}", "0".repeat(64)),
            &format!("xyz_0123456789abcdef_{}", "0".repeat(64)),
        ] {
            assert!(parse_token(bad).is_none(), "{bad}");
        }
        assert!(parse_token(&format!("glt_0123456789abcdef_{}", "a".repeat(64))).is_some());
    }

    #[test]
    fn constant_time_comparison_compares() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
