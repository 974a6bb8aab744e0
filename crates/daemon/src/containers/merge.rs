//! Create-time merging of the user's `Config` over the image's, with Docker's rules:
//! environment by key, image defaults for what the user left unset, and the
//! entrypoint/cmd combination (a user entrypoint drops the image's cmd; an entrypoint
//! of `[""]` resets it).

use api::containers::{ContainerConfig, HealthConfig};
use image::manifest::{ContainerConfig as ImageConfig, HealthConfig as ImageHealthConfig};

/// Docker's default `PATH` for a container whose image sets none.
pub const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// `KEY=value` list `over` merged onto `base`: same keys replaced in place, new ones
/// appended (Docker's ReplaceOrAppendEnvValues).
pub fn merge_env(base: &[String], over: &[String]) -> Vec<String> {
    let key = |s: &str| s.split_once('=').map_or(s, |(k, _)| k).to_string();
    let mut out: Vec<String> = base.to_vec();
    for e in over {
        let k = key(e);
        match out.iter_mut().find(|b| key(b) == k) {
            Some(b) => *b = e.clone(),
            None => out.push(e.clone()),
        }
    }
    out
}

/// The user's config with the image's defaults filled in.
pub fn merge(user: &ContainerConfig, image: Option<&ImageConfig>) -> ContainerConfig {
    let mut c = user.clone();
    let Some(img) = image else { return c };
    c.env = merge_env(img.env.as_deref().unwrap_or_default(), &user.env);
    let user_entrypoint_empty = user.entrypoint.as_ref().is_none_or(|e| e.is_empty());
    if user_entrypoint_empty {
        if user.cmd.as_ref().is_none_or(|c| c.is_empty()) {
            c.cmd = img.cmd.clone();
            c.args_escaped = img.args_escaped.unwrap_or(false);
        }
        if user.entrypoint.is_none() {
            c.entrypoint = img.entrypoint.clone();
        }
    }
    if c.user.is_empty() {
        c.user = img.user.clone().unwrap_or_default();
    }
    if c.working_dir.is_empty() {
        c.working_dir = img.working_dir.clone().unwrap_or_default();
    }
    for (k, v) in img.labels.iter().flatten() {
        c.labels.entry(k.clone()).or_insert_with(|| v.clone());
    }
    for p in img.exposed_ports.iter().flatten().map(|(p, _)| p) {
        c.exposed_ports.entry(p.clone()).or_default();
    }
    for v in img.volumes.iter().flatten().map(|(v, _)| v) {
        c.volumes.entry(v.clone()).or_default();
    }
    if c.stop_signal.is_empty() {
        c.stop_signal = img.stop_signal.clone().unwrap_or_default();
    }
    if let Some(h) = &img.healthcheck {
        c.healthcheck = Some(merge_healthcheck(c.healthcheck.take(), h));
    }
    if c.shell.is_none() {
        c.shell = img.shell.clone();
    }
    if c.on_build.is_empty() {
        c.on_build = img.on_build.clone().unwrap_or_default();
    }
    c
}

/// The user's healthcheck over the image's, field by field as Docker merges them: an
/// empty test or a zero duration or count inherits the image's (so `--health-interval`
/// alone keeps the image's test, and `["NONE"]` overrides it).
fn merge_healthcheck(user: Option<HealthConfig>, img: &ImageHealthConfig) -> HealthConfig {
    let Some(mut h) = user else {
        return HealthConfig {
            test: img.test.clone().unwrap_or_default(),
            interval: img.interval.unwrap_or(0),
            timeout: img.timeout.unwrap_or(0),
            retries: img.retries.unwrap_or(0),
            start_period: img.start_period.unwrap_or(0),
            start_interval: img.start_interval.unwrap_or(0),
        };
    };
    let inherit = |mine: &mut i64, theirs: Option<i64>| {
        if *mine == 0 {
            *mine = theirs.unwrap_or(0);
        }
    };
    if h.test.is_empty() {
        h.test = img.test.clone().unwrap_or_default();
    }
    inherit(&mut h.interval, img.interval);
    inherit(&mut h.timeout, img.timeout);
    inherit(&mut h.retries, img.retries);
    inherit(&mut h.start_period, img.start_period);
    inherit(&mut h.start_interval, img.start_interval);
    h
}

/// `Path` and `Args` of the container's process, or Docker's error when there is no
/// command at all.
pub fn command(c: &ContainerConfig) -> Result<(String, Vec<String>), &'static str> {
    let entrypoint: &[String] = match c.entrypoint.as_deref() {
        Some([only]) if only.is_empty() => &[],
        Some(e) => e,
        None => &[],
    };
    let cmd = c.cmd.as_deref().unwrap_or_default();
    let mut all = entrypoint.iter().chain(cmd.iter());
    match all.next() {
        Some(path) if !path.is_empty() => Ok((path.clone(), all.cloned().collect())),
        _ => Err("No command specified"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(entrypoint: Option<&[&str]>, cmd: Option<&[&str]>) -> ImageConfig {
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        ImageConfig {
            entrypoint: entrypoint.map(v),
            cmd: cmd.map(v),
            env: Some(vec!["PATH=/bin".into(), "A=image".into()]),
            ..Default::default()
        }
    }

    fn user(entrypoint: Option<&[&str]>, cmd: Option<&[&str]>) -> ContainerConfig {
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        ContainerConfig {
            entrypoint: entrypoint.map(v),
            cmd: cmd.map(v),
            ..Default::default()
        }
    }

    fn run(u: ContainerConfig, i: ImageConfig) -> Result<(String, Vec<String>), &'static str> {
        command(&merge(&u, Some(&i)))
    }

    #[test]
    fn entrypoint_and_cmd_combine_as_docker() {
        let s = |x: &str| x.to_string();
        // Image cmd only; user cmd replaces it.
        assert_eq!(
            run(user(None, None), image(None, Some(&["sh"]))).unwrap(),
            (s("sh"), vec![])
        );
        assert_eq!(
            run(
                user(None, Some(&["echo", "hi"])),
                image(None, Some(&["sh"]))
            )
            .unwrap(),
            (s("echo"), vec![s("hi")])
        );
        // Image entrypoint + image cmd; user cmd replaces only the cmd.
        let img = || image(Some(&["/init", "-v"]), Some(&["serve"]));
        assert_eq!(
            run(user(None, None), img()).unwrap(),
            (s("/init"), vec![s("-v"), s("serve")])
        );
        assert_eq!(
            run(user(None, Some(&["x"])), img()).unwrap(),
            (s("/init"), vec![s("-v"), s("x")])
        );
        // A user entrypoint drops the image's cmd.
        assert_eq!(
            run(user(Some(&["top"]), None), img()).unwrap(),
            (s("top"), vec![])
        );
        // --entrypoint "" resets it: the user's cmd runs alone, or nothing is left.
        assert_eq!(
            run(user(Some(&[""]), Some(&["echo", "x"])), img()).unwrap(),
            (s("echo"), vec![s("x")])
        );
        assert_eq!(
            run(user(Some(&[""]), None), img()),
            Err("No command specified")
        );
        assert_eq!(
            run(user(None, None), image(None, None)),
            Err("No command specified")
        );
    }

    #[test]
    fn healthchecks_merge_field_by_field() {
        let mut img = image(None, Some(&["sh"]));
        img.healthcheck = Some(ImageHealthConfig {
            test: Some(vec!["CMD".into(), "true".into()]),
            interval: Some(30_000_000_000),
            retries: Some(5),
            ..Default::default()
        });
        // None of the user's: the image's, whole.
        let h = merge(&user(None, None), Some(&img)).healthcheck.unwrap();
        assert_eq!((h.test.as_slice(), h.interval, h.retries), (&["CMD".to_string(), "true".into()][..], 30_000_000_000, 5));
        // The user's interval only: the image's test stays.
        let mut u = user(None, None);
        u.healthcheck = Some(HealthConfig { interval: 1_000_000, ..Default::default() });
        let h = merge(&u, Some(&img)).healthcheck.unwrap();
        assert_eq!((h.test[1].as_str(), h.interval, h.retries), ("true", 1_000_000, 5));
        // NONE disables whatever the image says.
        u.healthcheck = Some(HealthConfig { test: vec!["NONE".into()], ..Default::default() });
        assert_eq!(merge(&u, Some(&img)).healthcheck.unwrap().test, ["NONE"]);
    }

    #[test]
    fn env_merges_by_key() {
        let mut u = user(None, None);
        u.env = vec!["A=user".into(), "B=1".into()];
        let m = merge(&u, Some(&image(None, Some(&["sh"]))));
        assert_eq!(m.env, vec!["PATH=/bin", "A=user", "B=1"]);
    }
}
