//! /_ping, /version, /info, /events, API versions and Docker's error shape.

use berth_tests::daemon::{Daemon, block_on};

#[test]
fn ping_version_and_info_over_the_socket() {
    let d = Daemon::start();
    block_on(async {
        let c = api::Client::new(&d.host()).unwrap();
        let r = c.get("/_ping", &[], None).await.unwrap();
        assert_eq!(r.status.as_u16(), 200);
        assert_eq!(&r.body[..], b"OK");
        assert_eq!(r.headers.get("api-version").unwrap(), "1.47");
        assert_eq!(r.headers.get("ostype").unwrap(), "linux");
        assert_eq!(r.headers.get("swarm").unwrap(), "inactive");
        let r = c.head("/_ping", &[], None).await.unwrap();
        assert_eq!(r.status.as_u16(), 200);
        assert!(r.body.is_empty());

        let v: serde_json::Value = c.get_json("/v1.44/version", &[]).await.unwrap();
        assert_eq!(v["ApiVersion"], "1.47");
        assert_eq!(v["MinAPIVersion"], "1.24");
        assert_eq!(v["Os"], "linux");
        let info: serde_json::Value = c.get_json("/info", &[]).await.unwrap();
        assert_eq!(info["Swarm"]["LocalNodeState"], "inactive");
        assert_eq!(info["CgroupVersion"], "1");
        assert_eq!(info["DockerRootDir"], d.dir.path().join("data").display().to_string());
        assert!(info["NCPU"].as_i64().unwrap() >= 1);
        assert!(info["Runtimes"]["berth"].is_object());
        // The id is the daemon's own and stays the same.
        let again: serde_json::Value = c.get_json("/info", &[]).await.unwrap();
        assert_eq!(info["ID"], again["ID"]);
    });
}

#[test]
fn errors_are_json_with_docker_status_codes() {
    let d = Daemon::start();
    block_on(async {
        let c = api::Client::new(&d.host()).unwrap();
        for (path, query, status, want) in [
            ("/nope", vec![], 404, "page not found"),
            ("/v1.99/version", vec![], 400, "is too new"),
            ("/v1.12/version", vec![], 400, "too old"),
            ("/events", vec![("since", "yesterday-ish")], 400, ""),
            ("/events", vec![("filters", r#"{"bogus":["x"]}"#)], 400, "invalid filter 'bogus'"),
        ] {
            match c.get(path, &query, None).await {
                Err(api::ClientError::Api { status: s, message }) => {
                    assert_eq!(s, status, "{path}: {message}");
                    assert!(message.contains(want), "{path}: {message}");
                }
                other => panic!("{path}: {other:?}"),
            }
        }
    });
}

#[test]
fn the_docker_cli_talks_to_berthd() {
    let d = Daemon::start();
    let Some(out) = d.docker(&["version", "--format", "{{.Server.APIVersion}} {{.Server.Os}}"]) else {
        berth_tests::skip("no docker CLI");
        return;
    };
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1.47 linux");
    let out = d.docker(&["info", "--format", "{{.Swarm.LocalNodeState}} {{.CgroupVersion}} {{.Driver}}"]).unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "inactive 1 overlay2");
}

#[test]
fn stopping_removes_the_socket_and_pid_file() {
    let mut d = Daemon::start();
    let pidfile = d.dir.path().join("berthd.pid");
    assert!(pidfile.exists());
    let status = d.stop().unwrap();
    assert!(status.success(), "{status}: {}", d.log());
    assert!(!d.socket.exists());
    assert!(!pidfile.exists());
}

/// Request bodies are read as Go reads them: a key matches its field whatever its
/// case (docker-py sends `detachKeys`), while map keys (labels, network names) stay
/// as sent. Create, update, exec, and network create and connect.
#[test]
fn request_bodies_match_fields_whatever_their_case() {
    let d = Daemon::start();
    d.load_busybox();
    let n = berth_tests::daemon::TestNetwork::claim();
    block_on(async {
        let c = api::Client::new(&d.host()).unwrap();
        let net = serde_json::json!({
            "name": "folded", "internal": true, "labels": {"Team": "a"},
            "ipam": {"config": [{"subnet": format!("{}.0/24", n.net)}]},
            "options": {"com.docker.network.bridge.name": n.bridge},
        });
        let made: serde_json::Value = c.post_json("/networks/create", &[], &net).await.unwrap();
        let shown: serde_json::Value = c.get_json(&format!("/networks/{}", made["Id"].as_str().unwrap()), &[]).await.unwrap();
        assert_eq!((shown["Name"].as_str(), shown["Internal"].as_bool()), (Some("folded"), Some(true)));
        assert_eq!(shown["Labels"], serde_json::json!({"Team": "a"}));
        assert_eq!(shown["IPAM"]["Config"][0]["Subnet"], format!("{}.0/24", n.net));
        let body = serde_json::json!({
            "image": "busybox", "cmd": ["sleep", "60"], "LABELS": {"Mixed.Case": "kept"},
            "hostconfig": {"memory": 64 << 20, "restartpolicy": {"name": "on-failure", "maximumretrycount": 2}},
        });
        let created: serde_json::Value = c.post_json("/containers/create", &[("name", "cased")], &body).await.unwrap();
        let id = created["Id"].as_str().unwrap().to_string();
        let inspect = || async { c.get_json::<serde_json::Value>("/containers/cased/json", &[]).await.unwrap() };
        let i = inspect().await;
        assert_eq!(i["Config"]["Cmd"], serde_json::json!(["sleep", "60"]));
        assert_eq!(i["Config"]["Labels"], serde_json::json!({"Mixed.Case": "kept"}));
        assert_eq!(i["HostConfig"]["Memory"], 64 << 20);
        assert_eq!(i["HostConfig"]["RestartPolicy"], serde_json::json!({"Name": "on-failure", "MaximumRetryCount": 2}));
        let _: serde_json::Value = c.post_json("/containers/cased/update", &[], &serde_json::json!({"memory": 32 << 20})).await.unwrap();
        assert_eq!(inspect().await["HostConfig"]["Memory"], 32 << 20);
        c.post("/containers/cased/start", &[], None).await.unwrap();
        let connect = serde_json::json!({"container": id, "endpointconfig": {"aliases": ["db"]}});
        c.post(&format!("/networks/{}/connect", made["Id"].as_str().unwrap()), &[], Some(api::client::Body::json(&connect).unwrap())).await.unwrap();
        assert_eq!(inspect().await["NetworkSettings"]["Networks"]["folded"]["Aliases"], serde_json::json!(["db"]));
        let exec: serde_json::Value = c
            .post_json("/containers/cased/exec", &[], &serde_json::json!({"cmd": ["true"], "detachKeys": "ctrl-x", "attachstdout": true}))
            .await
            .unwrap();
        let e: serde_json::Value = c.get_json(&format!("/exec/{}/json", exec["Id"].as_str().unwrap()), &[]).await.unwrap();
        assert_eq!((e["OpenStdout"].as_bool(), e["ProcessConfig"]["entrypoint"].as_str()), (Some(true), Some("true")));
        c.delete("/containers/cased", &[("force", "1")], None).await.unwrap();
        c.delete("/networks/folded", &[], None).await.unwrap();
    });
}
