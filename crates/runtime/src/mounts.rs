//! Mount option strings (`ro`, `rbind`, `rprivate`, `mode=755`, ...) turned into what
//! mount(2) and mount_setattr(2) take, as runc reads them.

use nix::mount::MsFlags;

/// One spec mount's options, split by the syscall that applies them.
#[derive(Debug, PartialEq)]
pub struct Options {
    /// Flags for the mount call itself.
    pub flags: MsFlags,
    /// MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE (± MS_REC), one call each.
    pub propagation: Vec<MsFlags>,
    /// Recursive attributes (`rro`, `rnosuid`, ...) for mount_setattr(AT_RECURSIVE).
    pub recursive_attr: u64,
    /// Everything else, comma-joined, for the filesystem (`mode=755,size=65536k`).
    pub data: String,
}

impl Options {
    pub fn parse(options: &[String]) -> Options {
        let mut o = Options {
            flags: MsFlags::empty(),
            propagation: Vec::new(),
            recursive_attr: 0,
            data: String::new(),
        };
        let mut data = Vec::new();
        for opt in options {
            let set = |o: &mut Options, f: MsFlags| o.flags.insert(f);
            let clear = |o: &mut Options, f: MsFlags| o.flags.remove(f);
            match opt.as_str() {
                "defaults" | "mand" | "nomand" => {}
                "ro" => set(&mut o, MsFlags::MS_RDONLY),
                "rw" => clear(&mut o, MsFlags::MS_RDONLY),
                "bind" => set(&mut o, MsFlags::MS_BIND),
                "rbind" => set(&mut o, MsFlags::MS_BIND | MsFlags::MS_REC),
                "suid" => clear(&mut o, MsFlags::MS_NOSUID),
                "nosuid" => set(&mut o, MsFlags::MS_NOSUID),
                "dev" => clear(&mut o, MsFlags::MS_NODEV),
                "nodev" => set(&mut o, MsFlags::MS_NODEV),
                "exec" => clear(&mut o, MsFlags::MS_NOEXEC),
                "noexec" => set(&mut o, MsFlags::MS_NOEXEC),
                "sync" => set(&mut o, MsFlags::MS_SYNCHRONOUS),
                "async" => clear(&mut o, MsFlags::MS_SYNCHRONOUS),
                "dirsync" => set(&mut o, MsFlags::MS_DIRSYNC),
                "remount" => set(&mut o, MsFlags::MS_REMOUNT),
                "silent" => set(&mut o, MsFlags::MS_SILENT),
                "atime" => clear(&mut o, MsFlags::MS_NOATIME),
                "noatime" => set(&mut o, MsFlags::MS_NOATIME),
                "diratime" => clear(&mut o, MsFlags::MS_NODIRATIME),
                "nodiratime" => set(&mut o, MsFlags::MS_NODIRATIME),
                "relatime" => set(&mut o, MsFlags::MS_RELATIME),
                "norelatime" => clear(&mut o, MsFlags::MS_RELATIME),
                "strictatime" => set(&mut o, MsFlags::MS_STRICTATIME),
                "nostrictatime" => clear(&mut o, MsFlags::MS_STRICTATIME),
                "private" => o.propagation.push(MsFlags::MS_PRIVATE),
                "rprivate" => o.propagation.push(MsFlags::MS_PRIVATE | MsFlags::MS_REC),
                "shared" => o.propagation.push(MsFlags::MS_SHARED),
                "rshared" => o.propagation.push(MsFlags::MS_SHARED | MsFlags::MS_REC),
                "slave" => o.propagation.push(MsFlags::MS_SLAVE),
                "rslave" => o.propagation.push(MsFlags::MS_SLAVE | MsFlags::MS_REC),
                "unbindable" => o.propagation.push(MsFlags::MS_UNBINDABLE),
                "runbindable" => o.propagation.push(MsFlags::MS_UNBINDABLE | MsFlags::MS_REC),
                "rro" => o.recursive_attr |= libc::MOUNT_ATTR_RDONLY,
                "rnosuid" => o.recursive_attr |= libc::MOUNT_ATTR_NOSUID,
                "rnodev" => o.recursive_attr |= libc::MOUNT_ATTR_NODEV,
                "rnoexec" => o.recursive_attr |= libc::MOUNT_ATTR_NOEXEC,
                "rnoatime" => o.recursive_attr |= libc::MOUNT_ATTR_NOATIME,
                other => data.push(other),
            }
        }
        o.data = data.join(",");
        o
    }

    pub fn is_bind(&self) -> bool {
        self.flags.contains(MsFlags::MS_BIND)
    }

    /// Flags that a bind mount only takes through a second, remounting call.
    pub fn bind_remount_flags(&self) -> MsFlags {
        self.flags - (MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_REMOUNT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(opts: &[&str]) -> Options {
        Options::parse(&opts.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn flags_data_and_propagation_are_separated() {
        let o = parse(&["nosuid", "strictatime", "mode=755", "size=65536k", "rprivate"]);
        assert_eq!(o.flags, MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME);
        assert_eq!(o.data, "mode=755,size=65536k");
        assert_eq!(o.propagation, vec![MsFlags::MS_PRIVATE | MsFlags::MS_REC]);
    }

    #[test]
    fn later_options_win() {
        let o = parse(&["ro", "rw", "rbind"]);
        assert!(!o.flags.contains(MsFlags::MS_RDONLY));
        assert!(o.is_bind() && o.flags.contains(MsFlags::MS_REC));
        assert!(o.bind_remount_flags().is_empty());
        assert_eq!(parse(&["rro"]).recursive_attr, libc::MOUNT_ATTR_RDONLY);
    }
}
