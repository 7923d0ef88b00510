//! The part of a policy the host may change while its sandbox runs, from
//! an event callback or between steps: network destinations, the process
//! and memory limits, denied files. Changes apply to the calls the
//! supervisor decides from then on.
//!
//! Shared by the sandbox and the ffi handle behind a lock, because a
//! callback (running inside a step) changes it through the handle. The
//! supervisor holds the lock only for a lookup, never across a callback.

use crate::error::{Error, Result};
use crate::fs::paths::FileId;
use crate::net::spec::{self, Protocols};
use crate::net::Resolved;
use parking_lot::Mutex;
use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Arc;

pub type Shared = Arc<Mutex<Live>>;

pub struct Live {
    pub net: Resolved,
    /// The socket kinds the filter lets the sandbox create: fixed at spawn,
    /// so a grant cannot go past them.
    pub protocols: Protocols,
    /// Forks are trapped and counted (a process, memory or CPU limit, or
    /// fork/exit/exec/open events were asked for at spawn).
    pub tracks_processes: bool,
    /// ...and forks are trapped and counted as they happen.
    pub counts_forks: bool,
    pub max_processes: Option<u32>,
    /// A memory limit was set at spawn, so its timer runs.
    pub samples_memory: bool,
    pub max_memory: Option<u64>,
    /// Opens are shown to the supervisor (open events), so denied files
    /// can be refused.
    pub traps_opens: bool,
    /// /proc shows the sandbox's own processes only.
    pub private_proc: bool,
    /// Files and directories denied from now on, by identity: each denied
    /// path, and what lay beneath a denied directory when it was denied.
    pub fs_denied: Denied,
}

/// Most entries one fs_deny of a directory records.
const MAX_DENIED_ENTRIES: usize = 1 << 20;

impl Live {
    /// Allows one more destination: `[tcp|udp|icmp://]address[:ports]`,
    /// an address or CIDR (no hostname: that would need DNS in a step).
    pub fn net_allow(&mut self, text: &str) -> Result<()> {
        let rule = spec::parse_rule("net_allow", text)?;
        let wanted = rule.protocols;
        let spawned = self.protocols;
        if (wanted.tcp && !spawned.tcp)
            || (wanted.udp && !spawned.udp)
            || (wanted.icmp && !spawned.icmp)
        {
            return Err(Error::new(
                libc::EPERM,
                format!(
                    "net_allow: \"{text}\": the sandbox was spawned without sockets of that protocol (its filter cannot be widened)"
                ),
            ));
        }
        self.net.grant(&rule)
    }

    /// No destination at all from now on (not "back to the spawn policy").
    pub fn net_clear(&mut self) {
        self.net.clear_destinations();
    }

    pub fn max_processes(&mut self, n: u32) -> Result<()> {
        if !self.counts_forks {
            return Err(Error::invalid(
                "max_processes: the sandbox was spawned without a process, memory or CPU limit, or fork or exit events, so its forks are not counted",
            ));
        }
        self.max_processes = (n != 0).then_some(n);
        Ok(())
    }

    pub fn max_memory(&mut self, bytes: u64) -> Result<()> {
        if !self.samples_memory {
            return Err(Error::invalid(
                "max_memory: the sandbox was spawned without a memory limit, so its memory is not sampled",
            ));
        }
        self.max_memory = (bytes != 0).then_some(bytes);
        Ok(())
    }

    /// Denies `path` (a file, or a directory and all beneath it) to every
    /// open and exec from now on: the object an open reaches is checked by
    /// identity with its ancestors, so other names (symlinks, `..`,
    /// relative paths, hard links made before this call) reach nothing.
    pub fn fs_deny(&mut self, path: &Path) -> Result<()> {
        if !self.traps_opens {
            return Err(Error::invalid(format!(
                "fs_deny: \"{}\": the sandbox was spawned without open events or fs_deny, so its opens are not seen",
                path.display()
            )));
        }
        let found = identities_beneath("fs_deny", path)?;
        self.fs_denied.added.extend(found);
        Ok(())
    }
}

/// The files denied to a sandbox, by identity: those of its policy (built
/// once, shared by every spawn) and those denied while it runs.
#[derive(Default, Clone)]
pub struct Denied {
    pub base: Arc<HashSet<FileId>>,
    pub added: HashSet<FileId>,
}

impl Denied {
    pub fn is_empty(&self) -> bool {
        self.base.is_empty() && self.added.is_empty()
    }

    pub fn contains(&self, id: &FileId) -> bool {
        self.base.contains(id) || self.added.contains(id)
    }
}

/// The identity of `path` and, for a directory, of everything beneath it
/// now (hard links elsewhere to those files then count as denied too).
pub fn identities_beneath(what: &str, path: &Path) -> Result<Vec<FileId>> {
    let meta = std::fs::metadata(path).map_err(|e| {
        Error::os(
            format!("{what}: \"{}\"", path.display()),
            e.raw_os_error().unwrap_or(libc::ENOENT),
        )
    })?;
    let mut found = vec![(meta.dev(), meta.ino())];
    if meta.is_dir() {
        let mut stack = vec![path.to_path_buf()];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let Ok(meta) = entry.metadata() else { continue };
                found.push((meta.dev(), meta.ino()));
                if found.len() > MAX_DENIED_ENTRIES {
                    return Err(Error::new(
                        libc::E2BIG,
                        format!(
                            "{what}: \"{}\": more than {MAX_DENIED_ENTRIES} entries",
                            path.display()
                        ),
                    ));
                }
                if meta.is_dir() {
                    stack.push(entry.path());
                }
            }
        }
    }
    Ok(found)
}
