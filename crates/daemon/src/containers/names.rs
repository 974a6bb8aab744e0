//! Container identities: random 64-hex ids, generated `adjective_name` names and
//! the name rules Docker enforces.

use std::io::Read;

const ADJECTIVES: &[&str] = &[
    "agile", "amber", "brave", "bright", "calm", "clever", "cosmic", "crisp", "daring", "eager",
    "earnest", "fierce", "gentle", "glad", "golden", "happy", "hardy", "honest", "jolly", "keen",
    "kind", "lively", "lucid", "merry", "mighty", "modest", "nimble", "noble", "patient", "plucky",
    "polite", "proud", "quick", "quiet", "rapid", "serene", "sharp", "shiny", "silent", "sleek",
    "smooth", "snappy", "steady", "sturdy", "sunny", "swift", "tidy", "trusty", "vivid", "warm",
    "wise", "witty", "zealous",
];

const NAMES: &[&str] = &[
    "anning",
    "babbage",
    "bell",
    "bose",
    "cannon",
    "carver",
    "curie",
    "darwin",
    "dirac",
    "euler",
    "faraday",
    "fermi",
    "feynman",
    "franklin",
    "galileo",
    "gauss",
    "goodall",
    "hamilton",
    "hawking",
    "hertz",
    "hopper",
    "hubble",
    "hypatia",
    "joule",
    "kepler",
    "lamarr",
    "leakey",
    "liskov",
    "lovelace",
    "maxwell",
    "meitner",
    "mendel",
    "newton",
    "noether",
    "ohm",
    "pascal",
    "pasteur",
    "planck",
    "raman",
    "ride",
    "ritchie",
    "sagan",
    "shannon",
    "somerville",
    "tesla",
    "thompson",
    "turing",
    "volta",
    "wiles",
    "wright",
    "wu",
    "yalow",
];

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // The kernel's CSPRNG; failing to read it is not something to recover from.
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .expect("read /dev/urandom");
    b
}

/// A new container id: 64 hex digits whose 12-digit short form is not all decimal
/// (so it is never mistaken for a number), as Docker's.
pub fn new_id() -> String {
    loop {
        let id = hex::encode(random_bytes::<32>());
        if !id[..12].bytes().all(|b| b.is_ascii_digit()) {
            return id;
        }
    }
}

/// A generated name (`brave_turing`); after collisions a digit is appended, as Docker does.
pub fn generate(retry: usize) -> String {
    let [a, n, d] = random_bytes::<3>();
    let mut name = format!(
        "{}_{}",
        ADJECTIVES[a as usize % ADJECTIVES.len()],
        NAMES[n as usize % NAMES.len()]
    );
    if retry > 0 {
        name.push_str(&(d % 10).to_string());
    }
    name
}

/// Checks a user-given name (a leading `/` allowed) and returns it without the slash.
pub fn validate(name: &str) -> Result<String, String> {
    let bare = name.strip_prefix('/').unwrap_or(name);
    let mut chars = bare.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok =
        chars.clone().count() >= 1 && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if first_ok && rest_ok {
        Ok(bare.to_string())
    } else {
        Err(format!(
            "Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_64_hex_and_never_numeric_when_short() {
        for _ in 0..100 {
            let id = new_id();
            assert_eq!(id.len(), 64);
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            );
            assert!(!id[..12].bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn generated_names_are_valid() {
        for retry in 0..3 {
            let n = generate(retry);
            assert_eq!(validate(&n).unwrap(), n);
        }
    }

    #[test]
    fn names_follow_dockers_rule() {
        assert_eq!(validate("/web-1").unwrap(), "web-1");
        assert_eq!(validate("a.b_c").unwrap(), "a.b_c");
        for bad in ["", "/", "a", "-web", "_x", "we b", "x/y", "ü1"] {
            let e = validate(bad).unwrap_err();
            assert!(
                e.starts_with(&format!("Invalid container name ({bad})")),
                "{e}"
            );
        }
    }
}
