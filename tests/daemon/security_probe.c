/* The syscall probe of security.rs: runs the syscall named by argv[1] and prints "ok" or
   the errno name. Built static at test time, as busybox has no such tool. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

static int report(long r) {
    puts(r < 0 ? strerrorname_np(errno) : "ok");
    return 0;
}

/* PTRACE_ATTACH to a child that made itself non-dumpable: only CAP_SYS_PTRACE may. */
static long ptrace_child(void) {
    int p[2];
    char c;
    if (pipe(p) < 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_DUMPABLE, 0);
        write(p[1], "x", 1);
        for (;;) pause();
    }
    read(p[0], &c, 1);
    long r = ptrace(PTRACE_ATTACH, pid, 0, 0);
    int e = errno;
    kill(pid, SIGKILL);
    waitpid(pid, 0, 0);
    errno = e;
    return r;
}

static long clone3_child(void) {
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.exit_signal = SIGCHLD;
    long r = syscall(SYS_clone3, &args, sizeof args);
    if (r == 0) _exit(0);
    if (r > 0) waitpid(r, 0, 0);
    return r;
}

int main(int argc, char **argv) {
    const char *what = argc > 1 ? argv[1] : "";
    if (!strcmp(what, "unshare-user")) return report(unshare(CLONE_NEWUSER));
    if (!strcmp(what, "keyctl")) return report(syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -3 /* session */, 0));
    if (!strcmp(what, "add_key")) return report(syscall(SYS_add_key, "user", "probe", "x", 1, -2 /* process */));
    if (!strcmp(what, "init_module")) return report(syscall(SYS_init_module, 0, 0, ""));
    if (!strcmp(what, "finit_module")) return report(syscall(SYS_finit_module, -1, "", 0));
    /* Wrong magic numbers: even where reboot is allowed it only fails with EINVAL. */
    if (!strcmp(what, "reboot")) return report(syscall(SYS_reboot, 0, 0, 0, 0));
    if (!strcmp(what, "ptrace")) return report(ptrace_child());
    if (!strcmp(what, "clone3")) return report(clone3_child());
    if (!strcmp(what, "raw-socket")) return report(socket(AF_INET, SOCK_RAW, IPPROTO_ICMP));
    if (!strcmp(what, "mknod")) {
        long r = mknod("/tmp/probe-null", S_IFCHR | 0600, makedev(1, 3));
        int e = errno;
        unlink("/tmp/probe-null");
        errno = e;
        return report(r);
    }
    if (!strcmp(what, "mkdir")) {
        long r = mkdir("/tmp/probe-dir", 0755);
        int e = errno;
        rmdir("/tmp/probe-dir");
        errno = e;
        return report(r);
    }
    if (!strcmp(what, "personality-query")) return report(personality(0xffffffff));
    if (!strcmp(what, "personality-no-aslr")) return report(personality(ADDR_NO_RANDOMIZE));
    fprintf(stderr, "probe: unknown syscall %s\n", what);
    return 2;
}
