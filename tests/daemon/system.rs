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
