//! The part of a policy the host may change while its sandbox runs, from
//! an event callback or between steps: network destinations, the process
//! and memory limits, denied files. Changes apply to the calls the
//! supervisor decides from then on.
//!
//! Shared by the sandbox and the ffi handle behind a lock, because a
//! callback (running inside a step) changes it through the handle. The
//! supervisor holds the lock only for a lookup, never across a callback.

use crate::error::{Error, Result};
use crate::net::spec::{self, Protocols};
use crate::net::Resolved;
use parking_lot::Mutex;
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
    pub max_processes: Option<u32>,
    /// A memory limit was set at spawn, so its timer runs.
    pub samples_memory: bool,
    pub max_memory: Option<u64>,
}

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
        if !self.tracks_processes {
            return Err(Error::invalid(
                "max_processes: the sandbox was spawned without a process, memory or CPU limit, or fork events, so its forks are not counted",
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
}
