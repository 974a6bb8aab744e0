//! The container commands' grammar: `run`, `create`, `start`, `stop`, `kill`,
//! `restart`, `pause`, `unpause`, `rm`, `rename`, `wait`, `attach`, `exec`,
//! `logs`, `ps`, `inspect`, `export`, `cp`, `commit`, `stats` and the `container` management group, with
//! docker's flag names, shorthands and usage lines.
//!
//! Positional arguments are optional to clap: each command checks their count
//! and words the error as docker does (`"berth rename" requires 2
//! arguments`), with exit status 1.

use clap::{ArgAction, Args, Subcommand};

use super::{parse_filter, values};

/// Help layout of commands with a docker usage line: `{bin}` is the full
/// command path (`berth container run`), `{usage}` the line after it.
pub const HELP_TEMPLATE: &str = "{about-with-newline}\nUsage:  {bin} {usage}\n\n{all-args}{after-help}";

pub const RUN_USAGE: &str = "[OPTIONS] IMAGE [COMMAND] [ARG...]";
pub const CREATE_USAGE: &str = "[OPTIONS] IMAGE [COMMAND] [ARG...]";
pub const START_USAGE: &str = "[OPTIONS] CONTAINER [CONTAINER...]";
pub const STOP_USAGE: &str = "[OPTIONS] CONTAINER [CONTAINER...]";
pub const KILL_USAGE: &str = "[OPTIONS] CONTAINER [CONTAINER...]";
pub const RESTART_USAGE: &str = "[OPTIONS] CONTAINER [CONTAINER...]";
pub const PAUSE_USAGE: &str = "CONTAINER [CONTAINER...]";
pub const UNPAUSE_USAGE: &str = "CONTAINER [CONTAINER...]";
pub const RM_USAGE: &str = "[OPTIONS] CONTAINER [CONTAINER...]";
pub const RENAME_USAGE: &str = "CONTAINER NEW_NAME";
pub const TOP_USAGE: &str = "CONTAINER [ps OPTIONS]";
pub const DIFF_USAGE: &str = "CONTAINER";
pub const WAIT_USAGE: &str = "CONTAINER [CONTAINER...]";
pub const ATTACH_USAGE: &str = "[OPTIONS] CONTAINER";
pub const EXEC_USAGE: &str = "[OPTIONS] CONTAINER COMMAND [ARG...]";
pub const LOGS_USAGE: &str = "[OPTIONS] CONTAINER";
pub const EXPORT_USAGE: &str = "[OPTIONS] CONTAINER";
pub const INSPECT_USAGE: &str = "[OPTIONS] NAME|ID [NAME|ID...]";
pub const CONTAINER_INSPECT_USAGE: &str = "[OPTIONS] CONTAINER [CONTAINER...]";
pub const STATS_USAGE: &str = "[OPTIONS] [CONTAINER...]";
pub const UPDATE_USAGE: &str = "[OPTIONS] CONTAINER [CONTAINER...]";
pub const PORT_USAGE: &str = "CONTAINER [PRIVATE_PORT[/PROTO]]";
pub const COMMIT_USAGE: &str = "[OPTIONS] CONTAINER [REPOSITORY[:TAG]]";
/// Docker's two-line `cp` usage; its second line names `cp` whichever way it is reached.
pub const CP_USAGE: &str =
    "[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tberth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH";

/// `berth container …`.
#[derive(Debug, Args)]
#[command(subcommand_value_name = "COMMAND")]
pub struct ContainerArgs {
    #[command(subcommand)]
    pub command: Option<ContainerCommand>,
}

#[derive(Debug, Subcommand)]
pub enum ContainerCommand {
    /// Attach local standard input, output, and error streams to a running container
    Attach(AttachArgs),
    /// Create a new image from a container's changes
    Commit(CommitArgs),
    /// Copy files/folders between a container and the local filesystem
    Cp(CpArgs),
    /// Create a new container
    Create(CreateArgs),
    /// Execute a command in a running container
    Exec(ExecArgs),
    /// Export a container's filesystem as a tar archive
    Export(ExportArgs),
    /// Display detailed information on one or more containers
    Inspect(ContainerInspectArgs),
    /// Kill one or more running containers
    Kill(KillArgs),
    /// Fetch the logs of a container
    Logs(LogsArgs),
    /// List containers
    #[command(visible_aliases = ["ps", "list"])]
    Ls(PsArgs),
    /// Pause all processes within one or more containers
    Pause(PauseArgs),
    /// List port mappings or a specific mapping for the container
    Port(PortArgs),
    /// Remove all stopped containers
    Prune(PruneArgs),
    /// Rename a container
    Rename(RenameArgs),
    /// Display the running processes of a container
    Top(TopArgs),
    /// Inspect changes to files or directories on a container's filesystem
    Diff(DiffArgs),
    /// Restart one or more containers
    Restart(RestartArgs),
    /// Remove one or more containers
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
    /// Create and run a new container from an image
    Run(RunArgs),
    /// Start one or more stopped containers
    Start(StartArgs),
    /// Display a live stream of container(s) resource usage statistics
    Stats(StatsArgs),
    /// Stop one or more running containers
    Stop(StopArgs),
    /// Unpause all processes within one or more containers
    Unpause(UnpauseArgs),
    /// Update configuration of one or more containers
    Update(UpdateArgs),
    /// Block until one or more containers stop, then print their exit codes
    Wait(WaitArgs),
}

/// The flags `run` and `create` share, which become the container's
/// configuration (docker's `containerOptions`).
#[derive(Debug, Clone, Args)]
pub struct ContainerOpts {
    /// Attach to STDIN, STDOUT or STDERR
    #[arg(short = 'a', long = "attach", value_name = "list", value_parser = values::attach)]
    pub attach: Vec<String>,
    /// Add a rule to the cgroup allowed devices list
    #[arg(long = "device-cgroup-rule", value_name = "list", value_parser = values::device_cgroup_rule)]
    pub device_cgroup_rule: Vec<String>,
    /// Add a host device to the container
    #[arg(long = "device", value_name = "list")]
    pub device: Vec<String>,
    /// Set environment variables
    #[arg(short = 'e', long = "env", value_name = "list", value_parser = values::env)]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long = "env-file", value_name = "list")]
    pub env_file: Vec<String>,
    /// Overwrite the default ENTRYPOINT of the image
    #[arg(long = "entrypoint", value_name = "string", allow_hyphen_values = true)]
    pub entrypoint: Option<String>,
    /// Add additional groups to join
    #[arg(long = "group-add", value_name = "list")]
    pub group_add: Vec<String>,
    /// Container host name
    #[arg(short = 'h', long = "hostname", value_name = "string", default_value = "", hide_default_value = true)]
    pub hostname: String,
    /// Container NIS domain name
    #[arg(long = "domainname", value_name = "string", default_value = "", hide_default_value = true)]
    pub domainname: String,
    /// Keep STDIN open even if not attached
    #[arg(short = 'i', long = "interactive")]
    pub interactive: bool,
    /// Set meta data on a container
    #[arg(short = 'l', long = "label", value_name = "list", value_parser = values::label)]
    pub label: Vec<String>,
    /// Read in a line delimited file of labels
    #[arg(long = "label-file", value_name = "list")]
    pub label_file: Vec<String>,
    /// Mount the container's root filesystem as read only
    #[arg(long = "read-only")]
    pub read_only: bool,
    /// Restart policy to apply when a container exits
    #[arg(long = "restart", value_name = "string", default_value = "no")]
    pub restart: String,
    /// Signal to stop the container
    #[arg(long = "stop-signal", value_name = "string", default_value = "", hide_default_value = true)]
    pub stop_signal: String,
    /// Timeout (in seconds) to stop a container
    #[arg(long = "stop-timeout", value_name = "int", allow_hyphen_values = true, value_parser = values::int)]
    pub stop_timeout: Option<i64>,
    /// Sysctl options
    #[arg(long = "sysctl", value_name = "map", value_parser = values::sysctl)]
    pub sysctl: Vec<String>,
    /// Allocate a pseudo-TTY
    #[arg(short = 't', long = "tty")]
    pub tty: bool,
    /// Ulimit options
    #[arg(long = "ulimit", value_name = "ulimit", value_parser = values::ulimit)]
    pub ulimit: Vec<api::hostconfig::Ulimit>,
    /// Username or UID (format: <name|uid>[:<group|gid>])
    #[arg(short = 'u', long = "user", value_name = "string", default_value = "", hide_default_value = true)]
    pub user: String,
    /// Working directory inside the container
    #[arg(short = 'w', long = "workdir", value_name = "string", default_value = "", hide_default_value = true)]
    pub workdir: String,
    /// Automatically remove the container and its associated anonymous volumes when it exits
    #[arg(long = "rm")]
    pub rm: bool,

    /// Add Linux capabilities
    #[arg(long = "cap-add", value_name = "list")]
    pub cap_add: Vec<String>,
    /// Drop Linux capabilities
    #[arg(long = "cap-drop", value_name = "list")]
    pub cap_drop: Vec<String>,
    /// Give extended privileges to this container
    #[arg(long = "privileged")]
    pub privileged: bool,
    /// Security Options
    #[arg(long = "security-opt", value_name = "list")]
    pub security_opt: Vec<String>,
    /// User namespace to use
    #[arg(long = "userns", value_name = "string", default_value = "", hide_default_value = true)]
    pub userns: String,
    /// Cgroup namespace to use (host|private)
    #[arg(long = "cgroupns", value_name = "string", default_value = "", hide_default_value = true)]
    pub cgroupns: String,

    /// Add a custom host-to-IP mapping (host:ip)
    #[arg(long = "add-host", value_name = "list", value_parser = values::extra_host)]
    pub add_host: Vec<String>,
    /// Set custom DNS servers
    #[arg(long = "dns", value_name = "list", value_parser = values::ip_address)]
    pub dns: Vec<String>,
    /// Set DNS options
    #[arg(long = "dns-option", alias = "dns-opt", value_name = "list")]
    pub dns_option: Vec<String>,
    /// Set custom DNS search domains
    #[arg(long = "dns-search", value_name = "list", value_parser = values::dns_search)]
    pub dns_search: Vec<String>,
    /// Expose a port or a range of ports
    #[arg(long = "expose", value_name = "list")]
    pub expose: Vec<String>,
    /// IPv4 address (e.g., 172.30.100.104)
    #[arg(long = "ip", value_name = "ip", value_parser = values::ip_address)]
    pub ip: Option<String>,
    /// IPv6 address (e.g., 2001:db8::33)
    #[arg(long = "ip6", value_name = "ip", value_parser = values::ip_address)]
    pub ip6: Option<String>,
    /// Add link to another container
    #[arg(long = "link", value_name = "list", value_parser = values::link)]
    pub link: Vec<String>,
    /// Container MAC address (e.g., 92:d0:c6:0a:29:33)
    #[arg(long = "mac-address", value_name = "string", default_value = "", hide_default_value = true)]
    pub mac_address: String,
    /// Publish a container's port(s) to the host
    #[arg(short = 'p', long = "publish", value_name = "list")]
    pub publish: Vec<String>,
    /// Publish all exposed ports to random ports
    #[arg(short = 'P', long = "publish-all")]
    pub publish_all: bool,
    /// Connect a container to a network
    #[arg(long = "network", alias = "net", value_name = "network")]
    pub network: Vec<String>,
    /// Add network-scoped alias for the container
    #[arg(long = "network-alias", alias = "net-alias", value_name = "list")]
    pub network_alias: Vec<String>,

    /// Logging driver for the container
    #[arg(long = "log-driver", value_name = "string", default_value = "", hide_default_value = true)]
    pub log_driver: String,
    /// Optional volume driver for the container
    #[arg(long = "volume-driver", value_name = "string", default_value = "", hide_default_value = true)]
    pub volume_driver: String,
    /// Log driver options
    #[arg(long = "log-opt", value_name = "list")]
    pub log_opt: Vec<String>,
    /// Storage driver options for the container
    #[arg(long = "storage-opt", value_name = "list")]
    pub storage_opt: Vec<String>,
    /// Mount a tmpfs directory
    #[arg(long = "tmpfs", value_name = "list")]
    pub tmpfs: Vec<String>,
    /// Mount volumes from the specified container(s)
    #[arg(long = "volumes-from", value_name = "list")]
    pub volumes_from: Vec<String>,
    /// Bind mount a volume
    #[arg(short = 'v', long = "volume", value_name = "list")]
    pub volume: Vec<String>,
    /// Attach a filesystem mount to the container
    #[arg(long = "mount", value_name = "mount")]
    pub mount: Vec<String>,

    /// Command to run to check health
    #[arg(
        long = "health-cmd",
        value_name = "string",
        default_value = "",
        hide_default_value = true,
        allow_hyphen_values = true
    )]
    pub health_cmd: String,
    /// Time between running the check (ms|s|m|h) (default 0s)
    #[arg(long = "health-interval", value_name = "duration", allow_hyphen_values = true, value_parser = values::go_duration)]
    pub health_interval: Option<i64>,
    /// Consecutive failures needed to report unhealthy
    #[arg(long = "health-retries", value_name = "int", allow_hyphen_values = true, value_parser = values::int)]
    pub health_retries: Option<i64>,
    /// Maximum time to allow one check to run (ms|s|m|h) (default 0s)
    #[arg(long = "health-timeout", value_name = "duration", allow_hyphen_values = true, value_parser = values::go_duration)]
    pub health_timeout: Option<i64>,
    /// Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)
    #[arg(long = "health-start-period", value_name = "duration", allow_hyphen_values = true, value_parser = values::go_duration)]
    pub health_start_period: Option<i64>,
    /// Time between running the check during the start period (ms|s|m|h) (default 0s)
    #[arg(long = "health-start-interval", value_name = "duration", allow_hyphen_values = true, value_parser = values::go_duration)]
    pub health_start_interval: Option<i64>,
    /// Disable any container-specified HEALTHCHECK
    #[arg(long = "no-healthcheck")]
    pub no_healthcheck: bool,

    /// Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)
    #[arg(long = "blkio-weight", value_name = "uint16", value_parser = values::uint16, default_value = "0")]
    pub blkio_weight: u16,
    /// Block IO weight (relative device weight)
    #[arg(long = "blkio-weight-device", value_name = "list", value_parser = values::weight_device)]
    pub blkio_weight_device: Vec<api::hostconfig::WeightDevice>,
    /// Limit read rate (bytes per second) from a device
    #[arg(long = "device-read-bps", value_name = "list", value_parser = values::throttle_bps)]
    pub device_read_bps: Vec<api::hostconfig::ThrottleDevice>,
    /// Limit read rate (IO per second) from a device
    #[arg(long = "device-read-iops", value_name = "list", value_parser = values::throttle_iops)]
    pub device_read_iops: Vec<api::hostconfig::ThrottleDevice>,
    /// Limit write rate (bytes per second) to a device
    #[arg(long = "device-write-bps", value_name = "list", value_parser = values::throttle_bps)]
    pub device_write_bps: Vec<api::hostconfig::ThrottleDevice>,
    /// Limit write rate (IO per second) to a device
    #[arg(long = "device-write-iops", value_name = "list", value_parser = values::throttle_iops)]
    pub device_write_iops: Vec<api::hostconfig::ThrottleDevice>,
    /// Kernel memory limit
    #[arg(long = "kernel-memory", value_name = "bytes", value_parser = values::ram_in_bytes, default_value = "0", hide_default_value = true)]
    pub kernel_memory: i64,
    /// Write the container ID to the file
    #[arg(long = "cidfile", value_name = "string", default_value = "", hide_default_value = true)]
    pub cidfile: String,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-cpus", value_name = "string", default_value = "", hide_default_value = true)]
    pub cpuset_cpus: String,
    /// MEMs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-mems", value_name = "string", default_value = "", hide_default_value = true)]
    pub cpuset_mems: String,
    /// Limit CPU CFS (Completely Fair Scheduler) period
    #[arg(long = "cpu-period", value_name = "int", allow_hyphen_values = true, value_parser = values::int, default_value = "0")]
    pub cpu_period: i64,
    /// Limit CPU CFS (Completely Fair Scheduler) quota
    #[arg(long = "cpu-quota", value_name = "int", allow_hyphen_values = true, value_parser = values::int, default_value = "0")]
    pub cpu_quota: i64,
    /// Limit CPU real-time period in microseconds
    #[arg(long = "cpu-rt-period", value_name = "int", allow_hyphen_values = true, value_parser = values::int, default_value = "0")]
    pub cpu_rt_period: i64,
    /// Limit CPU real-time runtime in microseconds
    #[arg(long = "cpu-rt-runtime", value_name = "int", allow_hyphen_values = true, value_parser = values::int, default_value = "0")]
    pub cpu_rt_runtime: i64,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long = "cpu-shares", value_name = "int", allow_hyphen_values = true, value_parser = values::int, default_value = "0")]
    pub cpu_shares: i64,
    /// Number of CPUs
    #[arg(long = "cpus", value_name = "decimal", value_parser = values::nano_cpus, default_value = "0")]
    pub cpus: i64,
    /// Memory limit
    #[arg(short = 'm', long = "memory", value_name = "bytes", value_parser = values::ram_in_bytes, default_value = "0")]
    pub memory: i64,
    /// Memory soft limit
    #[arg(long = "memory-reservation", value_name = "bytes", value_parser = values::ram_in_bytes, default_value = "0")]
    pub memory_reservation: i64,
    /// Swap limit equal to memory plus swap: '-1' to enable unlimited swap
    #[arg(long = "memory-swap", value_name = "bytes", allow_hyphen_values = true, value_parser = values::mem_swap, default_value = "0")]
    pub memory_swap: i64,
    /// Tune container memory swappiness (0 to 100)
    #[arg(long = "memory-swappiness", value_name = "int", allow_hyphen_values = true, value_parser = values::int, default_value = "-1")]
    pub memory_swappiness: i64,
    /// Disable OOM Killer
    #[arg(long = "oom-kill-disable")]
    pub oom_kill_disable: bool,
    /// Tune host's OOM preferences (-1000 to 1000)
    #[arg(long = "oom-score-adj", value_name = "int", allow_hyphen_values = true, value_parser = values::int, default_value = "0")]
    pub oom_score_adj: i64,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long = "pids-limit", value_name = "int", allow_hyphen_values = true, value_parser = values::int, default_value = "0")]
    pub pids_limit: i64,

    /// Optional parent cgroup for the container
    #[arg(long = "cgroup-parent", value_name = "string", default_value = "", hide_default_value = true)]
    pub cgroup_parent: String,
    /// IPC mode to use
    #[arg(long = "ipc", value_name = "string", default_value = "", hide_default_value = true)]
    pub ipc: String,
    /// Container isolation technology
    #[arg(long = "isolation", value_name = "string", default_value = "", hide_default_value = true)]
    pub isolation: String,
    /// PID namespace to use
    #[arg(long = "pid", value_name = "string", default_value = "", hide_default_value = true)]
    pub pid: String,
    /// Size of /dev/shm
    #[arg(long = "shm-size", value_name = "bytes", value_parser = values::ram_in_bytes, default_value = "0")]
    pub shm_size: i64,
    /// UTS namespace to use
    #[arg(long = "uts", value_name = "string", default_value = "", hide_default_value = true)]
    pub uts: String,
    /// Runtime to use for this container
    #[arg(long = "runtime", value_name = "string", default_value = "", hide_default_value = true)]
    pub runtime: String,
    /// Run an init inside the container that forwards signals and reaps processes
    #[arg(long = "init", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "bool")]
    pub init: Option<bool>,
    /// Add an annotation to the container (passed through to the OCI runtime)
    #[arg(long = "annotation", value_name = "map")]
    pub annotation: Vec<String>,
}

/// `berth run`.
#[derive(Debug, Clone, Args)]
#[command(disable_help_flag = true, override_usage = RUN_USAGE, help_template = HELP_TEMPLATE)]
pub struct RunArgs {
    /// Run container in background and print container ID
    #[arg(short = 'd', long = "detach")]
    pub detach: bool,
    /// Proxy received signals to the process
    #[arg(long = "sig-proxy", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "bool")]
    pub sig_proxy: Option<bool>,
    /// Assign a name to the container
    #[arg(long = "name", value_name = "string", default_value = "", hide_default_value = true)]
    pub name: String,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys", value_name = "string", default_value = "", hide_default_value = true)]
    pub detach_keys: String,
    /// Pull image before running ("always", "missing", "never")
    #[arg(long = "pull", value_name = "string", default_value = "missing")]
    pub pull: String,
    /// Suppress the pull output
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
    /// Set platform if server is multi-platform capable
    #[arg(
        long = "platform",
        value_name = "string",
        env = "DOCKER_DEFAULT_PLATFORM",
        default_value = "",
        hide_default_value = true,
        hide_env = true
    )]
    pub platform: String,
    #[command(flatten)]
    pub opts: ContainerOpts,
    /// Print usage
    #[arg(long = "help", action = ArgAction::Help)]
    pub help: Option<bool>,
    /// The image, then the command and its arguments.
    #[arg(value_name = "IMAGE [COMMAND] [ARG...]", trailing_var_arg = true, num_args = 0..)]
    pub args: Vec<String>,
}

/// `berth create`.
#[derive(Debug, Clone, Args)]
#[command(disable_help_flag = true, override_usage = CREATE_USAGE, help_template = HELP_TEMPLATE)]
pub struct CreateArgs {
    /// Assign a name to the container
    #[arg(long = "name", value_name = "string", default_value = "", hide_default_value = true)]
    pub name: String,
    /// Pull image before creating ("always", "missing", "never")
    #[arg(long = "pull", value_name = "string", default_value = "missing")]
    pub pull: String,
    /// Suppress the pull output
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
    /// Set platform if server is multi-platform capable
    #[arg(
        long = "platform",
        value_name = "string",
        env = "DOCKER_DEFAULT_PLATFORM",
        default_value = "",
        hide_default_value = true,
        hide_env = true
    )]
    pub platform: String,
    #[command(flatten)]
    pub opts: ContainerOpts,
    /// Print usage
    #[arg(long = "help", action = ArgAction::Help)]
    pub help: Option<bool>,
    /// The image, then the command and its arguments.
    #[arg(value_name = "IMAGE [COMMAND] [ARG...]", trailing_var_arg = true, num_args = 0..)]
    pub args: Vec<String>,
}

/// `berth start`.
#[derive(Debug, Args)]
#[command(override_usage = START_USAGE, help_template = HELP_TEMPLATE)]
pub struct StartArgs {
    /// Attach STDOUT/STDERR and forward signals
    #[arg(short = 'a', long = "attach")]
    pub attach: bool,
    /// Attach container's STDIN
    #[arg(short = 'i', long = "interactive")]
    pub interactive: bool,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys", value_name = "string", default_value = "", hide_default_value = true)]
    pub detach_keys: String,
    #[arg(value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// `berth stop`.
#[derive(Debug, Args)]
#[command(override_usage = STOP_USAGE, help_template = HELP_TEMPLATE)]
pub struct StopArgs {
    /// Signal to send to the container
    #[arg(short = 's', long = "signal", value_name = "string", default_value = "", hide_default_value = true)]
    pub signal: String,
    /// Seconds to wait before killing the container
    #[arg(short = 't', long = "timeout", alias = "time", value_name = "int", allow_hyphen_values = true, value_parser = values::int)]
    pub timeout: Option<i64>,
    #[arg(value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// `berth restart`.
#[derive(Debug, Args)]
#[command(override_usage = RESTART_USAGE, help_template = HELP_TEMPLATE)]
pub struct RestartArgs {
    /// Signal to send to the container
    #[arg(short = 's', long = "signal", value_name = "string", default_value = "", hide_default_value = true)]
    pub signal: String,
    /// Seconds to wait before killing the container
    #[arg(short = 't', long = "timeout", alias = "time", value_name = "int", allow_hyphen_values = true, value_parser = values::int)]
    pub timeout: Option<i64>,
    #[arg(value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// `berth kill`.
#[derive(Debug, Args)]
#[command(override_usage = KILL_USAGE, help_template = HELP_TEMPLATE)]
pub struct KillArgs {
    /// Signal to send to the container
    #[arg(short = 's', long = "signal", value_name = "string", default_value = "", hide_default_value = true)]
    pub signal: String,
    #[arg(value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// `berth pause`.
#[derive(Debug, Args)]
#[command(override_usage = PAUSE_USAGE, help_template = HELP_TEMPLATE)]
pub struct PauseArgs {
    #[arg(value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// `berth unpause`.
#[derive(Debug, Args)]
#[command(override_usage = UNPAUSE_USAGE, help_template = HELP_TEMPLATE)]
pub struct UnpauseArgs {
    #[arg(value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// `berth rm`.
#[derive(Debug, Args)]
#[command(override_usage = RM_USAGE, help_template = HELP_TEMPLATE)]
pub struct RmArgs {
    /// Force the removal of a running container (uses SIGKILL)
    #[arg(short = 'f', long = "force")]
    pub force: bool,
    /// Remove the specified link
    #[arg(short = 'l', long = "link")]
    pub link: bool,
    /// Remove anonymous volumes associated with the container
    #[arg(short = 'v', long = "volumes")]
    pub volumes: bool,
    #[arg(value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// `berth rename`.
#[derive(Debug, Args)]
#[command(override_usage = RENAME_USAGE, help_template = HELP_TEMPLATE)]
pub struct RenameArgs {
    #[arg(value_name = "CONTAINER NEW_NAME")]
    pub names: Vec<String>,
}

/// `berth top CONTAINER [ps OPTIONS]`.
#[derive(Debug, Args)]
#[command(override_usage = TOP_USAGE, help_template = HELP_TEMPLATE)]
pub struct TopArgs {
    #[arg(value_name = "CONTAINER [ps OPTIONS]", trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// `berth diff CONTAINER`.
#[derive(Debug, Args)]
#[command(override_usage = DIFF_USAGE, help_template = HELP_TEMPLATE)]
pub struct DiffArgs {
    #[arg(value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// `berth wait`.
#[derive(Debug, Args)]
#[command(override_usage = WAIT_USAGE, help_template = HELP_TEMPLATE)]
pub struct WaitArgs {
    #[arg(value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// `berth attach`.
#[derive(Debug, Args)]
#[command(override_usage = ATTACH_USAGE, help_template = HELP_TEMPLATE)]
pub struct AttachArgs {
    /// Do not attach STDIN
    #[arg(long = "no-stdin")]
    pub no_stdin: bool,
    /// Proxy all received signals to the process
    #[arg(long = "sig-proxy", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "bool")]
    pub sig_proxy: Option<bool>,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys", value_name = "string", default_value = "", hide_default_value = true)]
    pub detach_keys: String,
    #[arg(value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// `berth exec`: flags stop at the container, as docker's (`SetInterspersed(false)`):
/// everything after it is the command.
#[derive(Debug, Clone, Args)]
#[command(override_usage = EXEC_USAGE, help_template = HELP_TEMPLATE)]
pub struct ExecArgs {
    /// Detached mode: run command in the background
    #[arg(short = 'd', long = "detach")]
    pub detach: bool,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys", value_name = "string", default_value = "", hide_default_value = true)]
    pub detach_keys: String,
    /// Set environment variables
    #[arg(short = 'e', long = "env", value_name = "list", value_parser = values::env)]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long = "env-file", value_name = "list")]
    pub env_file: Vec<String>,
    /// Keep STDIN open even if not attached
    #[arg(short = 'i', long = "interactive")]
    pub interactive: bool,
    /// Give extended privileges to the command
    #[arg(long = "privileged")]
    pub privileged: bool,
    /// Allocate a pseudo-TTY
    #[arg(short = 't', long = "tty")]
    pub tty: bool,
    /// Username or UID (format: "<name|uid>[:<group|gid>]")
    #[arg(short = 'u', long = "user", value_name = "string", default_value = "", hide_default_value = true)]
    pub user: String,
    /// Working directory inside the container
    #[arg(short = 'w', long = "workdir", value_name = "string", default_value = "", hide_default_value = true)]
    pub workdir: String,
    /// The container, then the command and its arguments.
    #[arg(value_name = "CONTAINER COMMAND [ARG...]", trailing_var_arg = true, num_args = 0..)]
    pub args: Vec<String>,
}

/// `berth logs`.
#[derive(Debug, Args)]
#[command(override_usage = LOGS_USAGE, help_template = HELP_TEMPLATE)]
pub struct LogsArgs {
    /// Show extra details provided to logs
    #[arg(long = "details")]
    pub details: bool,
    /// Follow log output
    #[arg(short = 'f', long = "follow")]
    pub follow: bool,
    /// Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)
    #[arg(
        long = "since",
        value_name = "string",
        default_value = "",
        hide_default_value = true,
        allow_hyphen_values = true
    )]
    pub since: String,
    /// Number of lines to show from the end of the logs
    #[arg(short = 'n', long = "tail", value_name = "string", default_value = "all", allow_hyphen_values = true)]
    pub tail: String,
    /// Show timestamps
    #[arg(short = 't', long = "timestamps")]
    pub timestamps: bool,
    /// Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)
    #[arg(
        long = "until",
        value_name = "string",
        default_value = "",
        hide_default_value = true,
        allow_hyphen_values = true
    )]
    pub until: String,
    #[arg(value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// `berth ps` and `berth container ls`.
#[derive(Debug, Args)]
pub struct PsArgs {
    /// Show all containers (default shows just running)
    #[arg(short = 'a', long = "all")]
    pub all: bool,
    /// Filter output based on conditions provided
    #[arg(short = 'f', long = "filter", value_name = "filter", value_parser = parse_filter)]
    pub filter: Vec<(String, String)>,
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go template
    #[arg(
        long = "format",
        value_name = "string",
        default_value = "",
        hide_default_value = true,
        allow_hyphen_values = true
    )]
    pub format: String,
    /// Show n last created containers (includes all states)
    #[arg(short = 'n', long = "last", value_name = "int", default_value = "-1", allow_hyphen_values = true, value_parser = values::int)]
    pub last: i64,
    /// Show the latest created container (includes all states)
    #[arg(short = 'l', long = "latest")]
    pub latest: bool,
    /// Don't truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Only display container IDs
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
    /// Display total file sizes
    #[arg(short = 's', long = "size", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "bool")]
    pub size: Option<bool>,
}

/// `berth inspect`: any object by name or id.
#[derive(Debug, Args)]
#[command(override_usage = INSPECT_USAGE, help_template = HELP_TEMPLATE)]
pub struct InspectArgs {
    /// Format output using a custom template: 'json' or a Go template
    #[arg(
        short = 'f',
        long = "format",
        value_name = "string",
        default_value = "",
        hide_default_value = true,
        allow_hyphen_values = true
    )]
    pub format: String,
    /// Display total file sizes if the type is container
    #[arg(short = 's', long = "size")]
    pub size: bool,
    /// Return JSON for specified type
    #[arg(long = "type", value_name = "string", default_value = "", hide_default_value = true)]
    pub r#type: String,
    #[arg(value_name = "NAME|ID")]
    pub names: Vec<String>,
}

/// `berth container inspect`.
#[derive(Debug, Args)]
#[command(override_usage = CONTAINER_INSPECT_USAGE, help_template = HELP_TEMPLATE)]
pub struct ContainerInspectArgs {
    /// Format output using a custom template: 'json' or a Go template
    #[arg(
        short = 'f',
        long = "format",
        value_name = "string",
        default_value = "",
        hide_default_value = true,
        allow_hyphen_values = true
    )]
    pub format: String,
    /// Display total file sizes
    #[arg(short = 's', long = "size")]
    pub size: bool,
    #[arg(value_name = "CONTAINER")]
    pub names: Vec<String>,
}

/// `berth container prune`.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long = "filter", value_name = "filter", value_parser = parse_filter)]
    pub filter: Vec<(String, String)>,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long = "force")]
    pub force: bool,
}

/// `berth stats` and `berth container stats`.
#[derive(Debug, Args)]
#[command(override_usage = STATS_USAGE, help_template = HELP_TEMPLATE)]
pub struct StatsArgs {
    /// Show all containers (default shows just running)
    #[arg(short = 'a', long = "all")]
    pub all: bool,
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go template
    #[arg(
        long = "format",
        value_name = "string",
        default_value = "",
        hide_default_value = true,
        allow_hyphen_values = true
    )]
    pub format: String,
    /// Disable streaming stats and only pull the first result
    #[arg(long = "no-stream")]
    pub no_stream: bool,
    /// Do not truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    #[arg(value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// `berth update`: every value is optional, and at least one must be given (docker
/// counts the flags set).
#[derive(Debug, Args)]
#[command(override_usage = UPDATE_USAGE, help_template = HELP_TEMPLATE)]
pub struct UpdateArgs {
    /// Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)
    #[arg(long = "blkio-weight", value_name = "uint16", value_parser = values::uint16)]
    pub blkio_weight: Option<u16>,
    /// Limit CPU CFS (Completely Fair Scheduler) period
    #[arg(long = "cpu-period", value_name = "int", allow_hyphen_values = true, value_parser = values::int)]
    pub cpu_period: Option<i64>,
    /// Limit CPU CFS (Completely Fair Scheduler) quota
    #[arg(long = "cpu-quota", value_name = "int", allow_hyphen_values = true, value_parser = values::int)]
    pub cpu_quota: Option<i64>,
    /// Limit the CPU real-time period in microseconds
    #[arg(long = "cpu-rt-period", value_name = "int", allow_hyphen_values = true, value_parser = values::int)]
    pub cpu_rt_period: Option<i64>,
    /// Limit the CPU real-time runtime in microseconds
    #[arg(long = "cpu-rt-runtime", value_name = "int", allow_hyphen_values = true, value_parser = values::int)]
    pub cpu_rt_runtime: Option<i64>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long = "cpu-shares", value_name = "int", allow_hyphen_values = true, value_parser = values::int)]
    pub cpu_shares: Option<i64>,
    /// Number of CPUs
    #[arg(long = "cpus", value_name = "decimal", value_parser = values::nano_cpus)]
    pub cpus: Option<i64>,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-cpus", value_name = "string")]
    pub cpuset_cpus: Option<String>,
    /// MEMs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-mems", value_name = "string")]
    pub cpuset_mems: Option<String>,
    /// Kernel memory limit (deprecated)
    #[arg(long = "kernel-memory", value_name = "bytes", value_parser = values::ram_in_bytes, hide = true)]
    pub kernel_memory: Option<i64>,
    /// Memory limit
    #[arg(short = 'm', long = "memory", value_name = "bytes", value_parser = values::ram_in_bytes)]
    pub memory: Option<i64>,
    /// Memory soft limit
    #[arg(long = "memory-reservation", value_name = "bytes", value_parser = values::ram_in_bytes)]
    pub memory_reservation: Option<i64>,
    /// Swap limit equal to memory plus swap: -1 to enable unlimited swap
    #[arg(long = "memory-swap", value_name = "bytes", allow_hyphen_values = true, value_parser = values::mem_swap)]
    pub memory_swap: Option<i64>,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long = "pids-limit", value_name = "int", allow_hyphen_values = true, value_parser = values::int)]
    pub pids_limit: Option<i64>,
    /// Restart policy to apply when a container exits
    #[arg(long = "restart", value_name = "string")]
    pub restart: Option<String>,
    #[arg(value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// `berth port CONTAINER [PRIVATE_PORT[/PROTO]]`.
#[derive(Debug, Args)]
#[command(override_usage = PORT_USAGE, help_template = HELP_TEMPLATE)]
pub struct PortArgs {
    #[arg(value_name = "CONTAINER [PRIVATE_PORT[/PROTO]]")]
    pub args: Vec<String>,
}

/// `berth export`.
#[derive(Debug, Args)]
#[command(override_usage = EXPORT_USAGE, help_template = HELP_TEMPLATE)]
pub struct ExportArgs {
    /// Write to a file, instead of STDOUT
    #[arg(short = 'o', long = "output", value_name = "string", default_value = "", hide_default_value = true)]
    pub output: String,
    #[arg(value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// `berth cp`: boolean flags take Go's `=value` forms (`-q=false`).
#[derive(Debug, Args)]
#[command(override_usage = CP_USAGE, help_template = HELP_TEMPLATE)]
pub struct CpArgs {
    /// Archive mode (copy all uid/gid information)
    #[arg(
        short = 'a',
        long = "archive",
        value_name = "bool",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_parser = values::go_bool
    )]
    pub archive: Option<bool>,
    /// Always follow symbol link in SRC_PATH
    #[arg(
        short = 'L',
        long = "follow-link",
        value_name = "bool",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_parser = values::go_bool
    )]
    pub follow_link: Option<bool>,
    /// Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached
    #[arg(
        short = 'q',
        long = "quiet",
        value_name = "bool",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_parser = values::go_bool
    )]
    pub quiet: Option<bool>,
    /// The source, then the destination; `-` for a tar stream on stdin or stdout.
    #[arg(value_name = "PATH")]
    pub paths: Vec<String>,
}

/// `berth commit`: flags stop at the container, as docker's
/// (`SetInterspersed(false)`): anything after it is an argument.
#[derive(Debug, Args)]
#[command(override_usage = COMMIT_USAGE, help_template = HELP_TEMPLATE)]
pub struct CommitArgs {
    /// Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")
    #[arg(
        short = 'a',
        long = "author",
        value_name = "string",
        default_value = "",
        hide_default_value = true,
        allow_hyphen_values = true
    )]
    pub author: String,
    /// Apply Dockerfile instruction to the created image
    #[arg(short = 'c', long = "change", value_name = "list", allow_hyphen_values = true)]
    pub change: Vec<String>,
    /// Commit message
    #[arg(
        short = 'm',
        long = "message",
        value_name = "string",
        default_value = "",
        hide_default_value = true,
        allow_hyphen_values = true
    )]
    pub message: String,
    /// Pause container during commit (default true)
    #[arg(
        short = 'p',
        long = "pause",
        value_name = "bool",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        default_value = "true",
        hide_default_value = true,
        value_parser = values::go_bool
    )]
    pub pause: bool,
    /// The container, then the repository and tag of the new image.
    #[arg(value_name = "CONTAINER [REPOSITORY[:TAG]]", trailing_var_arg = true, num_args = 0..)]
    pub args: Vec<String>,
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use clap::{CommandFactory, Parser};

    use crate::cli::Deferred;

    use super::*;
    use crate::cli::{Command, Opts};
    use crate::usage::from_clap;

    fn usage(args: &[&str]) -> crate::usage::UsageError {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        let err = Opts::try_parse_from(&args).expect_err("should not parse");
        from_clap(&err, &Opts::command(), &args)
    }

    #[test]
    fn everything_after_the_image_is_the_command() {
        let o = Opts::try_parse_from(["berth", "run", "-it", "--rm", "busybox", "ls", "-la", "--rm"]).expect("parses");
        let Some(Command::Run(r)) = o.command else { panic!("run") };
        assert!(r.opts.interactive && r.opts.tty && r.opts.rm);
        assert_eq!(r.args, ["busybox", "ls", "-la", "--rm"]);
        let o = Opts::try_parse_from(["berth", "container", "list", "-aq"]).expect("parses");
        let Some(Command::Container(Deferred(ContainerArgs { command: Some(ContainerCommand::Ls(p)) }))) = o.command else {
            panic!("container list")
        };
        assert!(p.all && p.quiet);
        assert!(Opts::try_parse_from(["berth", "container", "remove", "-f", "x"]).is_ok());
        let o = Opts::try_parse_from(["berth", "stop", "--time", "3", "x"]).expect("parses");
        assert!(matches!(o.command, Some(Command::Stop(Deferred(StopArgs { timeout: Some(3), .. })))));
    }

    #[test]
    fn cp_flags_take_go_bool_forms() {
        let cp = |args: &[&str]| {
            let o = Opts::try_parse_from(args).expect("parses");
            let Some(Command::Cp(Deferred(a))) = o.command else { panic!("cp") };
            (a.archive, a.follow_link, a.quiet, a.paths)
        };
        let paths = |a: &str, b: &str| vec![a.to_string(), b.to_string()];
        assert_eq!(cp(&["berth", "cp", "-aLq", "c:/x", "-"]), (Some(true), Some(true), Some(true), paths("c:/x", "-")));
        assert_eq!(cp(&["berth", "cp", "c:/x", "y", "-q=false"]), (None, None, Some(false), paths("c:/x", "y")));
        assert_eq!(cp(&["berth", "cp", "--follow-link=0", "a", "c:/"]).1, Some(false));
    }

    #[test]
    fn commit_flags_stop_at_the_container() {
        let commit = |args: &[&str]| {
            let o = Opts::try_parse_from(args).expect("parses");
            let Some(Command::Commit(Deferred(a))) = o.command else { panic!("commit") };
            a
        };
        let a = commit(&["berth", "commit", "-a", "Jo", "-c", "ENV A=b", "--change", "CMD x", "-m", "-msg", "c", "r:t"]);
        assert_eq!((a.author.as_str(), a.message.as_str(), a.pause), ("Jo", "-msg", true));
        assert_eq!((a.change, a.args), (vec!["ENV A=b".to_string(), "CMD x".into()], vec!["c".to_string(), "r:t".into()]));
        // After the container, flags are arguments (three: too many, later).
        assert_eq!(commit(&["berth", "commit", "c", "r", "-m", "x"]).args, ["c", "r", "-m", "x"]);
        assert!(!commit(&["berth", "commit", "--pause=false", "c"]).pause);
        assert!(!commit(&["berth", "commit", "-p=0", "c"]).pause);
        assert!(commit(&["berth", "commit", "-p", "c"]).pause);
    }

    #[test]
    fn flag_errors_show_docker_s_usage_line() {
        let u = usage(&["berth", "run", "--bogus", "busybox"]);
        assert_eq!(
            u.text,
            "unknown flag: --bogus\n\nUsage:  berth run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun 'berth run --help' for more information\n"
        );
        assert_eq!(u.code, 125);
        let u = usage(&["berth", "container", "run", "-m", "1x", "busybox"]);
        assert!(
            u.text.starts_with(
                "invalid argument \"1x\" for \"-m, --memory\" flag: invalid suffix: 'x'\n\nUsage:  berth container run [OPTIONS] IMAGE [COMMAND] [ARG...]\n"
            ),
            "{}",
            u.text
        );
        let u = usage(&["berth", "stop", "-t", "soon", "x"]);
        assert!(
            u.text.starts_with(
                "invalid argument \"soon\" for \"-t, --timeout\" flag: strconv.ParseInt: parsing \"soon\": invalid syntax\n\nUsage:  berth stop [OPTIONS] CONTAINER [CONTAINER...]\n"
            ),
            "{}",
            u.text
        );
        let u = usage(&["berth", "ps", "extra"]);
        assert!(
            u.text.starts_with("berth: 'berth ps' accepts no arguments\n\nUsage:  berth ps [OPTIONS]\n"),
            "{}",
            u.text
        );
        let u = usage(&["berth", "container", "run", "--help"]);
        assert_eq!((u.code, u.stdout), (0, true));
        assert!(u.text.contains("\nUsage:  berth container run [OPTIONS] IMAGE [COMMAND] [ARG...]\n"), "{}", u.text);
    }
}
