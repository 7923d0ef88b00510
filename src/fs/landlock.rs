//! The Landlock half of confinement: a ruleset built in the parent before
//! the child exists, enforced by the child with one raw
//! `landlock_restrict_self` right before exec.
//!
//! Every access right the kernel knows (up to ABI 6) is handled, so what no
//! rule grants is denied: reads and writes outside `fs_read`/`fs_write`,
//! truncate, cross-directory links (refer), device ioctls, TCP connect and
//! bind to ports no rule names, abstract unix sockets and signals that
//! leave the sandbox. For TCP, Landlock knows ports, not addresses: it is
//! the second wall behind the supervisor's address checks, and where a
//! rule allows every port the right is left unhandled (the supervisor
//! alone decides).

use crate::error::{Error, Result};
use crate::net::spec::{PortRange, Ports};
use crate::policy::Policy;
use landlock::{
    Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, NetPort, PathBeneath, PathFd,
    Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetError, Scope, ABI,
};
use std::os::fd::OwnedFd;
use std::path::Path;

/// The ABI whose rights we handle; older kernels are refused.
const REQUIRED_ABI: ABI = ABI::V6;

/// What `fs_read` grants.
fn read_access() -> BitFlags<AccessFs> {
    AccessFs::ReadFile | AccessFs::ReadDir | AccessFs::Execute
}

/// What `fs_write` grants: everything.
fn write_access() -> BitFlags<AccessFs> {
    AccessFs::from_all(REQUIRED_ABI)
}

/// The Landlock ABI the running kernel offers (0 without Landlock).
pub fn kernel_abi() -> i32 {
    crate::sys::landlock_abi()
}

fn compat_error(err: RulesetError) -> Error {
    let abi = kernel_abi();
    Error::new(
        libc::ENOSYS,
        format!(
            "landlock: this kernel offers ABI {abi}, the policy needs ABI {} ({err})",
            REQUIRED_ABI as i32
        ),
    )
}

fn add_tree(
    ruleset: landlock::RulesetCreated,
    what: &str,
    path: &Path,
    access: BitFlags<AccessFs>,
) -> Result<landlock::RulesetCreated> {
    let fd = PathFd::new(path).map_err(|e| {
        Error::new(
            libc::ENOENT,
            format!("{what}: \"{}\": cannot open: {e}", path.display()),
        )
    })?;
    let access = if path.is_dir() {
        access
    } else {
        access & AccessFs::from_file(REQUIRED_ABI)
    };
    ruleset
        .add_rule(PathBeneath::new(fd, access))
        .map_err(|e| Error::new(libc::EINVAL, format!("{what}: \"{}\": {e}", path.display())))
}

/// A ruleset of scopes only, which the job's first process takes on after
/// it started the helpers (watchdog, opener) in the policy's domain: the
/// job then lives in a domain nested in theirs, and Landlock's scopes let
/// it neither signal nor trace them (it could stop the opener, read it, or
/// kill the watchdog otherwise). File and network rights stay the policy's:
/// the nested domain takes none away either. Refer is the exception that
/// needs a rule: every layer denies reparenting (a link or rename across
/// directories) unless it grants refer where it happens, even a layer that
/// does not handle it, so this one grants it on the whole tree.
pub fn build_helper_fence() -> Result<OwnedFd> {
    let root =
        PathFd::new("/").map_err(|e| Error::new(libc::EIO, format!("landlock: \"/\": {e}")))?;
    let ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(AccessFs::Refer)
        .and_then(|r| r.scope(Scope::from_all(REQUIRED_ABI)))
        .and_then(|r| r.create())
        .and_then(|r| r.add_rule(PathBeneath::new(root, AccessFs::Refer)))
        .map_err(compat_error)?;
    let fd: Option<OwnedFd> = ruleset.into();
    fd.ok_or_else(|| Error::new(libc::ENOSYS, "landlock: not available on this kernel"))
}

/// Builds the ruleset for `policy` and returns its fd, ready for
/// `landlock_restrict_self` in the child. Fails with ENOSYS when the kernel
/// lacks Landlock or the ABI the policy needs.
pub fn build_ruleset(policy: &Policy) -> Result<OwnedFd> {
    let connect_ports = policy.net.tcp_connect_ports();
    let bind_ports = match &policy.net.bind {
        None => Some(Vec::new()),
        Some(Ports::Any) => None,
        Some(Ports::List(ranges)) => Some(ranges.clone()),
    };
    let mut net_access = BitFlags::<AccessNet>::empty();
    if connect_ports.is_some() {
        net_access |= AccessNet::ConnectTcp;
    }
    if bind_ports.is_some() {
        net_access |= AccessNet::BindTcp;
    }
    let ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(AccessFs::from_all(REQUIRED_ABI))
        .and_then(|r| {
            if net_access.is_empty() {
                Ok(r)
            } else {
                r.handle_access(net_access)
            }
        })
        .and_then(|r| r.scope(Scope::from_all(REQUIRED_ABI)))
        .and_then(|r| r.create())
        .map_err(compat_error)?;
    let mut ruleset = ruleset;
    for path in &policy.fs_read {
        ruleset = add_tree(ruleset, "fs_read", path, read_access())?;
    }
    for path in &policy.fs_write {
        ruleset = add_tree(ruleset, "fs_write", path, write_access())?;
    }
    for (ranges, access) in [
        (connect_ports, AccessNet::ConnectTcp),
        (bind_ports, AccessNet::BindTcp),
    ] {
        for port in ranges
            .iter()
            .flatten()
            .flat_map(|r: &PortRange| r.lo..=r.hi)
        {
            ruleset = ruleset
                .add_rule(NetPort::new(port, access))
                .map_err(|e| Error::new(libc::EINVAL, format!("landlock: port {port}: {e}")))?;
        }
    }
    let fd: Option<OwnedFd> = ruleset.into();
    fd.ok_or_else(|| Error::new(libc::ENOSYS, "landlock: not available on this kernel"))
}
