//! Reply bodies as a Docker daemon writes them (hand-written from the Engine API
//! reference): they parse, keep Docker's field names when written back, and
//! round-trip.

use api::containers::{ContainerInspect, ContainerSummary, ContainerWaitResponse};
use api::events::EventMessage;
use api::exec::ExecInspect;
use api::images::{ImageDeleteItem, ImageInspect, ImageSummary, ProgressMessage};
use api::stats::ContainerStats;
use api::system::{SystemDf, SystemInfo, SystemVersion};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(v: &Value) -> T {
    let parsed: T = serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("parses: {e}"));
    let again: T = serde_json::from_value(serde_json::to_value(&parsed).expect("serialises")).expect("re-parses");
    assert_eq!(again, parsed);
    parsed
}

#[test]
fn container_summary() {
    let v = json!({
        "Id": "8dfafdbc3a40", "Names": ["/boring_feynman"], "Image": "ubuntu:latest",
        "ImageID": "sha256:d74508fb6632", "Command": "echo 1", "Created": 1367854155,
        "State": "exited", "Status": "Exit 0",
        "Ports": [{"PrivatePort": 2222, "PublicPort": 3333, "Type": "tcp", "IP": "0.0.0.0"},
                  {"PrivatePort": 80, "Type": "tcp"}],
        "Labels": {"com.example.vendor": "Acme"}, "SizeRw": 12288, "SizeRootFs": 0,
        "HostConfig": {"NetworkMode": "default", "Annotations": null},
        "NetworkSettings": {"Networks": {"bridge": {"NetworkID": "7ea29fc1412292a2d7bba362f9253545fecdfa8ce9a6e37dd10ba8bee7129812",
            "IPAddress": "172.17.0.2", "IPPrefixLen": 16, "Gateway": "172.17.0.1", "MacAddress": "02:42:ac:11:00:02",
            "IPAMConfig": null, "Links": null, "Aliases": null, "DNSNames": null}}},
        "Mounts": [{"Name": "fac362...80535", "Source": "/data", "Destination": "/data", "Driver": "local",
                    "Mode": "ro,Z", "RW": false, "Propagation": "", "Type": "volume"}]
    });
    let s: ContainerSummary = round_trip(&v);
    assert_eq!(s.image_id, "sha256:d74508fb6632");
    assert_eq!(s.ports[1].public_port, None);
    assert_eq!(s.network_settings.networks["bridge"].ip_address, "172.17.0.2");
    assert!(!s.mounts[0].rw);
    let out = serde_json::to_value(&s).expect("serialises");
    assert_eq!(out["Ports"][1], json!({"PrivatePort": 80, "Type": "tcp"}));
    assert_eq!(out["Mounts"][0]["RW"], false);
}

#[test]
fn container_inspect() {
    let v = json!({
        "Id": "ba033ac44011", "Created": "2024-05-01T10:00:00.123456789Z", "Path": "/bin/sh",
        "Args": ["-c", "exit 9"],
        "State": {"Status": "exited", "Running": false, "Paused": false, "Restarting": false,
                  "OOMKilled": false, "Dead": false, "Pid": 0, "ExitCode": 9, "Error": "",
                  "StartedAt": "2024-05-01T10:00:01Z", "FinishedAt": "2024-05-01T10:00:02Z",
                  "Health": {"Status": "unhealthy", "FailingStreak": 3,
                             "Log": [{"Start": "a", "End": "b", "ExitCode": 1, "Output": "no"}]}},
        "Image": "sha256:04c5ac1ba9", "ResolvConfPath": "/var/lib/x/resolv.conf",
        "HostnamePath": "/h", "HostsPath": "/hosts", "LogPath": "/log.json", "Name": "/web",
        "RestartCount": 0, "Driver": "overlay2", "Platform": "linux", "MountLabel": "",
        "ProcessLabel": "", "AppArmorProfile": "", "ExecIDs": null,
        "HostConfig": {"Binds": null, "NetworkMode": "bridge", "PortBindings": {},
                       "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
                       "LogConfig": {"Type": "json-file", "Config": {}}, "MemorySwappiness": null},
        "GraphDriver": {"Name": "overlay2", "Data": {"MergedDir": "/m"}},
        "Mounts": [],
        "Config": {"Hostname": "ba033ac44011", "Env": ["PATH=/usr/bin"], "Cmd": ["/bin/sh", "-c", "exit 9"],
                   "Image": "alpine", "Volumes": null, "Entrypoint": null, "OnBuild": null, "Labels": {}},
        "NetworkSettings": {"Bridge": "", "SandboxID": "", "SandboxKey": "",
                            "Ports": {"80/tcp": null, "443/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8443"}]},
                            "SecondaryIPAddresses": null, "IPAddress": "", "Networks": {}}
    });
    let c: ContainerInspect = round_trip(&v);
    assert_eq!(c.state.exit_code, 9);
    assert_eq!(c.state.health.as_ref().map(|h| h.failing_streak), Some(3));
    assert_eq!(c.network_settings.ports["80/tcp"], None);
    assert_eq!(c.config.cmd.as_ref().map(Vec::len), Some(3));
    assert_eq!(c.exec_ids, None);
    let out = serde_json::to_value(&c).expect("serialises");
    assert_eq!(out["State"]["OOMKilled"], false);
    assert_eq!(out["NetworkSettings"]["Ports"]["80/tcp"], Value::Null);
    assert_eq!(out["Config"]["Cmd"][0], "/bin/sh");
    assert_eq!(out["Config"]["Entrypoint"], Value::Null);
}

#[test]
fn wait_and_exec() {
    let w: ContainerWaitResponse = round_trip(&json!({"StatusCode": 137, "Error": {"Message": ""}}));
    assert_eq!(w.status_code, 137);
    let w: ContainerWaitResponse = round_trip(&json!({"StatusCode": 0, "Error": null}));
    // `Error` is written null, as dockerd writes it.
    assert_eq!(serde_json::to_string(&w).expect("ok"), r#"{"StatusCode":0,"Error":null}"#);
    let e: ExecInspect = round_trip(&json!({
        "CanRemove": false, "ContainerID": "b53ee82b53a4", "DetachKeys": "", "ExitCode": 2,
        "ID": "f33bbfb39f5b", "OpenStderr": true, "OpenStdin": true, "OpenStdout": true,
        "ProcessConfig": {"arguments": ["-c", "exit 2"], "entrypoint": "sh", "privileged": false,
                          "tty": true, "user": "1000"},
        "Running": false, "Pid": 42872
    }));
    assert_eq!((e.exit_code, e.process_config.entrypoint.as_str()), (Some(2), "sh"));
}

#[test]
fn images() {
    let s: ImageSummary = round_trip(&json!({
        "Id": "sha256:ec3f0931a6e6", "ParentId": "", "RepoTags": ["example:1.0"], "RepoDigests": null,
        "Created": 1644009612, "Size": 172064416, "SharedSize": -1, "Labels": null, "Containers": 2
    }));
    assert!(s.repo_digests.is_empty() && s.labels.is_empty());
    assert_eq!(s.virtual_size, None);
    let i: ImageInspect = round_trip(&json!({
        "Id": "sha256:ec3f", "RepoTags": ["alpine:3"], "RepoDigests": [], "Parent": "", "Comment": "",
        "Created": "2024-01-27T00:30:48.743965523Z", "DockerVersion": "", "Author": "",
        "Config": {"Env": ["PATH=/bin"], "Cmd": ["/bin/sh"], "WorkingDir": "", "ArgsEscaped": true},
        "Architecture": "amd64", "Os": "linux", "Size": 7377670,
        "GraphDriver": {"Name": "overlay2", "Data": null},
        "RootFS": {"Type": "layers", "Layers": ["sha256:d4fc"]},
        "Metadata": {"LastTagTime": "0001-01-01T00:00:00Z"}
    }));
    assert_eq!(i.root_fs.layers.len(), 1);
    assert!(i.config.args_escaped);
    let items: Vec<ImageDeleteItem> =
        serde_json::from_value(json!([{"Untagged": "alpine:3"}, {"Deleted": "sha256:ec3f"}])).expect("parses");
    assert_eq!(items, [ImageDeleteItem::untagged("alpine:3"), ImageDeleteItem::deleted("sha256:ec3f")]);
    assert_eq!(serde_json::to_string(&items[0]).expect("ok"), r#"{"Untagged":"alpine:3"}"#);
    let p: ProgressMessage = round_trip(&json!({
        "status": "Downloading", "progressDetail": {"current": 10, "total": 100},
        "progress": "[=>   ]", "id": "a1b2"
    }));
    assert_eq!(p.progress_detail.and_then(|d| d.total), Some(100));
    let err = serde_json::to_value(ProgressMessage::error("manifest unknown")).expect("ok");
    assert_eq!(err, json!({"error": "manifest unknown", "errorDetail": {"message": "manifest unknown"}}));
}

#[test]
fn version_and_info() {
    let v: SystemVersion = round_trip(&json!({
        "Platform": {"Name": "berth"},
        "Components": [{"Name": "Engine", "Version": "0.1.0", "Details": {"ApiVersion": "1.47"}}],
        "Version": "0.1.0", "ApiVersion": "1.47", "MinAPIVersion": "1.24", "GitCommit": "abc",
        "GoVersion": "rustc 1.95", "Os": "linux", "Arch": "amd64", "KernelVersion": "6.8.0",
        "BuildTime": "2024-05-01T00:00:00Z"
    }));
    assert_eq!(v.min_api_version, "1.24");
    let info = SystemInfo::default();
    let out = serde_json::to_value(&info).expect("serialises");
    assert_eq!(out["Swarm"]["LocalNodeState"], "inactive");
    for key in [
        "ID", "Containers", "ContainersRunning", "ContainersPaused", "ContainersStopped", "Images", "Driver",
        "DriverStatus", "DockerRootDir", "Plugins", "MemoryLimit", "SwapLimit", "CpuCfsPeriod", "CpuCfsQuota",
        "CPUShares", "CPUSet", "PidsLimit", "OomKillDisable", "IPv4Forwarding", "Debug", "NFd", "NGoroutines",
        "SystemTime", "LoggingDriver", "CgroupDriver", "CgroupVersion", "NEventsListener", "KernelVersion",
        "OperatingSystem", "OSVersion", "OSType", "Architecture", "NCPU", "MemTotal", "IndexServerAddress",
        "GenericResources", "HttpProxy", "HttpsProxy", "NoProxy", "Name", "Labels", "ExperimentalBuild",
        "ServerVersion", "Runtimes", "DefaultRuntime", "Swarm", "LiveRestoreEnabled", "Isolation",
        "InitBinary", "ContainerdCommit", "RuncCommit", "InitCommit", "SecurityOptions", "CDISpecDirs",
        "Warnings",
    ] {
        assert!(out.get(key).is_some(), "SystemInfo.{key} missing");
    }
    let parsed: SystemInfo = round_trip(&json!({
        "ID": "7TRN", "Containers": 3, "DriverStatus": [["Backing Filesystem", "extfs"]],
        "Runtimes": {"runc": {"path": "runc"}, "berth": {"path": "/usr/bin/berth-runtime", "runtimeArgs": ["--x"]}},
        "RegistryConfig": {"InsecureRegistryCIDRs": ["127.0.0.0/8"],
            "IndexConfigs": {"docker.io": {"Name": "docker.io", "Mirrors": [], "Secure": true, "Official": true}},
            "Mirrors": null},
        "Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive", "ControlAvailable": false,
                  "Error": "", "RemoteManagers": null},
        "ContainerdCommit": {"ID": "v1.7", "Expected": "v1.7"}, "SecurityOptions": ["name=seccomp,profile=builtin"],
        "SomethingNew": 1
    }));
    assert_eq!(parsed.driver_status[0][1], "extfs");
    assert_eq!(parsed.runtimes["berth"].runtime_args, ["--x"]);
    assert!(serde_json::from_value::<SystemInfo>(json!({"NCPU": "2"})).is_err());
}

#[test]
fn system_df() {
    let df: SystemDf = round_trip(&json!({
        "LayersSize": 1092588, "Images": [{"Id": "sha256:2b8f", "RepoTags": ["busybox:latest"], "Size": 1092588,
        "SharedSize": 0, "Containers": 1, "Created": 1466724217}],
        "Containers": [{"Id": "e575", "Names": ["/top"], "SizeRootFs": 1092588, "State": "exited"}],
        "Volumes": [{"Name": "my-volume", "Driver": "local", "Mountpoint": "/var/lib/docker/volumes/my-volume/_data",
                     "Labels": null, "Scope": "local", "Options": null, "UsageData": {"Size": 10920104, "RefCount": 2}}],
        "BuildCache": null
    }));
    assert_eq!(df.volumes[0].usage_data.as_ref().map(|u| u.ref_count), Some(2));
    assert!(df.build_cache.is_empty());
}

#[test]
fn events() {
    let e: EventMessage = round_trip(&json!({
        "status": "start", "id": "ede54ee1afda", "from": "alpine", "Type": "container", "Action": "start",
        "Actor": {"ID": "ede54ee1afda", "Attributes": {"image": "alpine", "name": "test"}},
        "scope": "local", "time": 1461943101, "timeNano": 1461943101381709551_i64
    }));
    assert_eq!(e.actor.attributes["name"], "test");
    let mut attrs = std::collections::BTreeMap::new();
    attrs.insert("image".to_string(), "alpine".to_string());
    let made = EventMessage::new(EventMessage::CONTAINER, "start", "ede54ee1afda", attrs, 1461943101381709551);
    assert_eq!((made.time, made.from.as_str(), made.status.as_str()), (1461943101, "alpine", "start"));
    let net = serde_json::to_value(EventMessage::new("network", "connect", "n1", Default::default(), 0)).expect("ok");
    assert!(net.get("status").is_none() && net.get("id").is_none());
    assert_eq!(net["Actor"]["ID"], "n1");
}

#[test]
fn stats() {
    let s: ContainerStats = round_trip(&json!({
        "read": "2024-05-01T10:00:01Z", "preread": "2024-05-01T10:00:00Z", "name": "/web", "id": "ab",
        "pids_stats": {"current": 3, "limit": 100},
        "blkio_stats": {"io_service_bytes_recursive": [{"major": 8, "minor": 0, "op": "read", "value": 4096}],
                        "io_serviced_recursive": null},
        "num_procs": 0, "storage_stats": {},
        "cpu_stats": {"cpu_usage": {"total_usage": 200000000, "usage_in_kernelmode": 1, "usage_in_usermode": 2},
                      "system_cpu_usage": 2000000000, "online_cpus": 2,
                      "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}},
        "precpu_stats": {"cpu_usage": {"total_usage": 100000000}, "system_cpu_usage": 1000000000,
                         "throttling_data": {}},
        "memory_stats": {"usage": 10485760, "stats": {"inactive_file": 2097152}, "limit": 1073741824},
        "networks": {"eth0": {"rx_bytes": 5338, "rx_dropped": 0, "rx_errors": 0, "rx_packets": 36,
                              "tx_bytes": 648, "tx_dropped": 0, "tx_errors": 0, "tx_packets": 8}}
    }));
    assert!((s.cpu_percent() - 20.0).abs() < 1e-9);
    assert_eq!(s.memory_used(), 8_388_608);
    assert_eq!(s.networks.as_ref().map(|n| n["eth0"].rx_packets), Some(36));
}
