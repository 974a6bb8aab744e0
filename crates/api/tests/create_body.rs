//! `POST /containers/create` bodies as the docker CLI, docker-py and compose send
//! them (written by hand from the Engine API reference): nulls, empty maps and
//! unknown fields are accepted, wrong types rejected, and names round-trip.

use api::containers::ContainerCreateBody;
use serde_json::{Value, json};

/// `docker run -d --name web -p 8080:80 -e A=b -v /tmp:/data --restart
/// unless-stopped -m 256m --cap-add NET_ADMIN nginx:alpine` from a CLI 28.
const CLI_RUN: &str = r#"{
  "Hostname": "", "Domainname": "", "User": "",
  "AttachStdin": false, "AttachStdout": false, "AttachStderr": false,
  "ExposedPorts": {"80/tcp": {}},
  "Tty": false, "OpenStdin": false, "StdinOnce": false,
  "Env": ["A=b"], "Cmd": null, "Image": "nginx:alpine",
  "Volumes": {}, "WorkingDir": "", "Entrypoint": null, "OnBuild": null,
  "Labels": {},
  "HostConfig": {
    "Binds": ["/tmp:/data"], "ContainerIDFile": "",
    "LogConfig": {"Type": "", "Config": {}},
    "NetworkMode": "bridge",
    "PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]},
    "RestartPolicy": {"Name": "unless-stopped", "MaximumRetryCount": 0},
    "AutoRemove": false, "VolumeDriver": "", "VolumesFrom": null,
    "ConsoleSize": [0, 0], "CapAdd": ["NET_ADMIN"], "CapDrop": null,
    "CgroupnsMode": "", "Dns": [], "DnsOptions": [], "DnsSearch": [],
    "ExtraHosts": null, "GroupAdd": null, "IpcMode": "", "Cgroup": "",
    "Links": null, "OomScoreAdj": 0, "PidMode": "", "Privileged": false,
    "PublishAllPorts": false, "ReadonlyRootfs": false, "SecurityOpt": null,
    "UTSMode": "", "UsernsMode": "", "ShmSize": 0, "Isolation": "",
    "CpuShares": 0, "Memory": 268435456, "NanoCpus": 0, "CgroupParent": "",
    "BlkioWeight": 0, "BlkioWeightDevice": [], "BlkioDeviceReadBps": [],
    "BlkioDeviceWriteBps": [], "BlkioDeviceReadIOps": [], "BlkioDeviceWriteIOps": [],
    "CpuPeriod": 0, "CpuQuota": 0, "CpuRealtimePeriod": 0, "CpuRealtimeRuntime": 0,
    "CpusetCpus": "", "CpusetMems": "", "Devices": [], "DeviceCgroupRules": null,
    "DeviceRequests": null, "MemoryReservation": 0, "MemorySwap": 0,
    "MemorySwappiness": null, "OomKillDisable": null, "PidsLimit": null,
    "Ulimits": [], "CpuCount": 0, "CpuPercent": 0, "IOMaximumIOps": 0,
    "IOMaximumBandwidth": 0, "MaskedPaths": null, "ReadonlyPaths": null,
    "Init": null
  },
  "NetworkingConfig": {"EndpointsConfig": {"bridge": {}}}
}"#;

/// docker-py's `containers.create("alpine", "echo hi", tty=True)`: unset
/// keys are sent as null, including strings, and Cmd as a plain string.
const DOCKER_PY: &str = r#"{
  "Hostname": null, "Domainname": null, "ExposedPorts": null, "User": null,
  "Tty": true, "OpenStdin": false, "StdinOnce": false,
  "AttachStdin": false, "AttachStdout": false, "AttachStderr": false,
  "Env": null, "Cmd": "echo hi", "Image": "alpine", "Volumes": null,
  "NetworkDisabled": false, "Entrypoint": null, "WorkingDir": null,
  "Labels": null, "StopSignal": null, "Healthcheck": null, "StopTimeout": null,
  "Runtime": null, "MacAddress": null,
  "HostConfig": {"NetworkMode": "default"}
}"#;

/// A compose-style body: mounts, healthcheck, labels, aliases, an endpoint
/// whose settings are null, and fields from a newer API this crate ignores.
const COMPOSE: &str = r#"{
  "Image": "postgres:16", "Entrypoint": ["docker-entrypoint.sh"], "Cmd": ["postgres"],
  "Env": ["POSTGRES_PASSWORD=x"], "Labels": {"com.docker.compose.project": "app"},
  "Healthcheck": {"Test": ["CMD-SHELL", "pg_isready"], "Interval": 5000000000,
                  "Timeout": 1000000000, "Retries": 5, "StartPeriod": 0, "StartInterval": 0},
  "StopSignal": "SIGINT", "StopTimeout": 30, "Shell": ["/bin/sh", "-c"],
  "FutureConfigField": {"nested": [1, 2, 3]},
  "HostConfig": {
    "Mounts": [
      {"Type": "volume", "Source": "app_db", "Target": "/var/lib/postgresql/data",
       "VolumeOptions": {"NoCopy": false, "Labels": null, "Subpath": ""}},
      {"Type": "bind", "Source": "/srv/conf", "Target": "/conf", "ReadOnly": true,
       "BindOptions": {"Propagation": "rprivate", "CreateMountpoint": true}},
      {"Type": "tmpfs", "Target": "/run", "TmpfsOptions": {"SizeBytes": 65536, "Mode": 1023,
       "Options": [["noexec"]]}}
    ],
    "Tmpfs": {"/tmp": "", "/cache": null},
    "Sysctls": {"net.core.somaxconn": "1024"},
    "Ulimits": [{"Name": "nofile", "Soft": 1024, "Hard": 4096}],
    "BlkioDeviceReadIOps": [{"Path": "/dev/sda", "Rate": 100}],
    "KernelMemoryTCP": 0, "PidsLimit": 100, "MemorySwappiness": 10, "Init": true,
    "DeviceRequests": [{"Driver": "", "Count": -1, "DeviceIDs": null,
                        "Capabilities": [["gpu"]], "Options": {}}],
    "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3},
    "UnknownHostField": true
  },
  "NetworkingConfig": {"EndpointsConfig": {
    "app_default": {"Aliases": ["db"], "IPAMConfig": {"IPv4Address": "172.20.0.5"},
                    "DNSNames": ["db", "app-db-1"], "DriverOpts": null},
    "other": null
  }}
}"#;

fn parse(s: &str) -> ContainerCreateBody {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("body should parse: {e}"))
}

#[test]
fn cli_run_body() {
    let b = parse(CLI_RUN);
    assert_eq!(b.config.image, "nginx:alpine");
    assert_eq!(b.config.env, ["A=b"]);
    assert_eq!(b.config.cmd, None);
    assert_eq!(b.config.entrypoint, None);
    assert!(b.config.exposed_ports.contains_key("80/tcp"));
    let hc = &b.host_config;
    assert_eq!(hc.binds, ["/tmp:/data"]);
    assert_eq!(hc.network_mode, "bridge");
    let binding = hc.port_bindings["80/tcp"].as_ref().expect("bindings");
    assert_eq!(binding[0].host_port, "8080");
    assert_eq!(hc.restart_policy.name, "unless-stopped");
    assert_eq!(hc.cap_add, ["NET_ADMIN"]);
    assert!(hc.cap_drop.is_empty() && hc.links.is_empty() && hc.extra_hosts.is_empty());
    assert_eq!(hc.console_size, Some([0, 0]));
    assert_eq!(hc.resources.memory, 268_435_456);
    assert_eq!(hc.resources.pids_limit, None);
    assert_eq!(hc.resources.memory_swappiness, None);
    assert_eq!(hc.init, None);
    assert!(b.networking_config.endpoints_config.contains_key("bridge"));
}

#[test]
fn docker_py_body_with_null_strings() {
    let b = parse(DOCKER_PY);
    assert_eq!(b.config.hostname, "");
    assert_eq!(b.config.user, "");
    assert_eq!(b.config.working_dir, "");
    assert!(b.config.env.is_empty() && b.config.labels.is_empty());
    assert_eq!(b.config.cmd.as_deref(), Some(&["echo hi".to_string()][..]));
    assert!(b.config.tty);
    assert_eq!(b.host_config.network_mode, "default");
    assert!(b.networking_config.endpoints_config.is_empty());
}

#[test]
fn compose_body_with_mounts_and_unknown_fields() {
    let b = parse(COMPOSE);
    assert_eq!(b.config.entrypoint.as_deref(), Some(&["docker-entrypoint.sh".to_string()][..]));
    let hc = b.config.healthcheck.as_ref().expect("healthcheck");
    assert_eq!((hc.test[0].as_str(), hc.interval, hc.retries), ("CMD-SHELL", 5_000_000_000, 5));
    assert_eq!(b.config.stop_timeout, Some(30));
    let m = &b.host_config.mounts;
    assert_eq!(m.len(), 3);
    assert_eq!(m[0].r#type, "volume");
    assert!(m[1].read_only);
    assert_eq!(m[1].bind_options.as_ref().map(|o| o.propagation.as_str()), Some("rprivate"));
    assert_eq!(m[2].tmpfs_options.as_ref().map(|o| o.size_bytes), Some(65536));
    assert_eq!(b.host_config.tmpfs.get("/cache").map(String::as_str), Some(""));
    assert_eq!(b.host_config.resources.pids_limit, Some(100));
    assert_eq!(b.host_config.resources.blkio_device_read_iops[0].rate, 100);
    assert_eq!(b.host_config.resources.device_requests[0].capabilities, [["gpu"]]);
    assert_eq!(b.host_config.init, Some(true));
    let eps = &b.networking_config.endpoints_config;
    assert_eq!(eps["app_default"].aliases, ["db"]);
    assert_eq!(
        eps["app_default"].ipam_config.as_ref().map(|c| c.ipv4_address.as_str()),
        Some("172.20.0.5")
    );
    assert_eq!(eps["other"], Default::default());
}

#[test]
fn wrong_types_are_rejected() {
    let cases = [
        json!({"Tty": "yes"}),
        json!({"Env": "A=b"}),
        json!({"Cmd": 5}),
        json!({"Cmd": [1, 2]}),
        json!({"Labels": ["a"]}),
        json!({"ExposedPorts": ["80/tcp"]}),
        json!({"StopTimeout": "10"}),
        json!({"HostConfig": []}),
        json!({"HostConfig": {"Memory": "1g"}}),
        json!({"HostConfig": {"PortBindings": {"80/tcp": [{"HostPort": 8080}]}}}),
        json!({"HostConfig": {"BlkioWeight": 70000}}),
        json!({"HostConfig": {"Privileged": 1}}),
        json!({"NetworkingConfig": {"EndpointsConfig": {"n": {"Aliases": "db"}}}}),
    ];
    for case in cases {
        let r = serde_json::from_value::<ContainerCreateBody>(case.clone());
        assert!(r.is_err(), "{case} should be rejected");
    }
}

#[test]
fn empty_body_is_all_defaults() {
    let b = parse("{}");
    assert_eq!(b, ContainerCreateBody::default());
}

#[test]
fn serialises_docker_field_names() {
    let b = parse(COMPOSE);
    let v = serde_json::to_value(&b).expect("serialises");
    let hc = &v["HostConfig"];
    for key in [
        "ContainerIDFile", "UTSMode", "BlkioDeviceReadIOps", "BlkioDeviceWriteIOps", "IOMaximumIOps",
        "CgroupnsMode", "PortBindings", "RestartPolicy", "Memory", "NanoCpus", "PidsLimit", "Ulimits",
    ] {
        assert!(hc.get(key).is_some(), "HostConfig.{key} missing");
    }
    assert_eq!(hc["Mounts"][0]["Type"], "volume");
    assert_eq!(hc["DeviceRequests"][0]["DeviceIDs"], json!([]));
    for key in ["Image", "Cmd", "Entrypoint", "Env", "Healthcheck", "StopSignal", "Shell", "WorkingDir"] {
        assert!(v.get(key).is_some(), "{key} missing");
    }
    assert_eq!(v["NetworkingConfig"]["EndpointsConfig"]["app_default"]["IPAMConfig"]["IPv4Address"], "172.20.0.5");
    assert_eq!(v["NetworkingConfig"]["EndpointsConfig"]["app_default"]["DNSNames"], json!(["db", "app-db-1"]));
    assert!(v.get("FutureConfigField").is_none());
}

#[test]
fn round_trips() {
    for body in [CLI_RUN, DOCKER_PY, COMPOSE] {
        let b = parse(body);
        let json = serde_json::to_string(&b).expect("serialises");
        let back: ContainerCreateBody = serde_json::from_str(&json).expect("re-parses");
        assert_eq!(back, b);
        let _: Value = serde_json::from_str(&json).expect("valid JSON");
    }
}
