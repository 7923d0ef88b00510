//! What a sandbox may do, as the host described it. A policy is a plain
//! value: it checks each input as it is added and is only read afterwards,
//! so one policy can spawn many sandboxes from many threads.

use crate::error::{Error, Result};
use crate::net::{spec, NetPolicy};
use crate::seccomp::syscall_table;
use std::ffi::{OsStr, OsString};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// Longest path, environment entry or syscall name accepted.
pub const MAX_INPUT_LEN: usize = 64 * 1024;
/// Most rules of one kind a policy holds.
pub const MAX_RULES: usize = 4096;

#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Trees (or files) readable and executable.
    pub fs_read: Vec<PathBuf>,
    /// Trees (or files) fully writable.
    pub fs_write: Vec<PathBuf>,
    /// Trees (or files) unreachable even beneath fs_read or fs_write.
    pub fs_deny: Vec<PathBuf>,
    /// /proc shows the sandbox's own processes only.
    pub private_proc: bool,
    /// Address-space randomization off (personality ADDR_NO_RANDOMIZE).
    pub no_aslr: bool,
    /// At most this many CPUs (the first ones of the host's affinity).
    pub num_cpus: Option<u32>,
    /// The node name uname() reports.
    pub hostname: Option<String>,
    /// getrandom, /dev/(u)random and each new program's AT_RANDOM bytes
    /// draw from this seed.
    pub random_seed: Option<u64>,
    /// The wall clock starts at this Unix time (seconds) when the sandbox
    /// is spawned.
    pub time_start: Option<i64>,
    /// Extra syscalls denied with EPERM, on top of the built-in list.
    pub syscall_deny: Vec<(String, i64)>,
    /// RLIMIT_NOFILE for the sandbox, never above what the host has.
    pub max_open_files: Option<u32>,
    /// Start from an empty environment instead of the host's.
    pub env_clear: bool,
    /// Variables set (or replaced) on top of the base environment.
    pub env_set: Vec<(OsString, OsString)>,
    /// Working directory of the command; the host's when unset.
    pub cwd: Option<PathBuf>,
    /// Wall-clock limit in milliseconds, then every process is killed.
    pub timeout_ms: Option<u64>,
    /// Most live (unreaped) processes of the sandbox at once.
    pub max_processes: Option<u32>,
    /// Budget for the resident anonymous and shared memory of all the
    /// sandbox's processes together, in bytes.
    pub max_memory: Option<u64>,
    /// Share of one CPU, 1..=99 (100 is no throttle and stored as None).
    pub max_cpu: Option<u32>,
    /// What the sandbox may reach and serve on the network.
    pub net: NetPolicy,
    /// Syscalls routed to the supervisor, which denies what it has no handler for.
    pub(crate) supervised: Vec<i64>,
    /// The event kinds an observer asked for (`events::kind`): what the
    /// filter must trap for it.
    pub event_mask: u32,
    /// The Landlock ruleset and BPF program, built at the first spawn after
    /// the last change and shared by the spawns that follow.
    compiled: CompiledCache,
}

/// What the policy switches on, decided once at spawn and read by the
/// filter (through the table of trapped calls, seccomp/trapped.rs), the
/// supervisor and the spawn. What the host may change while the sandbox
/// runs is apart (supervisor/live_policy.rs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Features {
    /// A UDP rule: binds are made on behalf.
    pub udp: bool,
    /// An observer of binds.
    pub observes_bind: bool,
    /// A net_bind rule with an address: binds are checked (and made) by
    /// the supervisor, since Landlock knows ports only.
    pub binds_at_addresses: bool,
    /// num_cpus: affinity changes are narrowed.
    pub num_cpus: bool,
    /// A limit or an observer counts processes: forks are trapped.
    pub counts_forks: bool,
    /// Execs are trapped (shown, checked against fs_deny, or their new
    /// image rewritten).
    pub traps_exec: bool,
    /// Opens and every other call that names a file are trapped.
    pub traps_opens: bool,
    /// Opens are made by the opener (fs_deny, a private /proc).
    pub opens_on_behalf: bool,
    /// Virtual files (host name, CPUs, seeded randomness).
    pub virtual_files: bool,
    pub private_proc: bool,
    pub hostname: bool,
    pub random_seed: bool,
    /// time_start: the wall clock is the sandbox's.
    pub wall_clock: bool,
}

/// What every spawn of a policy installs, built once.
pub struct Compiled {
    pub ruleset: OwnedFd,
    /// Nests the job in a domain of its own below its helpers' (fs/landlock.rs).
    pub helper_fence: OwnedFd,
    pub filter: Vec<libc::sock_filter>,
    /// The identities of the fs_deny paths and of what lies beneath them.
    pub fs_denied: Arc<std::collections::HashSet<crate::fs::paths::FileId>>,
    /// The identities of the fs_write roots (src/fs/metadata.rs).
    pub fs_writable: Arc<std::collections::HashSet<crate::fs::paths::FileId>>,
    /// The identities of every tree's root, read or write.
    pub fs_readable: Arc<std::collections::HashSet<crate::fs::paths::FileId>>,
}

#[derive(Clone, Default)]
struct CompiledCache(OnceLock<Arc<Compiled>>);

impl std::fmt::Debug for CompiledCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.get().is_some() {
            "compiled"
        } else {
            "not compiled"
        })
    }
}

fn check_len(what: &str, bytes: &[u8]) -> Result<()> {
    if bytes.is_empty() {
        return Err(Error::invalid(format!("{what}: empty")));
    }
    if bytes.len() > MAX_INPUT_LEN {
        return Err(Error::invalid(format!(
            "{what}: {} bytes is over the {MAX_INPUT_LEN}-byte limit",
            bytes.len()
        )));
    }
    Ok(())
}

fn check_room(what: &str, len: usize) -> Result<()> {
    if len >= MAX_RULES {
        return Err(Error::new(
            libc::E2BIG,
            format!("{what}: more than {MAX_RULES} rules"),
        ));
    }
    Ok(())
}

/// An absolute or relative path that exists now, made absolute so the rule
/// does not depend on the host's cwd at spawn time.
fn existing_path(what: &str, path: &OsStr) -> Result<PathBuf> {
    check_len(what, path.as_bytes())?;
    let shown = path.to_string_lossy();
    let absolute = std::path::absolute(Path::new(path))
        .map_err(|e| Error::new(libc::EINVAL, format!("{what}: \"{shown}\": {e}")))?;
    match std::fs::symlink_metadata(&absolute).and_then(|_| std::fs::metadata(&absolute)) {
        Ok(_) => Ok(absolute),
        Err(e) => {
            let errno = e.raw_os_error().unwrap_or(libc::ENOENT);
            Err(Error::os(format!("{what}: \"{shown}\""), errno))
        }
    }
}

fn add_tree(trees: &mut Vec<PathBuf>, what: &str, path: &OsStr) -> Result<()> {
    check_room(what, trees.len())?;
    trees.push(existing_path(what, path)?);
    Ok(())
}

impl Policy {
    pub fn new() -> Self {
        Policy::default()
    }

    /// The ruleset and filter for this policy, built on first use. Paths
    /// are resolved then: rules follow the inodes found at that moment.
    pub fn compiled(&self) -> Result<Arc<Compiled>> {
        if let Some(compiled) = self.compiled.0.get() {
            return Ok(compiled.clone());
        }
        let compiled = Arc::new(Compiled {
            ruleset: crate::fs::landlock::build_ruleset(self)?,
            helper_fence: crate::fs::landlock::build_helper_fence()?,
            filter: crate::seccomp::filter::build(self)?,
            fs_denied: Arc::new(self.denied_identities()?),
            fs_writable: Arc::new(Self::root_identities("fs_write", &self.fs_write)?),
            fs_readable: Arc::new(
                Self::root_identities("fs_read", &self.fs_read)?
                    .union(&Self::root_identities("fs_write", &self.fs_write)?)
                    .copied()
                    .collect(),
            ),
        });
        // Two threads may race here; either result is the same policy.
        Ok(self.compiled.0.get_or_init(|| compiled).clone())
    }

    /// Every change drops what was compiled from the old policy.
    fn changed(&mut self) {
        self.compiled = CompiledCache::default();
    }

    pub fn fs_read(&mut self, path: &OsStr) -> Result<()> {
        self.changed();
        add_tree(&mut self.fs_read, "fs_read", path)
    }

    pub fn fs_write(&mut self, path: &OsStr) -> Result<()> {
        self.changed();
        add_tree(&mut self.fs_write, "fs_write", path)
    }

    /// Makes `path` (a file, or a tree) unreachable even inside an allowed
    /// tree: every open and exec is then made or checked by the supervisor.
    pub fn fs_deny(&mut self, path: &OsStr) -> Result<()> {
        self.changed();
        add_tree(&mut self.fs_deny, "fs_deny", path)
    }

    fn denied_identities(&self) -> Result<std::collections::HashSet<crate::fs::paths::FileId>> {
        let mut ids = std::collections::HashSet::new();
        for path in &self.fs_deny {
            ids.extend(crate::supervisor::live_policy::identities_beneath(
                "fs_deny", path,
            )?);
        }
        Ok(ids)
    }

    fn root_identities(
        what: &str,
        roots: &[PathBuf],
    ) -> Result<std::collections::HashSet<crate::fs::paths::FileId>> {
        use std::os::unix::fs::MetadataExt;
        let mut ids = std::collections::HashSet::new();
        for path in roots {
            let meta = std::fs::metadata(path).map_err(|e| {
                Error::os(
                    format!("{what}: \"{}\"", path.display()),
                    e.raw_os_error().unwrap_or(libc::EIO),
                )
            })?;
            ids.insert((meta.dev(), meta.ino()));
        }
        Ok(ids)
    }

    pub fn syscall_deny(&mut self, name: &str) -> Result<()> {
        self.changed();
        check_room("syscall_deny", self.syscall_deny.len())?;
        check_len("syscall_deny", name.as_bytes())?;
        let nr = syscall_table::number(name).ok_or_else(|| {
            Error::invalid(format!(
                "syscall_deny: \"{name}\": unknown system call name on x86_64"
            ))
        })?;
        if STARTS_THE_COMMAND.contains(&name) {
            return Err(Error::invalid(format!(
                "syscall_deny: \"{name}\": the sandbox needs it itself, after its filter is on, to start the command (the spawn could not report or exec)"
            )));
        }
        if !self.syscall_deny.iter().any(|(_, n)| *n == nr) {
            self.syscall_deny.push((name.to_string(), nr));
        }
        Ok(())
    }

    pub fn net_allow(&mut self, text: &str) -> Result<()> {
        self.changed();
        check_room("net_allow", self.net.allow.len())?;
        let rule = spec::parse_rule("net_allow", text)?;
        if !self.net.deny.is_empty() {
            return Err(Error::invalid(format!(
                "net_allow: \"{text}\": a policy with net_deny rules allows everything else; the two cannot be combined"
            )));
        }
        self.net.allow.push(rule);
        Ok(())
    }

    pub fn net_deny(&mut self, text: &str) -> Result<()> {
        self.changed();
        check_room("net_deny", self.net.deny.len())?;
        let cidr = spec::parse_cidr("net_deny", text)?;
        if !self.net.allow.is_empty() {
            return Err(Error::invalid(format!(
                "net_deny: \"{text}\": a policy with net_allow rules denies everything else; the two cannot be combined"
            )));
        }
        self.net.deny.push(cidr);
        Ok(())
    }

    pub fn net_bind(&mut self, text: &str) -> Result<()> {
        self.changed();
        check_room("net_bind", self.net.bind_rules.len())?;
        let rule = spec::parse_bind("net_bind", text)?;
        let ports = rule.ports.clone();
        // The union stays sorted and merged, as every Ports::List is; a
        // refused call leaves the ports bound so far as they were.
        let union = match (&self.net.bind, ports) {
            (None, ports) => ports,
            (Some(spec::Ports::Any), _) | (_, spec::Ports::Any) => spec::Ports::Any,
            (Some(spec::Ports::List(a)), spec::Ports::List(b)) => {
                let merged = spec::merge(a.iter().copied().chain(b).collect());
                if merged.len() > MAX_RULES {
                    return Err(Error::new(
                        libc::E2BIG,
                        format!("net_bind: more than {MAX_RULES} port ranges"),
                    ));
                }
                spec::Ports::List(merged)
            }
        };
        self.net.bind = Some(union);
        self.net.bind_rules.push(rule);
        Ok(())
    }

    pub fn max_open_files(&mut self, n: u32) -> Result<()> {
        self.changed();
        self.max_open_files = if n == 0 { None } else { Some(n) };
        Ok(())
    }

    pub fn max_processes(&mut self, n: u32) -> Result<()> {
        self.changed();
        self.max_processes = if n == 0 { None } else { Some(n) };
        Ok(())
    }

    pub fn max_memory(&mut self, bytes: u64) -> Result<()> {
        self.changed();
        self.max_memory = if bytes == 0 { None } else { Some(bytes) };
        Ok(())
    }

    pub fn max_cpu(&mut self, percent: u32) -> Result<()> {
        if !(1..=100).contains(&percent) {
            return Err(Error::invalid(format!(
                "max_cpu: {percent} is not a percentage of one CPU (1 to 100)"
            )));
        }
        self.changed();
        self.max_cpu = if percent == 100 { None } else { Some(percent) };
        Ok(())
    }

    /// Does the supervisor need to know every process of the sandbox (and
    /// so trap fork, vfork and clone)? Only when a limit counts them, or an
    /// observer asked for events about processes, or for exec and open
    /// (which stop the whole sandbox while the call is shown).
    pub fn tracks_processes(&self) -> bool {
        use crate::supervisor::events::kind;
        self.max_processes.is_some()
            || self.max_memory.is_some()
            || self.max_cpu.is_some()
            || self.opens_on_behalf()
            || self.rewrites_auxv()
            || self.event_mask & (kind::FORK | kind::EXIT | kind::EXEC | kind::OPEN) != 0
    }

    /// Is every exec trapped (and the sandbox stopped for it)? For exec
    /// events, for fs_deny and open events (a denied file must not be
    /// exec'd either), and to rewrite each new program's auxiliary vector.
    pub fn traps_exec(&self) -> bool {
        self.event_mask & crate::supervisor::events::kind::EXEC != 0
            || self.traps_opens()
            || self.rewrites_auxv()
    }

    /// Does each new program's auxiliary vector need rewriting before it
    /// runs (its AT_RANDOM bytes for random_seed; its vDSO hidden for
    /// time_start, so clock reads become syscalls the supervisor answers)?
    pub fn rewrites_auxv(&self) -> bool {
        self.random_seed.is_some() || self.time_start.is_some()
    }

    /// Are opens and execs trapped (for open events or fs_deny)?
    pub fn traps_opens(&self) -> bool {
        self.opens_on_behalf() || self.event_mask & crate::supervisor::events::kind::OPEN != 0
    }

    /// What this policy switches on (see [`Features`]).
    pub fn features(&self) -> Features {
        use crate::supervisor::events::kind;
        Features {
            udp: self.net.protocols().udp,
            observes_bind: self.event_mask & kind::BIND != 0,
            binds_at_addresses: self.net.bind_rules.iter().any(|r| r.address.is_some()),
            num_cpus: self.num_cpus.is_some(),
            counts_forks: self.counts_forks(),
            traps_exec: self.traps_exec(),
            traps_opens: self.traps_opens(),
            opens_on_behalf: self.opens_on_behalf(),
            virtual_files: self.virtual_files(),
            private_proc: self.private_proc,
            hostname: self.hostname.is_some(),
            random_seed: self.random_seed.is_some(),
            wall_clock: self.time_start.is_some(),
        }
    }

    /// Are opens made by the supervisor (through the opener)?
    pub fn opens_on_behalf(&self) -> bool {
        !self.fs_deny.is_empty() || self.private_proc
    }

    pub fn no_aslr(&mut self, on: bool) -> Result<()> {
        self.changed();
        self.no_aslr = on;
        Ok(())
    }

    pub fn num_cpus(&mut self, n: u32) -> Result<()> {
        const MAX: u32 = 1024;
        if n > MAX {
            return Err(Error::invalid(format!(
                "num_cpus: {n} is over the {MAX} CPUs a sandbox can be given"
            )));
        }
        self.changed();
        self.num_cpus = (n != 0).then_some(n);
        Ok(())
    }

    pub fn hostname(&mut self, name: &str) -> Result<()> {
        // struct utsname's nodename holds 64 bytes and a NUL.
        if name.is_empty() || name.len() > 64 || name.bytes().any(|b| b == 0 || b == b'/') {
            return Err(Error::invalid(format!(
                "hostname: \"{name}\" is not a host name (1 to 64 bytes, no NUL or '/')"
            )));
        }
        self.changed();
        self.hostname = Some(name.to_owned());
        Ok(())
    }

    /// Are some files virtual (hostname, num_cpus)? Opens are then
    /// trapped, to hand those in.
    pub fn virtual_files(&self) -> bool {
        self.hostname.is_some() || self.num_cpus.is_some() || self.random_seed.is_some()
    }

    pub fn random_seed(&mut self, seed: u64) -> Result<()> {
        self.changed();
        self.random_seed = Some(seed);
        Ok(())
    }

    /// `seconds`: the Unix time the sandbox's wall clock shows when it is
    /// spawned; it advances with the host's from there.
    pub fn time_start(&mut self, seconds: i64) -> Result<()> {
        // Before 1970 clock_gettime cannot say (time_t seconds are signed
        // but tv_sec < 0 breaks most programs); past 9999 dates stop
        // printing with four-digit years.
        const LAST: i64 = 253_402_300_799;
        if !(0..=LAST).contains(&seconds) {
            return Err(Error::invalid(format!(
                "time_start: {seconds} is outside 0 ..= {LAST} (1970-01-01 to 9999-12-31)"
            )));
        }
        self.changed();
        self.time_start = Some(seconds);
        Ok(())
    }

    pub fn private_proc(&mut self, on: bool) -> Result<()> {
        self.changed();
        self.private_proc = on;
        Ok(())
    }

    /// Are forks trapped and counted? Only for the limits and the events
    /// that need every process as it is born: a trapped call can fail with
    /// EINTR (README), and fork must not without need. (fs_deny and exec or
    /// open events find the processes when they stop the sandbox.)
    pub fn counts_forks(&self) -> bool {
        use crate::supervisor::events::kind;
        self.max_processes.is_some()
            || self.max_memory.is_some()
            || self.max_cpu.is_some()
            || self.event_mask & (kind::FORK | kind::EXIT) != 0
    }

    /// Asks for events of the kinds in `mask` (`events::kind`); the filter
    /// then traps what they need. 0 asks for none.
    pub fn observe(&mut self, mask: u32) -> Result<()> {
        use crate::supervisor::events::kind;
        if mask & !kind::ALL != 0 {
            return Err(Error::invalid(format!(
                "on_event: mask {mask:#x} has bits that name no event kind (known: {:#x})",
                kind::ALL
            )));
        }
        self.changed();
        self.event_mask = mask;
        Ok(())
    }

    pub fn timeout_ms(&mut self, ms: u64) -> Result<()> {
        self.changed();
        // A timerfd takes seconds as time_t: keep far below its range.
        const MAX_MS: u64 = 1 << 52;
        if ms > MAX_MS {
            return Err(Error::invalid(format!(
                "timeout_ms: {ms} is over the {MAX_MS} ms limit"
            )));
        }
        self.timeout_ms = if ms == 0 { None } else { Some(ms) };
        Ok(())
    }

    pub fn env_clear(&mut self) -> Result<()> {
        self.changed();
        self.env_clear = true;
        self.env_set.clear();
        Ok(())
    }

    pub fn env_set(&mut self, name: &OsStr, value: &OsStr) -> Result<()> {
        self.changed();
        check_room("env_set", self.env_set.len())?;
        check_len("env_set name", name.as_bytes())?;
        if name.as_bytes().contains(&b'=') {
            return Err(Error::invalid(format!(
                "env_set: name \"{}\" contains '='",
                name.to_string_lossy()
            )));
        }
        if value.len() > MAX_INPUT_LEN {
            return Err(Error::invalid(format!(
                "env_set: value of \"{}\" is over the {MAX_INPUT_LEN}-byte limit",
                name.to_string_lossy()
            )));
        }
        self.env_set.retain(|(n, _)| n != name);
        self.env_set.push((name.to_owned(), value.to_owned()));
        Ok(())
    }

    pub fn cwd(&mut self, path: &OsStr) -> Result<()> {
        self.changed();
        let path = existing_path("cwd", path)?;
        if !path.is_dir() {
            return Err(Error::new(
                libc::ENOTDIR,
                format!("cwd: \"{}\": Not a directory", path.display()),
            ));
        }
        self.cwd = Some(path);
        Ok(())
    }

    /// Routes a syscall through the supervisor (its handler decides; a
    /// syscall without a handler is denied there). Not part of the C API:
    /// it exists so tests and benchmarks can drive the notification path.
    #[doc(hidden)]
    pub fn supervise(&mut self, nr: i64) {
        self.changed();
        if !self.supervised.contains(&nr) {
            self.supervised.push(nr);
        }
    }

    /// The environment the command starts with.
    pub fn environment(&self) -> Vec<(OsString, OsString)> {
        let mut env: Vec<(OsString, OsString)> = if self.env_clear {
            Vec::new()
        } else {
            std::env::vars_os().collect()
        };
        for (name, value) in &self.env_set {
            env.retain(|(n, _)| n != name);
            env.push((name.clone(), value.clone()));
        }
        env
    }
}

/// The calls the child makes under its own filter, between installing it
/// and the command's exec (spawn/mod.rs): the report, the fd table and
/// stdio, the fd limit, the exec, and the exit of a failed start.
const STARTS_THE_COMMAND: &[&str] = &[
    "write",
    "close",
    "fcntl",
    "dup2",
    "close_range",
    "unshare",
    "prlimit64",
    "execve",
    "exit_group",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::spec::Ports;

    #[test]
    fn the_calls_that_start_the_command_cannot_be_denied() {
        let mut p = Policy::new();
        for name in STARTS_THE_COMMAND {
            assert!(syscall_table::number(name).is_some(), "{name}");
            let refused = p.syscall_deny(name).unwrap_err();
            assert_eq!(refused.errno(), libc::EINVAL);
            assert!(refused.message().contains(name), "{}", refused.message());
        }
        assert!(p.syscall_deny("ptrace").is_ok());
    }

    fn bound(p: &Policy) -> Vec<(u16, u16)> {
        match &p.net.bind {
            Some(Ports::List(list)) => list.iter().map(|r| (r.lo, r.hi)).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn net_bind_calls_merge_into_one_sorted_list() {
        // fuzz/net_bind found this: "9" bound twice was [9, 9], and calls
        // in any order were kept in that order (Ports::List is documented
        // sorted and merged).
        let mut p = Policy::new();
        p.net_bind("9").unwrap();
        p.net_bind("9").unwrap();
        assert_eq!(bound(&p), [(9, 9)]);
        p.net_bind("100-200,5").unwrap();
        p.net_bind("10,201-300").unwrap();
        assert_eq!(bound(&p), [(5, 5), (9, 10), (100, 300)]);
        p.net_bind("*").unwrap();
        p.net_bind("80").unwrap();
        assert_eq!(p.net.bind, Some(Ports::Any));
    }

    #[test]
    fn a_refused_net_bind_keeps_the_ports_bound() {
        // Found with the above: a call over the range limit emptied the
        // ports bound so far.
        let mut p = Policy::new();
        let odd: Vec<String> = (0..MAX_RULES).map(|i| (2 * i + 1).to_string()).collect();
        for chunk in odd.chunks(100) {
            p.net_bind(&chunk.join(",")).unwrap();
        }
        assert_eq!(bound(&p).len(), MAX_RULES);
        let err = p.net_bind(&(2 * MAX_RULES + 1).to_string()).unwrap_err();
        assert_eq!(err.errno(), libc::E2BIG);
        assert_eq!(bound(&p).len(), MAX_RULES);
        // A port already bound adds no range, so it is taken.
        p.net_bind("1").unwrap();
        assert_eq!(bound(&p)[0], (1, 1));
    }
}
