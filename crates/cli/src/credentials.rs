//! Registry credentials where the docker CLI keeps them, so that a `docker login` and
//! a `berth login` are one: `$DOCKER_CONFIG/config.json` (`~/.docker/config.json`),
//! `auths` (base64 of `user:password`), or a credential helper (`credsStore`, or
//! `credHelpers` per registry: `docker-credential-<name> get|store|erase`).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use api::system::AuthConfig;
use base64::Engine;
use serde_json::{Map, Value, json};

/// Docker Hub's key in `auths`.
pub const DOCKER_HUB: &str = "https://index.docker.io/v1/";

/// The config file.
pub fn config_path() -> PathBuf {
    let dir = match std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into())).join(".docker"),
    };
    dir.join("config.json")
}

/// The key a registry's credentials are kept under: Docker Hub's URL, or the host.
pub fn server_key(host: &str) -> String {
    match host {
        "" | "docker.io" | "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB.to_string(),
        h => h.trim_start_matches("https://").trim_start_matches("http://").trim_end_matches('/').to_string(),
    }
}

fn read_config() -> Result<Map<String, Value>, String> {
    let path = config_path();
    match std::fs::read(&path) {
        Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Ok(Map::new()),
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| format!("loading config file {}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Map::new()),
        Err(e) => Err(format!("loading config file {}: {e}", path.display())),
    }
}

/// Written whole (a temp file renamed over it), readable by its owner only.
fn write_config(config: &Map<String, Value>) -> Result<(), String> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = config_path();
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let tmp = dir.join(format!(".config.json.{}", std::process::id()));
    let bytes = serde_json::to_vec_pretty(config).map_err(|e| e.to_string())?;
    let written = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp).and_then(|mut f| f.write_all(&bytes).and_then(|()| f.sync_all()));
    written.and_then(|()| std::fs::rename(&tmp, &path)).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("{}: {e}", path.display())
    })
}

/// The helper that keeps `key`'s credentials, if one does.
fn helper(config: &Map<String, Value>, key: &str) -> Option<String> {
    let per = config.get("credHelpers").and_then(|h| h.get(key)).and_then(Value::as_str);
    per.or_else(|| config.get("credsStore").and_then(Value::as_str)).filter(|h| !h.is_empty()).map(String::from)
}

/// Runs `docker-credential-<name> <action>` with `input` on its stdin.
fn run_helper(name: &str, action: &str, input: &str) -> Result<String, String> {
    let program = format!("docker-credential-{name}");
    let mut child = Command::new(&program)
        .arg(action)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("error getting credentials - err: exec: \"{program}\": {e}"))?;
    child.stdin.take().expect("piped").write_all(input.as_bytes()).map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() {
        return Err(if text.is_empty() { String::from_utf8_lossy(&out.stderr).trim().to_string() } else { text });
    }
    Ok(text)
}

/// The credentials kept for `host`, if any.
pub fn get(host: &str) -> Result<Option<AuthConfig>, String> {
    let config = read_config()?;
    let key = server_key(host);
    if let Some(name) = helper(&config, &key) {
        return match run_helper(&name, "get", &key) {
            Ok(text) => {
                let v: Value = serde_json::from_str(&text).map_err(|e| format!("docker-credential-{name}: {e}"))?;
                let (user, secret) = (v["Username"].as_str().unwrap_or(""), v["Secret"].as_str().unwrap_or(""));
                // A user of `<token>` means the secret is an identity token.
                Ok(Some(match user {
                    "<token>" => AuthConfig { identitytoken: secret.into(), serveraddress: key, ..Default::default() },
                    u => AuthConfig { username: u.into(), password: secret.into(), serveraddress: key, ..Default::default() },
                }))
            }
            // Helpers answer "credentials not found" for a registry they do not know.
            Err(e) if e.contains("not found") => Ok(None),
            Err(e) => Err(e),
        };
    }
    let Some(entry) = config.get("auths").and_then(|a| a.get(&key)) else { return Ok(None) };
    let mut auth = AuthConfig { serveraddress: key, ..Default::default() };
    if let Some(encoded) = entry.get("auth").and_then(Value::as_str).filter(|a| !a.is_empty()) {
        let decoded = base64::engine::general_purpose::STANDARD.decode(encoded).map_err(|e| format!("invalid auth configuration file: {e}"))?;
        let text = String::from_utf8_lossy(&decoded);
        let (u, p) = text.split_once(':').ok_or("invalid auth configuration file")?;
        (auth.username, auth.password) = (u.to_string(), p.to_string());
    }
    auth.identitytoken = entry.get("identitytoken").and_then(Value::as_str).unwrap_or("").to_string();
    Ok(Some(auth))
}

/// Keeps `auth` for `host`; returns where, for docker's warning about plain text
/// (`None`: a helper keeps it).
pub fn store(host: &str, auth: &AuthConfig) -> Result<Option<PathBuf>, String> {
    let mut config = read_config()?;
    let key = server_key(host);
    if let Some(name) = helper(&config, &key) {
        let input = json!({ "ServerURL": key, "Username": auth.username, "Secret": auth.password }).to_string();
        run_helper(&name, "store", &input)?;
        return Ok(None);
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", auth.username, auth.password));
    let auths = config.entry("auths").or_insert_with(|| Value::Object(Map::new()));
    if !auths.is_object() {
        *auths = Value::Object(Map::new());
    }
    auths.as_object_mut().expect("an object").insert(key, json!({ "auth": encoded }));
    write_config(&config)?;
    Ok(Some(config_path()))
}

/// Forgets `host`'s credentials; whether there were any.
pub fn erase(host: &str) -> Result<bool, String> {
    let mut config = read_config()?;
    let key = server_key(host);
    if let Some(name) = helper(&config, &key) {
        return Ok(run_helper(&name, "erase", &key).is_ok());
    }
    let removed = config.get_mut("auths").and_then(Value::as_object_mut).and_then(|a| a.remove(&key)).is_some();
    if removed {
        write_config(&config)?;
    }
    Ok(removed)
}

/// The `X-Registry-Auth` header for `host`: base64url of the kept credentials, or of
/// `{}` when there are none (as the docker CLI sends).
pub fn header_for(host: &str) -> String {
    let auth = get(host).ok().flatten().unwrap_or_default();
    let json = serde_json::to_vec(&auth).unwrap_or_else(|_| b"{}".to_vec());
    base64::engine::general_purpose::URL_SAFE.encode(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_kept_as_docker_keeps_them() {
        let dir = tempfile::tempdir().unwrap();
        // SAFETY: tests of this module are the only readers of DOCKER_CONFIG, and this
        // is the only test that sets it.
        unsafe { std::env::set_var("DOCKER_CONFIG", dir.path()) };
        std::fs::write(dir.path().join("config.json"), r#"{"psFormat": "table {{.ID}}"}"#).unwrap();
        let auth = AuthConfig { username: "u".into(), password: "p:w".into(), ..Default::default() };
        assert_eq!(store("127.0.0.1:5000", &auth).unwrap(), Some(dir.path().join("config.json")));
        let kept: Value = serde_json::from_slice(&std::fs::read(dir.path().join("config.json")).unwrap()).unwrap();
        assert_eq!(kept["auths"]["127.0.0.1:5000"]["auth"], base64::engine::general_purpose::STANDARD.encode("u:p:w"));
        assert_eq!(kept["psFormat"], "table {{.ID}}", "the rest kept");
        let got = get("127.0.0.1:5000").unwrap().unwrap();
        assert_eq!((got.username.as_str(), got.password.as_str(), got.serveraddress.as_str()), ("u", "p:w", "127.0.0.1:5000"));
        assert_eq!(get("docker.io").unwrap(), None);
        assert!(erase("127.0.0.1:5000").unwrap());
        assert!(!erase("127.0.0.1:5000").unwrap());
        assert_eq!(get("127.0.0.1:5000").unwrap(), None);
        assert_eq!(server_key("docker.io"), DOCKER_HUB);
        assert_eq!(server_key("https://reg.example:5000/"), "reg.example:5000");
    }
}
