//! Command-line mistakes: docker's messages and exit statuses.

use berth_tests::daemon::Daemon;

use crate::support::{berth, docker};

#[test]
fn usage_errors_match_docker() {
    let d = Daemon::start();
    let r = berth(&d, &["version", "--x"]);
    assert_eq!(r.code, Some(125));
    assert_eq!(
        r.stderr,
        "unknown flag: --x\n\nUsage:  berth version [OPTIONS]\n\nRun 'berth version --help' for more information\n"
    );
    for args in [
        &["version", "--x"][..],
        &["version", "-x"],
        &["--bogus", "version"],
        &["version", "-f"],
        &["version", "extra"],
        &["bogus"],
        &["system", "bogus"],
        &["events", "--filter", "nope"],
        &["-l", "loud", "version"],
    ] {
        let r = berth(&d, args);
        assert!(matches!(r.code, Some(1) | Some(125)), "{args:?}: {r:?}");
        if let Some(want) = docker(&d, args) {
            assert_eq!((r.code, &r.stderr), (want.code, &want.stderr), "{args:?}");
        }
    }
    let r = berth(&d, &["version", "--help"]);
    assert_eq!(r.code, Some(0));
    assert!(r.stdout.contains("--format"), "{r:?}");
    let r = berth(&d, &["-v"]);
    assert_eq!(r.code, Some(0));
    assert!(r.stdout.starts_with("berth version 0.1.0, build "), "{r:?}");
}
