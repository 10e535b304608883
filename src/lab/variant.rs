//! Per-student variants: a lab's seed derived from (lab, student id, course
//! secret) with HMAC-SHA256, and a short variant code from a second, separately
//! labelled HMAC. Without the secret neither can be computed, and the code
//! says nothing about the seed: they are independent outputs of a keyed PRF.
//!
//! Without a secret, the *public* derivation uses the fixed key
//! [`PUBLIC_KEY`]. Anyone can recompute those variants; distlab warns.

use super::Lab;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The key of the public derivation, used when no course secret is set.
pub const PUBLIC_KEY: &[u8] = b"distlab public variants";

/// Labels that keep the seed and the code independent of each other.
const SEED_LABEL: &str = "distlab seed v1";
const CODE_LABEL: &str = "distlab variant v1";

/// Longest student id accepted, in characters.
const MAX_ID: usize = 128;

/// A course secret, or none (the public derivation).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Option<Vec<u8>>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret itself.
        f.write_str(if self.0.is_some() { "Secret(set)" } else { "Secret(public)" })
    }
}

impl Secret {
    pub fn public() -> Secret {
        Secret(None)
    }

    /// A secret from its text; surrounding whitespace (a file's trailing
    /// newline) is not part of it.
    pub fn new(text: &[u8]) -> Result<Secret, String> {
        let trimmed = text.trim_ascii();
        if trimmed.is_empty() {
            return Err("the course secret is empty".into());
        }
        Ok(Secret(Some(trimmed.to_vec())))
    }

    pub fn is_public(&self) -> bool {
        self.0.is_none()
    }

    fn key(&self) -> &[u8] {
        self.0.as_deref().unwrap_or(PUBLIC_KEY)
    }
}

/// A student's variant of a lab.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Variant {
    /// The normalised student id.
    pub student: String,
    pub seed: u64,
    /// Eight characters to print on the sheet in place of the seed.
    pub code: String,
}

/// Student ids compare without regard to case or outer spaces, so
/// `JDoe` and `jdoe ` are the same student.
pub fn normalize_student(id: &str) -> Result<String, String> {
    let id = id.trim().to_lowercase();
    if id.is_empty() {
        return Err("a student id cannot be empty".into());
    }
    if id.chars().count() > MAX_ID {
        return Err(format!("a student id is at most {MAX_ID} characters"));
    }
    if id.chars().any(char::is_control) {
        return Err("a student id cannot contain control characters".into());
    }
    Ok(id)
}

fn mac(secret: &Secret, label: &str, lab: &Lab, student: &str) -> [u8; 32] {
    // HMAC accepts a key of any length, so this cannot fail.
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret.key()).unwrap_or_else(|_| unreachable!());
    // NUL-separated fields: no two (lab, student) pairs give the same message.
    for part in [label, &lab.code(), student] {
        m.update(part.as_bytes());
        m.update(&[0]);
    }
    m.finalize().into_bytes().into()
}

/// Derives `student`'s variant of `lab`.
pub fn derive(lab: &Lab, student: &str, secret: &Secret) -> Result<Variant, String> {
    let student = normalize_student(student)?;
    let s = mac(secret, SEED_LABEL, lab, &student);
    let mut seed = [0u8; 8];
    seed.copy_from_slice(&s[..8]);
    let c = mac(secret, CODE_LABEL, lab, &student);
    Ok(Variant { seed: u64::from_be_bytes(seed), code: base32(&c[..5]), student })
}

/// Crockford's base32 alphabet in lower case: no i, l, o or u to misread.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

fn base32(bytes: &[u8]) -> String {
    let mut bits: u64 = 0;
    let mut n = 0;
    let mut out = String::new();
    for b in bytes {
        bits = (bits << 8) | u64::from(*b);
        n += 8;
        while n >= 5 {
            n -= 5;
            out.push(ALPHABET[((bits >> n) & 31) as usize] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab() -> Lab {
        super::super::catalog::resolve("2").unwrap()
    }

    #[test]
    fn variants_differ_by_student_lab_and_secret_and_are_stable() {
        let k = Secret::new(b"course secret\n").unwrap();
        let a = derive(&lab(), "alice", &k).unwrap();
        assert_eq!(a, derive(&lab(), " Alice ", &k).unwrap(), "ids are normalised");
        assert_ne!(a.seed, derive(&lab(), "bob", &k).unwrap().seed);
        assert_ne!(a.seed, derive(&lab(), "alice", &Secret::public()).unwrap().seed);
        assert_ne!(a.seed, derive(&super::super::catalog::resolve("1").unwrap(), "alice", &k).unwrap().seed);
        assert_eq!(a.code.len(), 8);
        assert!(a.code.bytes().all(|c| ALPHABET.contains(&c)));
        // The code is not a rendering of the seed.
        assert!(!a.seed.to_string().contains(&a.code) && !format!("{:x}", a.seed).contains(&a.code));
    }

    #[test]
    fn known_answer_pins_the_derivation() {
        // Changing the derivation would silently re-deal every class's
        // variants: this pins it.
        let v = derive(&lab(), "jdoe", &Secret::new(b"s3cret").unwrap()).unwrap();
        let p = derive(&lab(), "jdoe", &Secret::public()).unwrap();
        assert_eq!((v.seed, v.code.as_str()), (KNOWN_SECRET.0, KNOWN_SECRET.1));
        assert_eq!((p.seed, p.code.as_str()), (KNOWN_PUBLIC.0, KNOWN_PUBLIC.1));
    }

    // Computed independently with Python's hmac module.
    const KNOWN_SECRET: (u64, &str) = (2215182461934264273, "485z41hm");
    const KNOWN_PUBLIC: (u64, &str) = (15969038258398982725, "rzj7gz32");

    #[test]
    fn bad_ids_and_secrets_are_refused() {
        assert!(normalize_student("  ").is_err());
        assert!(normalize_student("a\u{7}b").is_err());
        assert!(normalize_student(&"x".repeat(129)).is_err());
        assert!(Secret::new(b" \n").is_err());
        assert_eq!(base32(&[0xff; 5]), "zzzzzzzz");
        assert_eq!(base32(&[0; 5]), "00000000");
    }
}
