//! `docker import --change`: Dockerfile-style instructions applied to an image's
//! container config. Docker allows CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD,
//! STOPSIGNAL, USER, VOLUME and WORKDIR; anything else is "… is not a valid change
//! command". CMD and ENTRYPOINT take the JSON (exec) form or the shell form (run by
//! `/bin/sh -c`); ENV and LABEL take `k=v …` (quotes and backslashes as the shell
//! reads them) or the legacy `k v`; EXPOSE takes `80`, `80/tcp`, `53/udp`, ranges.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Error, Result};
use crate::manifest::ContainerConfig;

/// One parsed change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Cmd(Vec<String>),
    Entrypoint(Vec<String>),
    Env(Vec<(String, String)>),
    /// Port keys as the config stores them (`80/tcp`).
    Expose(Vec<String>),
    Label(Vec<(String, String)>),
    OnBuild(String),
    StopSignal(String),
    User(String),
    Volume(Vec<String>),
    Workdir(String),
}

/// Parses one `--change` value.
pub fn parse_change(s: &str) -> Result<Change> {
    let s = s.trim();
    let bad = |reason: &str| Error::BadChange { change: s.to_string(), reason: reason.to_string() };
    let (word, rest) = match s.split_once(char::is_whitespace) {
        Some((w, r)) => (w, r.trim()),
        None => (s, ""),
    };
    if word.is_empty() {
        return Err(bad("it is empty"));
    }
    let instruction = word.to_ascii_uppercase();
    let known = [
        "CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
    ];
    if !known.contains(&instruction.as_str()) {
        return Err(Error::InvalidChange(instruction));
    }
    if rest.is_empty() {
        return Err(bad(&format!("{instruction} needs an argument")));
    }
    Ok(match instruction.as_str() {
        "CMD" => Change::Cmd(command(rest)),
        "ENTRYPOINT" => Change::Entrypoint(command(rest)),
        "ENV" => Change::Env(pairs(rest).map_err(|r| bad(&r))?),
        "LABEL" => Change::Label(pairs(rest).map_err(|r| bad(&r))?),
        "EXPOSE" => {
            let mut ports = Vec::new();
            for w in lex(rest, true).map_err(|r| bad(&r))? {
                ports.extend(port_keys(&w).map_err(|r| bad(&r))?);
            }
            Change::Expose(ports)
        }
        "ONBUILD" => {
            let (inner, _) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            let inner = inner.to_ascii_uppercase();
            if matches!(inner.as_str(), "ONBUILD" | "FROM" | "MAINTAINER") {
                return Err(bad(&format!("{inner} is not allowed in ONBUILD")));
            }
            Change::OnBuild(rest.to_string())
        }
        "STOPSIGNAL" => {
            let sig = unquote(rest).map_err(|r| bad(&r))?;
            if sig.is_empty() || sig.contains(char::is_whitespace) {
                return Err(bad("STOPSIGNAL takes one signal name or number"));
            }
            Change::StopSignal(sig)
        }
        "USER" => Change::User(unquote(rest).map_err(|r| bad(&r))?),
        "VOLUME" => Change::Volume(match exec_form(rest) {
            Some(v) => v,
            None => lex(rest, true).map_err(|r| bad(&r))?,
        }),
        _ => Change::Workdir(unquote(rest).map_err(|r| bad(&r))?),
    })
}

/// Parses every change and applies them in order to `config`.
pub fn apply_changes(config: &mut ContainerConfig, changes: &[String]) -> Result<()> {
    let parsed: Vec<Change> = changes.iter().map(|c| parse_change(c)).collect::<Result<_>>()?;
    for change in parsed {
        match change {
            Change::Cmd(v) => config.cmd = Some(v),
            Change::Entrypoint(v) => config.entrypoint = Some(v),
            Change::Env(kvs) => {
                let env = config.env.get_or_insert_with(Vec::new);
                for (k, v) in kvs {
                    let entry = format!("{k}={v}");
                    match env.iter_mut().find(|e| e.split_once('=').map_or(e.as_str(), |(ek, _)| ek) == k) {
                        Some(e) => *e = entry,
                        None => env.push(entry),
                    }
                }
            }
            Change::Expose(ports) => {
                let map = config.exposed_ports.get_or_insert_with(BTreeMap::new);
                for p in ports {
                    map.insert(p, Value::Object(Default::default()));
                }
            }
            Change::Label(kvs) => config.labels.get_or_insert_with(BTreeMap::new).extend(kvs),
            Change::OnBuild(s) => config.on_build.get_or_insert_with(Vec::new).push(s),
            Change::StopSignal(s) => config.stop_signal = Some(s),
            Change::User(u) => config.user = Some(u),
            Change::Volume(vs) => {
                let map = config.volumes.get_or_insert_with(BTreeMap::new);
                for v in vs {
                    map.insert(v, Value::Object(Default::default()));
                }
            }
            Change::Workdir(w) => {
                let base = config.working_dir.clone().unwrap_or_else(|| "/".into());
                let joined = if w.starts_with('/') { w } else { format!("{base}/{w}") };
                config.working_dir = Some(clean_path(&joined));
            }
        }
    }
    Ok(())
}

/// The JSON form `["a", "b"]`, if `s` is one.
fn exec_form(s: &str) -> Option<Vec<String>> {
    if !s.starts_with('[') {
        return None;
    }
    serde_json::from_str(s).ok()
}

/// CMD/ENTRYPOINT: the JSON form, else the shell form (as Docker, which falls back to
/// the shell form when the JSON does not parse).
fn command(s: &str) -> Vec<String> {
    exec_form(s).unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into(), s.to_string()])
}

/// `k=v k2="v 2"`, or the legacy `k some value`.
fn pairs(s: &str) -> std::result::Result<Vec<(String, String)>, String> {
    let first = s.split(char::is_whitespace).next().unwrap_or_default();
    if !first.contains('=') {
        let (k, v) = s.split_once(char::is_whitespace).ok_or_else(|| format!("{s:?} needs a value (k=v or k v)"))?;
        return Ok(vec![(unquote(k)?, unquote(v.trim())?)]);
    }
    lex(s, true)?
        .into_iter()
        .map(|w| match w.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(format!("{w:?} is not of the form key=value")),
        })
        .collect()
}

/// Removes shell quoting from `s`, keeping its whitespace.
fn unquote(s: &str) -> std::result::Result<String, String> {
    Ok(lex(s, false)?.concat())
}

/// Shell-like words: `"…"` (backslash escapes inside), `'…'` (literal) and `\x`
/// outside quotes; unquoted whitespace separates words when `split`.
fn lex(s: &str, split: bool) -> std::result::Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            c if split && c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\\' => {
                cur.push(chars.next().unwrap_or('\\'));
                in_word = true;
            }
            '\'' | '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        None => return Err(format!("unterminated {c} quote in {s:?}")),
                        Some(q) if q == c => break,
                        Some('\\') if c == '"' => cur.push(chars.next().unwrap_or('\\')),
                        Some(x) => cur.push(x),
                    }
                }
            }
            c => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// `80` → `80/tcp`; `53/udp`; `8000-8002/tcp` → three keys.
fn port_keys(w: &str) -> std::result::Result<Vec<String>, String> {
    let (ports, proto) = match w.split_once('/') {
        Some((p, proto)) => (p, proto.to_ascii_lowercase()),
        None => (w, "tcp".to_string()),
    };
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("invalid protocol {proto:?} in {w:?} (tcp, udp or sctp)"));
    }
    let num = |p: &str| p.parse::<u16>().map_err(|_| format!("invalid port {p:?} in {w:?}"));
    let (start, end) = match ports.split_once('-') {
        Some((a, b)) => (num(a)?, num(b)?),
        None => (num(ports)?, num(ports)?),
    };
    if end < start {
        return Err(format!("invalid port range {ports:?}"));
    }
    Ok((start..=end).map(|p| format!("{p}/{proto}")).collect())
}

/// Lexically cleaned absolute path (`/a/./b/../c` → `/a/c`).
fn clean_path(p: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    format!("/{}", out.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(changes: &[&str]) -> ContainerConfig {
        let mut c = ContainerConfig::default();
        apply_changes(&mut c, &changes.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
        c
    }

    #[test]
    fn commands_in_both_forms() {
        assert_eq!(parse_change(r#"CMD ["/bin/echo", "hi"]"#).unwrap(), Change::Cmd(vec!["/bin/echo".into(), "hi".into()]));
        assert_eq!(
            parse_change("entrypoint echo hi there").unwrap(),
            Change::Entrypoint(vec!["/bin/sh".into(), "-c".into(), "echo hi there".into()])
        );
        // Broken JSON falls back to the shell form, as Docker does.
        assert_eq!(parse_change("CMD [oops").unwrap(), Change::Cmd(vec!["/bin/sh".into(), "-c".into(), "[oops".into()]));
    }

    #[test]
    fn env_label_expose_volume_workdir() {
        let c = cfg(&[
            "ENV A=1 B=\"two words\" C=x\\ y",
            "ENV LEGACY some value",
            "ENV A=replaced",
            "LABEL org.example=yes 'q k'=v",
            "EXPOSE 80 53/udp 8000-8001/TCP",
            r#"VOLUME ["/data", "/logs"]"#,
            "VOLUME /cache",
            "WORKDIR /srv",
            "WORKDIR app/../web",
            "USER 1000:1000",
            "STOPSIGNAL SIGINT",
            "ONBUILD RUN echo built",
        ]);
        assert_eq!(
            c.env.unwrap(),
            ["A=replaced", "B=two words", "C=x y", "LEGACY=some value"].map(String::from).to_vec()
        );
        let labels = c.labels.unwrap();
        assert_eq!((labels["org.example"].as_str(), labels["q k"].as_str()), ("yes", "v"));
        let ports: Vec<&String> = c.exposed_ports.as_ref().unwrap().keys().collect();
        assert_eq!(ports, ["53/udp", "80/tcp", "8000/tcp", "8001/tcp"]);
        let vols: Vec<&String> = c.volumes.as_ref().unwrap().keys().collect();
        assert_eq!(vols, ["/cache", "/data", "/logs"]);
        assert_eq!(c.working_dir.as_deref(), Some("/srv/web"));
        assert_eq!(c.user.as_deref(), Some("1000:1000"));
        assert_eq!(c.stop_signal.as_deref(), Some("SIGINT"));
        assert_eq!(c.on_build.unwrap(), ["RUN echo built"]);
    }

    #[test]
    fn disallowed_and_malformed_changes_are_refused() {
        for (change, want) in [("RUN echo hi", "RUN"), ("from busybox", "FROM"), ("ADD . /", "ADD"), ("COPY a b", "COPY")] {
            let e = parse_change(change).unwrap_err();
            assert_eq!(e.to_string(), format!("{want} is not a valid change command"));
        }
        for bad in ["", "CMD", "EXPOSE 80/icmp", "EXPOSE http", "EXPOSE 90-80", "ENV A=\"open", "ENV =x", "ONBUILD FROM x"] {
            assert!(matches!(parse_change(bad), Err(Error::BadChange { .. })), "{bad}");
        }
    }
}
