//! bollard, a Rust Docker client, against berthd unchanged: ping, version, images,
//! create, start, wait, logs, inspect, list, remove, and a not-found error.

use berth_tests::daemon::{Daemon, block_on};
use bollard::Docker;
use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, InspectContainerOptions, ListContainersOptionsBuilder, ListImagesOptions,
    LogsOptionsBuilder, RemoveContainerOptionsBuilder, StartContainerOptions, WaitContainerOptions,
};
use futures_util::StreamExt;

#[test]
fn bollard_drives_a_container_lifecycle() {
    berth_tests::require_root!();
    let d = Daemon::start();
    d.load_busybox();
    let docker = Docker::connect_with_unix(d.socket.to_str().unwrap(), 30, bollard::API_DEFAULT_VERSION).unwrap();
    block_on(async {
        assert_eq!(docker.ping().await.unwrap(), "OK");
        let version = docker.version().await.unwrap();
        assert_eq!(version.os.as_deref(), Some("linux"));
        let images = docker.list_images(None::<ListImagesOptions>).await.unwrap();
        assert!(images.iter().any(|i| i.repo_tags.iter().any(|t| t == "busybox:latest")), "{images:?}");

        let body = ContainerCreateBody {
            image: Some("busybox".into()),
            cmd: Some(vec!["sh".into(), "-c".into(), "echo out; echo err >&2; exit 4".into()]),
            ..Default::default()
        };
        let created = docker
            .create_container(Some(CreateContainerOptionsBuilder::new().name("from-bollard").build()), body)
            .await
            .unwrap();
        docker.start_container(&created.id, None::<StartContainerOptions>).await.unwrap();
        let waited: Vec<_> = docker.wait_container(&created.id, None::<WaitContainerOptions>).collect().await;
        // bollard reports a non-zero exit as an error carrying the code.
        match &waited[0] {
            Ok(r) => assert_eq!(r.status_code, 4),
            Err(bollard::errors::Error::DockerContainerWaitError { code, .. }) => assert_eq!(*code, 4),
            Err(e) => panic!("wait: {e}"),
        }
        let logs: Vec<String> = docker
            .logs(&created.id, Some(LogsOptionsBuilder::new().stdout(true).stderr(true).build()))
            .map(|l| l.unwrap().to_string())
            .collect()
            .await;
        assert_eq!(logs.concat(), "out\nerr\n");
        let info = docker.inspect_container("from-bollard", None::<InspectContainerOptions>).await.unwrap();
        let state = info.state.unwrap();
        assert_eq!((state.exit_code, state.running), (Some(4), Some(false)));
        assert_eq!(info.name.as_deref(), Some("/from-bollard"));
        let listed = docker.list_containers(Some(ListContainersOptionsBuilder::new().all(true).build())).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].names.as_deref(), Some(&["/from-bollard".to_string()][..]));
        docker
            .remove_container(&created.id, Some(RemoveContainerOptionsBuilder::new().force(true).build()))
            .await
            .unwrap();
        match docker.inspect_container("from-bollard", None::<InspectContainerOptions>).await {
            Err(bollard::errors::Error::DockerResponseServerError { status_code, message }) => {
                assert_eq!((status_code, message.as_str()), (404, "No such container: from-bollard"));
            }
            other => panic!("expected a 404, got {other:?}"),
        }
    });
}
