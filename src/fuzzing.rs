//! The pure parsers the fuzz targets (fuzz/, `make fuzz-smoke`) drive:
//! internal functions re-exported, only with the `fuzzing` feature. Not an
//! API: nothing here is stable, and none of it is in the C library.

/// The text of network rules (`net_allow`, `net_bind`, `net_deny`).
pub use crate::net::spec::{
    effective_destination, parse_cidr, parse_ports, parse_rule, Cidr, PortRange, Ports, Protocols,
    Rule, Target,
};

/// Socket addresses copied out of a child.
pub use crate::net::sockaddr::{
    encode_bytes, encode_unix_bytes, parse as parse_sockaddr, Address, MAX_LEN as MAX_SOCKADDR,
};

/// Control messages and send flags of an inet send.
pub use crate::net::options::{check_inet_control, cmsgs, send_flags, Cmsg};

/// A copied msghdr/mmsghdr: its fields, the iovecs and the lengths copied.
pub use crate::net::handler::{
    address_len, control_len, gather_ranges, iovec_count, iovecs_of, mmsg_count, mmsg_entry,
    mmsg_len_at, passed_fd_slots, Msghdr, MAX_CONTROL, MAX_DATA, MAX_IOV, MAX_MMSG, MAX_PASSED_FDS,
};

/// The path functions of fs_deny's resolver.
pub use crate::fs::deny::as_caller;
pub use crate::fs::open_on_behalf::followed;
pub use crate::fs::paths::split;

/// The property every port list keeps (src/net/spec.rs documents it for
/// `Ports::List`): sorted, merged (neither overlapping nor touching),
/// ports 1 to 65535. Panics otherwise: a finding.
pub fn check_ports(ports: &Ports) {
    if let Ports::List(ranges) = ports {
        assert!(!ranges.is_empty());
        for r in ranges {
            assert!(1 <= r.lo && r.lo <= r.hi, "{r:?}");
        }
        for w in ranges.windows(2) {
            assert!(u32::from(w[0].hi) + 1 < u32::from(w[1].lo), "{ranges:?}");
        }
    }
}
