//! terminal: true — the pty master arrives over --console-socket, as with runc.

use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixListener;

use berth_tests::require_root;
use berth_tests::runtime::Runtime;
use serde_json::json;

fn recv_fd(sock: &std::os::unix::net::UnixStream) -> OwnedFd {
    use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
    let mut buf = [0u8; 256];
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = recvmsg::<()>(sock.as_raw_fd(), &mut iov, Some(&mut space), MsgFlags::empty()).unwrap();
    for c in msg.cmsgs().unwrap() {
        if let ControlMessageOwned::ScmRights(fds) = c {
            // SAFETY: the kernel installed this fd for us.
            return unsafe { OwnedFd::from_raw_fd(fds[0]) };
        }
    }
    panic!("no fd received");
}

#[test]
fn terminal_master_is_sent_over_the_console_socket() {
    require_root!();
    let rt = Runtime::new();
    let b = rt.bundle(&["sh", "-c", "tty; stty size; echo done"], |s| {
        s["process"]["terminal"] = true.into();
        s["process"]["consoleSize"] = json!({"height": 30, "width": 100});
    });
    let sock_path = rt.path("console.sock");
    let listener = UnixListener::bind(&sock_path).unwrap();
    let runtime = rt.cmd()
        .args(["create", "--console-socket", sock_path.to_str().unwrap(), "--bundle", b.dir.to_str().unwrap(), &b.id])
        .spawn()
        .unwrap();
    let (conn, _) = listener.accept().unwrap();
    let master = recv_fd(&conn);
    let out = runtime.wait_with_output().unwrap();
    assert!(out.status.success());
    rt.run(&["start", &b.id]).ok();
    let mut f = std::fs::File::from(master);
    let mut text = Vec::new();
    let mut buf = [0u8; 1024];
    // Read until "done" (EIO once the slave side closes).
    while let Ok(n) = f.read(&mut buf) {
        if n == 0 {
            break;
        }
        text.extend_from_slice(&buf[..n]);
        if String::from_utf8_lossy(&text).contains("done") {
            break;
        }
    }
    let text = String::from_utf8_lossy(&text);
    assert!(text.contains("/dev/pts/0"), "{text}");
    assert!(text.contains("30 100"), "{text}");
}

#[test]
fn foreground_run_relays_its_own_terminal() {
    require_root!();
    let rt = Runtime::new();
    let b = rt.bundle(&["sh"], |s| s["process"]["terminal"] = true.into());
    // The user's terminal: a pty whose slave is the runtime's stdio.
    let pty = nix::pty::openpty(None, None).unwrap();
    let slave = std::fs::File::from(pty.slave);
    let mut child = rt
        .cmd()
        .args(["run", "--bundle", b.dir.to_str().unwrap(), &b.id])
        .stdin(slave.try_clone().unwrap())
        .stdout(slave.try_clone().unwrap())
        .stderr(slave)
        .spawn()
        .unwrap();
    let mut master = std::fs::File::from(pty.master);
    std::io::Write::write_all(&mut master, b"tty; echo relayed-$((6*7)); exit 5\n").unwrap();
    let mut text = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&text).contains("relayed-42") {
        match master.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => text.extend_from_slice(&buf[..n]),
        }
    }
    assert_eq!(child.wait().unwrap().code(), Some(5));
    let text = String::from_utf8_lossy(&text);
    assert!(text.contains("/dev/pts/0"), "{text}");
}
