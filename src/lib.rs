//! libsandlock: run an untrusted command confined by Landlock and seccomp,
//! supervised from the host's own event loop. No threads, no root, no
//! namespaces.
//!
//! The map:
//! - [`policy`]: what a sandbox may do, checked as it is described;
//! - [`landlock`]: the filesystem, TCP and scope ruleset;
//! - [`net`]: network rules, and the trapped network calls made on the
//!   child's behalf;
//! - [`seccomp::filter`]: the BPF program (deny list, argument and arch checks);
//! - [`seccomp::notify`]: the user-notification listener;
//! - [`spawn`]: preparing everything, then clone3 and a raw-syscall child;
//! - [`supervisor`]: one sandbox's fd, its non-blocking step and its end;
//! - [`runner`]: a run to completion, stdin fed and the outputs captured,
//!   from one poll loop;
//! - [`groups`]: the sandbox's process groups, so a kill reaches every
//!   process;
//! - [`processes`]: every process of the sandbox, for the limits that
//!   count or measure them;
//! - [`limits`]: max_memory and max_cpu, enforced from timers in the fd;
//! - `pidcalls`: calls that act on another process by its pid, kept to
//!   the sandbox's own;
//! - [`watchdog`]: kills the whole sandbox when the host frees it or dies;
//! - `ffi`: the C ABI, a thin guarded layer over the above;
//! - `sys`: raw system calls and kernel structures;
//! - `fuzzing` (feature `fuzzing` only): the pure parsers, for fuzz/.

mod auxv;
mod clock;
pub mod error;
pub mod events;
mod ffi;
mod freeze;
mod fsmeta;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod groups;
pub mod landlock;
pub mod limits;
pub mod live;
mod names;
pub mod net;
mod observed;
mod onbehalf;
pub mod opener;
mod opens;
mod paths;
mod pidcalls;
pub mod policy;
pub mod processes;
mod procfs;
mod procview;
pub mod runner;
pub mod seccomp;
mod seeded;
pub mod spawn;
pub mod supervisor;
mod sys;
pub mod syscall_table;
mod virtualfiles;
pub mod watchdog;

pub use error::{Error, Result};
pub use policy::Policy;
pub use supervisor::{ExitReason, Sandbox, Step};

use std::ffi::OsStr;
use std::os::fd::RawFd;

/// Spawns `argv` under `policy`; stdio entries of -1 inherit the host's.
pub fn spawn(policy: &Policy, argv: &[&OsStr], stdio: [RawFd; 3]) -> Result<Sandbox> {
    let prepared = spawn::Prepared::new(policy, argv, stdio)?;
    // Hostnames resolve now, once, and never inside a step.
    let live = live::Live {
        net: net::resolve(&policy.net)?,
        protocols: policy.net.protocols(),
        tracks_processes: policy.tracks_processes(),
        counts_forks: policy.counts_forks(),
        max_processes: policy.max_processes,
        samples_memory: policy.max_memory.is_some(),
        max_memory: policy.max_memory,
        traps_opens: policy.traps_opens(),
        private_proc: policy.private_proc,
        fs_denied: live::Denied {
            base: policy.compiled()?.fs_denied.clone(),
            added: Default::default(),
        },
    };
    let rules = supervisor::Rules {
        live: std::sync::Arc::new(parking_lot::Mutex::new(live)),
        unix: net::unix::UnixGate::new(&policy.fs_write),
        timeout_ms: policy.timeout_ms,
        max_cpu: policy.max_cpu,
        hostname: policy.hostname.clone(),
        virtual_files: virtualfiles::of(
            policy.hostname.as_deref(),
            policy.num_cpus,
            policy.random_seed,
        ),
        random_seed: policy.random_seed,
        wall_clock: policy.time_start.map(clock::WallClock::starting_at),
        metadata: supervisor::MetadataRights {
            writable: policy.compiled()?.fs_writable.clone(),
            readable: policy.compiled()?.fs_readable.clone(),
            job: std::sync::Arc::new(
                sys::creds::JobCredentials::of_this_thread()
                    .map_err(|e| Error::os("spawn: the job's credentials", e))?,
            ),
        },
        cpus: prepared.cpus(),
        opens_on_behalf: policy.opens_on_behalf(),
    };
    let mut new_images = auxv::Rewriter::new(policy.random_seed, policy.time_start);
    let watchdog = watchdog::prepare().map_err(|e| Error::os("spawn: the watchdog's pipe", e))?;
    // Every sandbox has an opener: the fds that answer opens (fs_deny, a
    // private /proc, virtual files) are installed by it, and the unix
    // connects and sends of any sandbox (a socketpair is always there) are
    // made by it, so that no peer sees the host.
    let opener = opener::prepare().map_err(|e| Error::os("spawn: the opener's socket", e))?;
    let child = spawn::spawn(&prepared, &watchdog, Some(&opener), new_images.as_mut())?;
    let opener = Some(opener::Opener::new(opener.host_end, None));
    Sandbox::new(child, rules, watchdog.write_end, opener, new_images)
}
