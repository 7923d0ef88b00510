//! libsandlock: run an untrusted command confined by Landlock and seccomp,
//! supervised from the host's own event loop. No threads, no root, no
//! namespaces.
//!
//! The map (one folder per kernel mechanism or concern):
//! - `policy`: what a sandbox may do, checked as it is described;
//! - `spawn`: everything prepared before clone3, the raw-syscall child,
//!   and the helpers started in the sandbox (`watchdog`);
//! - `seccomp`: the BPF filter, the user-notification listener, the
//!   syscall table and every syscall's class;
//! - `supervisor`: one sandbox's fd and non-blocking step, its events,
//!   live policy, freeze, the watch of execs until they stop before their
//!   first instruction (`exec_watch`), and a run to completion (`runner`);
//! - `fs`: Landlock, paths resolved as the caller would, fs_deny, and the
//!   calls made on the job's behalf through the opener;
//! - `net`: network rules, and the trapped network calls made on the
//!   child's behalf (unix ones by the opener: `through`);
//! - `limits`: processes, groups, memory and CPU, calls on another pid;
//! - `virt`: the clock, seeded randomness, virtual files, a private /proc
//!   and new programs' auxiliary vector;
//! - `ffi`: the C ABI, a thin guarded layer over the above;
//! - `sys`: raw system calls and kernel structures;
//! - `fuzzing` (feature `fuzzing` only): the pure parsers, for fuzz/.

#![deny(unsafe_op_in_unsafe_fn)]
// Raw calls live in sys/ (and the fork-to-exec child in spawn/, raw
// pointers from C in ffi/); everything else is safe code over them.
#![deny(unsafe_code)]

mod error;
#[allow(unsafe_code)]
mod ffi;
mod fs;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod limits;
mod net;
mod policy;
mod seccomp;
#[allow(unsafe_code)]
mod spawn;
mod supervisor;
#[allow(unsafe_code)]
mod sys;
mod virt;

pub use error::{Error, Result};
pub use policy::Policy;
pub use supervisor::{ExitReason, Sandbox, Step};

use std::ffi::OsStr;
use std::os::fd::RawFd;

/// Spawns `argv` under `policy`; stdio entries of -1 inherit the host's.
pub fn spawn(policy: &Policy, argv: &[&OsStr], stdio: [RawFd; 3]) -> Result<Sandbox> {
    let prepared = spawn::Prepared::new(policy, argv, stdio)?;
    // Hostnames resolve now, once, and never inside a step.
    let live = supervisor::live_policy::Live {
        net: net::resolve(&policy.net)?,
        protocols: policy.net.protocols(),
        tracks_processes: policy.tracks_processes(),
        counts_forks: policy.counts_forks(),
        max_processes: policy.max_processes,
        samples_memory: policy.max_memory.is_some(),
        max_memory: policy.max_memory,
        traps_opens: policy.traps_opens(),
        private_proc: policy.private_proc,
        fs_denied: supervisor::live_policy::Denied {
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
        virtual_files: virt::virtual_files::of(
            policy.hostname.as_deref(),
            policy.num_cpus,
            policy.random_seed,
        ),
        random_seed: policy.random_seed,
        wall_clock: policy.time_start.map(virt::clock::WallClock::starting_at),
        metadata: supervisor::MetadataRights {
            writable: policy.compiled()?.fs_writable.clone(),
            readable: policy.compiled()?.fs_readable.clone(),
            job: std::sync::Arc::new(
                sys::creds::JobCredentials::of_this_thread()
                    .map_err(|e| Error::os("spawn: the job's credentials", e))?,
            ),
        },
        cpus: prepared.cpus(),
        features: policy.features(),
        dispatch: seccomp::trapped::Dispatch::new(&policy.features(), &policy.supervised),
    };
    let mut new_images = virt::auxv::Rewriter::new(policy.random_seed, policy.time_start);
    let watchdog =
        spawn::watchdog::prepare().map_err(|e| Error::os("spawn: the watchdog's pipe", e))?;
    // Every sandbox has an opener: the fds that answer opens (fs_deny, a
    // private /proc, virtual files) are installed by it, and the unix
    // connects and sends of any sandbox (a socketpair is always there) are
    // made by it, so that no peer sees the host.
    let opener = fs::opener::prepare().map_err(|e| Error::os("spawn: the opener's socket", e))?;
    let child = spawn::spawn(&prepared, &watchdog, Some(&opener), new_images.is_some())?;
    if let Some(rewriter) = new_images.as_mut() {
        supervisor::exec_watch::first_image(
            &child.pidfd,
            child.pid,
            rewriter,
            prepared.shown_exe(),
        )?;
    }
    let opener = Some(fs::opener::Opener::new(opener.host_end, None));
    Sandbox::new(child, rules, watchdog.write_end, opener, new_images)
}
