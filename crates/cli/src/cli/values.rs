//! Docker's flag value types, parsed and worded as the docker CLI (pflag and
//! go-units) does, so a bad value reads `invalid argument "1x" for "-m,
//! --memory" flag: invalid suffix: 'x'`: sizes (`RAMInBytes`), CPU counts,
//! Go durations and integers, and the validated lists of `run`/`create`
//! (`--env`, `--label`, `--add-host`, `--dns`, `--sysctl`, `--ulimit` …).

/// Go's `strconv` errors: `strconv.ParseInt: parsing "x": invalid syntax`.
fn strconv_error(func: &str, s: &str, reason: &str) -> String {
    format!("strconv.{func}: parsing \"{s}\": {reason}")
}

/// The digits of a Go integer literal (`strconv.ParseInt(s, 0, …)`): an
/// optional sign, then `0x`/`0o`/`0b`/`0` prefixes select the base.
fn go_digits(s: &str) -> Option<(bool, u32, &str)> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (base, digits) = if lower.starts_with("0x") {
        (16, &body[2..])
    } else if lower.starts_with("0o") {
        (8, &body[2..])
    } else if lower.starts_with("0b") {
        (2, &body[2..])
    } else if body.len() > 1 && body.starts_with('0') {
        (8, &body[1..])
    } else {
        (10, body)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(base)) {
        return None;
    }
    Some((neg, base, digits))
}

/// pflag's `IntVar`/`Int64Var`: `strconv.ParseInt(s, 0, bits)`.
pub fn go_int(s: &str, bits: u32) -> Result<i64, String> {
    let (neg, base, digits) = go_digits(s).ok_or_else(|| strconv_error("ParseInt", s, "invalid syntax"))?;
    let out_of_range = || strconv_error("ParseInt", s, "value out of range");
    let magnitude = u128::from_str_radix(digits, base).map_err(|_| out_of_range())?;
    let value = if neg { -(magnitude as i128) } else { magnitude as i128 };
    let (min, max) = (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1);
    if value < min || value > max {
        return Err(out_of_range());
    }
    Ok(value as i64)
}

/// pflag's `Uint16Var`/`Uint64Var`: `strconv.ParseUint(s, 0, bits)`.
pub fn go_uint(s: &str, bits: u32) -> Result<u64, String> {
    let bad = || strconv_error("ParseUint", s, "invalid syntax");
    let (neg, base, digits) = go_digits(s).ok_or_else(bad)?;
    if neg || s.starts_with('+') {
        return Err(bad());
    }
    let value = u128::from_str_radix(digits, base).map_err(|_| strconv_error("ParseUint", s, "value out of range"))?;
    if value >> bits != 0 {
        return Err(strconv_error("ParseUint", s, "value out of range"));
    }
    Ok(value as u64)
}

/// An `int` flag (Go's 64-bit int).
pub fn int(s: &str) -> Result<i64, String> {
    go_int(s, 64)
}

/// A `bool` flag given a value (`--ipv6=false`): Go's `strconv.ParseBool`.
pub fn go_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(strconv_error("ParseBool", s, "invalid syntax")),
    }
}

/// A `uint16` flag (`--blkio-weight`).
pub fn uint16(s: &str) -> Result<u16, String> {
    go_uint(s, 16).map(|v| v as u16)
}

/// go-units' `RAMInBytes` (`--memory 512m`, `--shm-size 1g`): binary multipliers.
pub use api::units::ram_in_bytes;


/// `--memory-swap`: a size, or `-1` for unlimited swap.
pub fn mem_swap(s: &str) -> Result<i64, String> {
    if s == "-1" { Ok(-1) } else { ram_in_bytes(s) }
}

/// `--cpus 1.5`: a rational number of CPUs, in billionths (`NanoCpus`).
pub fn nano_cpus(s: &str) -> Result<i64, String> {
    let bad = || format!("failed to parse {s} as a rational number");
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int_part, frac) = body.split_once('.').unwrap_or((body, ""));
    let digits = |p: &str| p.chars().all(|c| c.is_ascii_digit());
    if (int_part.is_empty() && frac.is_empty()) || !digits(int_part) || !digits(frac) {
        return Err(bad());
    }
    if frac.trim_end_matches('0').len() > 9 {
        return Err("value is too precise".to_string());
    }
    let whole: i64 = if int_part.is_empty() { 0 } else { int_part.parse().map_err(|_| bad())? };
    let frac_nanos: i64 = format!("{:0<9}", frac.trim_end_matches('0')).parse().map_err(|_| bad())?;
    let nanos = whole.checked_mul(1_000_000_000).and_then(|n| n.checked_add(frac_nanos)).ok_or_else(bad)?;
    Ok(if neg { -nanos } else { nanos })
}

/// Go's `time.ParseDuration` (`--health-interval 1m30s`), in nanoseconds.
pub fn go_duration(s: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration \"{s}\"");
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let num = &rest[..num_end];
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return Err(invalid());
        }
        let value: f64 = num.parse().map_err(|_| invalid())?;
        rest = &rest[num_end..];
        let unit_end = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let unit = &rest[..unit_end];
        if unit.is_empty() {
            return Err(format!("time: missing unit in duration \"{s}\""));
        }
        let scale = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            other => return Err(format!("time: unknown unit \"{other}\" in duration \"{s}\"")),
        };
        total += value * scale;
        rest = &rest[unit_end..];
    }
    if total > i64::MAX as f64 {
        return Err(invalid());
    }
    let nanos = total.round() as i64;
    Ok(if neg { -nanos } else { nanos })
}

/// `--env`: `KEY=value` as is; a bare `KEY` takes its value from this
/// process's environment and stays bare when unset (docker's `ValidateEnv`).
pub fn env(s: &str) -> Result<String, String> {
    env_with(s, |k| std::env::var(k).ok())
}

/// [`env`] with the environment supplied.
pub fn env_with(s: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let (key, has_value) = match s.split_once('=') {
        Some((k, _)) => (k, true),
        None => (s, false),
    };
    if key.is_empty() {
        return Err(format!("invalid environment variable: {s}"));
    }
    if has_value {
        return Ok(s.to_string());
    }
    Ok(match lookup(key) {
        Some(v) => format!("{key}={v}"),
        None => s.to_string(),
    })
}

/// `--label key=value` (the value is optional).
pub fn label(s: &str) -> Result<String, String> {
    let key = s.split_once('=').map_or(s, |(k, _)| k).trim_start_matches([' ', '\t']);
    if key.is_empty() {
        return Err(format!("invalid label '{s}': empty name"));
    }
    if key.contains([' ', '\t']) {
        return Err(format!("label '{key}' contains whitespaces"));
    }
    Ok(s.to_string())
}

/// `--attach stdin|stdout|stderr`, any case.
pub fn attach(s: &str) -> Result<String, String> {
    let lower = s.to_lowercase();
    if ["stdin", "stdout", "stderr"].contains(&lower.as_str()) {
        Ok(lower)
    } else {
        Err("valid streams are STDIN, STDOUT and STDERR".to_string())
    }
}

/// An IP address, returned in canonical form (`--dns`).
pub fn ip_address(s: &str) -> Result<String, String> {
    s.trim()
        .parse::<std::net::IpAddr>()
        .map(|ip| ip.to_string())
        .map_err(|_| format!("IP address is not correctly formatted: {s}"))
}

/// `--add-host name:ip` or `name=ip` (IPv6 in brackets allowed), sent as
/// `name:ip`.
pub fn extra_host(s: &str) -> Result<String, String> {
    let (k, v) = match s.split_once('=').or_else(|| s.split_once(':')) {
        Some((k, v)) if !k.is_empty() && !k.contains(':') => (k, v),
        _ => return Err(format!("bad format for add-host: {s:?}")),
    };
    if v != "host-gateway" {
        let ip = if v.len() > 2 && v.starts_with('[') && v.ends_with(']') { &v[1..v.len() - 1] } else { v };
        if ip_address(ip).is_err() {
            return Err(format!("invalid IP address in add-host: {v:?}"));
        }
        return Ok(format!("{k}:{ip}"));
    }
    Ok(format!("{k}:{v}"))
}

/// `--dns-search`: a domain, or `.` for none.
pub fn dns_search(s: &str) -> Result<String, String> {
    let val = s.trim_matches(' ');
    if val == "." {
        return Ok(val.to_string());
    }
    let bad = || format!("{val} is not a valid domain");
    if !val.chars().any(|c| c.is_ascii_alphabetic()) {
        return Err(bad());
    }
    let domain = val.trim_end().trim_end_matches('.');
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if domain.len() >= 255 || !domain.split('.').all(label_ok) {
        return Err(bad());
    }
    Ok(domain.to_string())
}

/// `--sysctl key=value`, limited to the namespaced sysctls docker allows.
pub fn sysctl(s: &str) -> Result<String, String> {
    const ALLOWED: [&str; 8] = api::hostconfig::IPC_SYSCTLS;
    match s.split_once('=') {
        Some((k, _)) if ALLOWED.contains(&k) || k.starts_with("net.") || k.starts_with("fs.mqueue.") => {
            Ok(s.to_string())
        }
        _ => Err(format!("sysctl '{s}' is not allowed")),
    }
}

/// `--ulimit name=soft[:hard]` (go-units' `ParseUlimit`).
pub fn ulimit(s: &str) -> Result<api::hostconfig::Ulimit, String> {
    const NAMES: [&str; 15] = [
        "core",
        "cpu",
        "data",
        "fsize",
        "locks",
        "memlock",
        "msgqueue",
        "nice",
        "nofile",
        "nproc",
        "rss",
        "rtprio",
        "rttime",
        "sigpending",
        "stack",
    ];
    let Some((name, val)) = s.split_once('=') else {
        return Err(format!("invalid ulimit argument: {s}"));
    };
    if !NAMES.contains(&name) {
        return Err(format!("invalid ulimit type: {name}"));
    }
    let parse = |v: &str| v.parse::<i64>().map_err(|_| strconv_error("ParseInt", v, "invalid syntax"));
    let (soft, hard) = match val.split_once(':') {
        Some((s, h)) => {
            let hard = parse(h)?;
            (parse(s)?, hard)
        }
        None => {
            let soft = parse(val)?;
            (soft, soft)
        }
    };
    if hard != -1 {
        if soft == -1 {
            return Err(format!(
                "ulimit soft limit must be less than or equal to hard limit: soft: -1 (unlimited), hard: {hard}"
            ));
        }
        if soft > hard {
            return Err(format!("ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}"));
        }
    }
    Ok(api::hostconfig::Ulimit { name: name.to_string(), soft, hard })
}

/// The device path of a block IO option (`/dev/sda:…`), with docker's messages.
fn device_and_value(s: &str) -> Result<(&str, &str), String> {
    match s.split_once(':') {
        Some((path, value)) if !path.is_empty() => {
            if !path.starts_with("/dev/") {
                return Err(format!("bad format for device path: {s}"));
            }
            Ok((path, value))
        }
        _ => Err(format!("bad format: {s}")),
    }
}

/// `--blkio-weight-device /dev/sda:200` (docker's `ValidateWeightDevice`).
pub fn weight_device(s: &str) -> Result<api::hostconfig::WeightDevice, String> {
    let (path, value) = device_and_value(s)?;
    let invalid = || format!("invalid weight for device: {s}");
    let weight: u16 = value.parse().map_err(|_| invalid())?;
    if weight > 0 && !(10..=1000).contains(&weight) {
        return Err(invalid());
    }
    Ok(api::hostconfig::WeightDevice { path: path.to_string(), weight })
}

/// `--device-read-bps /dev/sda:1mb` (docker's `ValidateThrottleBpsDevice`).
pub fn throttle_bps(s: &str) -> Result<api::hostconfig::ThrottleDevice, String> {
    let (path, value) = device_and_value(s)?;
    let rate = ram_in_bytes(value).map_err(|_| {
        format!("invalid rate for device: {s}. The correct format is <device-path>:<number>[<unit>]. Number must be a positive integer. Unit is optional and can be kb, mb, or gb")
    })?;
    Ok(api::hostconfig::ThrottleDevice { path: path.to_string(), rate: rate as u64 })
}

/// `--device-read-iops /dev/sda:1000` (docker's `ValidateThrottleIOpsDevice`).
pub fn throttle_iops(s: &str) -> Result<api::hostconfig::ThrottleDevice, String> {
    let (path, value) = device_and_value(s)?;
    let rate = value.parse::<u64>().map_err(|_| {
        format!("invalid rate for device: {s}. The correct format is <device-path>:<number>. Number must be a positive integer")
    })?;
    Ok(api::hostconfig::ThrottleDevice { path: path.to_string(), rate })
}

/// `--link name[:alias]`.
pub fn link(s: &str) -> Result<String, String> {
    if s.is_empty() {
        return Err("empty string specified for links".to_string());
    }
    let parts: Vec<&str> = s.splitn(3, ':').collect();
    if parts.len() > 2 {
        return Err("bad format for links: ".to_string() + s);
    }
    if parts.iter().any(|p| p.is_empty()) {
        return Err("bad format for links: ".to_string() + s);
    }
    Ok(s.to_string())
}

/// `--device-cgroup-rule 'c 1:3 rwm'`.
pub fn device_cgroup_rule(s: &str) -> Result<String, String> {
    let bad = || format!("invalid device cgroup format '{s}'");
    let parts: Vec<&str> = s.split(' ').collect();
    let [kind, numbers, mode] = parts.as_slice() else { return Err(bad()) };
    let num_ok = |n: &str| n == "*" || (!n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
    let numbers_ok = numbers.split_once(':').is_some_and(|(maj, min)| num_ok(maj) && num_ok(min));
    let mode_ok = (1..=3).contains(&mode.len()) && mode.chars().all(|c| "rwm".contains(c));
    if ["a", "b", "c"].contains(kind) && numbers_ok && mode_ok { Ok(s.to_string()) } else { Err(bad()) }
}

/// A `key=value` pair (`--annotation`, `--storage-opt`, `--log-opt` …);
/// `key` alone maps to "".
pub fn key_value(s: &str) -> (String, String) {
    match s.split_once('=') {
        Some((k, v)) => (k.to_string(), v.to_string()),
        None => (s.to_string(), String::new()),
    }
}

/// A `--filter` of docker's `FilterOpt`: `name=value` with both sides trimmed
/// and the name lowercased; an empty value adds no filter (`None`).
pub fn filter_opt(s: &str) -> Result<Option<(String, String)>, String> {
    if s.is_empty() {
        return Ok(None);
    }
    let (name, value) = s.split_once('=').ok_or("bad format of filter (expected name=value)")?;
    Ok(Some((name.trim().to_lowercase(), value.trim().to_string())))
}

/// Whether `mode` is one of the namespace modes `HostConfig` accepts for the
/// PID, UTS, IPC, user and cgroup namespaces (docker's `Valid()` checks).
pub fn namespace_mode_valid(flag: &str, mode: &str) -> bool {
    let container_ref = |m: &str| m.strip_prefix("container:").is_some_and(|c| !c.is_empty());
    match flag {
        "pid" => mode.is_empty() || mode == "host" || container_ref(mode),
        "uts" => mode.is_empty() || mode == "host",
        "userns" => mode.is_empty() || mode == "host",
        "cgroupns" => mode.is_empty() || mode == "host" || mode == "private",
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_integers() {
        assert_eq!(int("42"), Ok(42));
        assert_eq!(int("-1"), Ok(-1));
        assert_eq!(int("0x10"), Ok(16));
        assert_eq!(int("010"), Ok(8));
        assert_eq!(int("abc"), Err("strconv.ParseInt: parsing \"abc\": invalid syntax".into()));
        assert_eq!(uint16("70000"), Err("strconv.ParseUint: parsing \"70000\": value out of range".into()));
        assert_eq!(uint16("-1"), Err("strconv.ParseUint: parsing \"-1\": invalid syntax".into()));
        assert_eq!(uint16("500"), Ok(500));
        assert_eq!((go_bool("T"), go_bool("0")), (Ok(true), Ok(false)));
        assert_eq!(go_bool("yes"), Err("strconv.ParseBool: parsing \"yes\": invalid syntax".into()));
    }

    #[test]
    fn sizes_like_go_units() {
        for (s, want) in [
            ("512", 512),
            ("512b", 512),
            ("1k", 1024),
            ("1KiB", 1024),
            ("512m", 512 * 1024 * 1024),
            ("1g", 1 << 30),
            ("1GB", 1 << 30),
            ("1.5g", 3 << 29),
            ("2 MB", 2 << 20),
        ] {
            assert_eq!(ram_in_bytes(s), Ok(want), "{s}");
        }
        assert_eq!(ram_in_bytes("abc"), Err("invalid size: 'abc'".into()));
        assert_eq!(ram_in_bytes("1x"), Err("invalid suffix: 'x'".into()));
        assert_eq!(ram_in_bytes("1kbb"), Err("invalid suffix: 'kbb'".into()));
        assert_eq!(ram_in_bytes("-1"), Err("invalid size: '-1'".into()));
        assert_eq!(mem_swap("-1"), Ok(-1));
    }

    #[test]
    fn cpus_and_durations() {
        assert_eq!(nano_cpus("1.5"), Ok(1_500_000_000));
        assert_eq!(nano_cpus("0.000000001"), Ok(1));
        assert_eq!(nano_cpus("2"), Ok(2_000_000_000));
        assert_eq!(nano_cpus("0.0000000001"), Err("value is too precise".into()));
        assert_eq!(nano_cpus("x"), Err("failed to parse x as a rational number".into()));
        assert_eq!(go_duration("1s"), Ok(1_000_000_000));
        assert_eq!(go_duration("500ms"), Ok(500_000_000));
        assert_eq!(go_duration("1m30s"), Ok(90_000_000_000));
        assert_eq!(go_duration("1.5h"), Ok(5_400_000_000_000));
        assert_eq!(go_duration("-2s"), Ok(-2_000_000_000));
        assert_eq!(go_duration("0"), Ok(0));
        assert_eq!(go_duration("5"), Err("time: missing unit in duration \"5\"".into()));
        assert_eq!(go_duration("5x"), Err("time: unknown unit \"x\" in duration \"5x\"".into()));
        assert_eq!(go_duration("abc"), Err("time: invalid duration \"abc\"".into()));
    }

    #[test]
    fn env_and_labels() {
        let lookup = |k: &str| (k == "HOME").then(|| "/root".to_string());
        assert_eq!(env_with("A=1", lookup), Ok("A=1".into()));
        assert_eq!(env_with("A=", lookup), Ok("A=".into()));
        assert_eq!(env_with("HOME", lookup), Ok("HOME=/root".into()));
        assert_eq!(env_with("UNSET", lookup), Ok("UNSET".into()));
        assert_eq!(env_with("=x", lookup), Err("invalid environment variable: =x".into()));
        assert_eq!(label("a=b"), Ok("a=b".into()));
        assert_eq!(label("=b"), Err("invalid label '=b': empty name".into()));
        assert_eq!(label("a b=c"), Err("label 'a b' contains whitespaces".into()));
        assert_eq!(attach("STDIN"), Ok("stdin".into()));
        assert!(attach("x").is_err());
    }

    #[test]
    fn hosts_dns_sysctls_ulimits() {
        assert_eq!(extra_host("db:10.0.0.2"), Ok("db:10.0.0.2".into()));
        assert_eq!(extra_host("db=[::1]"), Ok("db:::1".into()));
        assert_eq!(extra_host("gw:host-gateway"), Ok("gw:host-gateway".into()));
        assert_eq!(extra_host("db"), Err("bad format for add-host: \"db\"".into()));
        assert_eq!(extra_host("db:nope"), Err("invalid IP address in add-host: \"nope\"".into()));
        assert_eq!(ip_address(" 8.8.8.8 "), Ok("8.8.8.8".into()));
        assert_eq!(dns_search("example.com"), Ok("example.com".into()));
        assert!(dns_search("-bad-.com").is_err());
        assert!(sysctl("net.ipv4.ip_forward=1").is_ok());
        assert_eq!(sysctl("kernel.pid_max=1"), Err("sysctl 'kernel.pid_max=1' is not allowed".into()));
        let u = ulimit("nofile=1024:2048").expect("valid");
        assert_eq!((u.name.as_str(), u.soft, u.hard), ("nofile", 1024, 2048));
        assert_eq!(ulimit("nproc=10").expect("valid").hard, 10);
        assert_eq!(ulimit("bogus=1"), Err("invalid ulimit type: bogus".into()));
        assert_eq!(
            ulimit("nofile=10:5"),
            Err("ulimit soft limit must be less than or equal to hard limit: 10 > 5".into())
        );
        assert!(device_cgroup_rule("c 1:3 rwm").is_ok());
        assert!(device_cgroup_rule("c 1 rwm").is_err());
    }

    #[test]
    fn block_io_device_options() {
        let w = weight_device("/dev/sda:200").unwrap();
        assert_eq!((w.path.as_str(), w.weight), ("/dev/sda", 200));
        assert_eq!(weight_device("/dev/sda:5").unwrap_err(), "invalid weight for device: /dev/sda:5");
        assert_eq!(weight_device("sda:200").unwrap_err(), "bad format for device path: sda:200");
        assert_eq!(weight_device("/dev/sda").unwrap_err(), "bad format: /dev/sda");
        let t = throttle_bps("/dev/loop0:1mb").unwrap();
        assert_eq!((t.path.as_str(), t.rate), ("/dev/loop0", 1 << 20));
        assert!(throttle_bps("/dev/loop0:fast").unwrap_err().starts_with("invalid rate for device: /dev/loop0:fast."));
        assert_eq!(throttle_iops("/dev/loop0:100").unwrap().rate, 100);
        assert!(throttle_iops("/dev/loop0:1mb").unwrap_err().ends_with("Number must be a positive integer"));
    }
}
