//! What a job may ask of an inet send besides its destination: socket
//! options, control messages and send flags.
//!
//! The allowlist decides on the destination address a call names. Some
//! options and control messages make the kernel route the packet to
//! another address (IPv6 routing headers, IPv4 source routes) or out of
//! another interface than the routing table's (device binding, an output
//! interface index), where the same address can be another host (a VRF, a
//! second network, loopback itself). Those are refused:
//! - socket options in the seccomp filter, on (level, optname), so they
//!   never reach the kernel ([`REDIRECTING_SOCKOPTS`]);
//! - control messages in the supervisor, on the copy it sends
//!   ([`check_inet_control`]).
//!
//! Send flags are checked against a list of the ones with a meaning for a
//! send ([`send_flags`]): `MSG_ZEROCOPY` is stripped, since a zero-copy
//! send made on the job's behalf would have the kernel transmit, later,
//! from a buffer of the supervisor's that the host has since reused.

/// (level, optname) pairs setsockopt refuses with EPERM.
pub const REDIRECTING_SOCKOPTS: &[(i32, i32)] = &[
    // Zero-copy sends (see the module's comment).
    (libc::SOL_SOCKET, libc::SO_ZEROCOPY),
    // The output interface: an address is a host only on a given network.
    (libc::SOL_SOCKET, libc::SO_BINDTODEVICE),
    (libc::SOL_SOCKET, SO_BINDTOIFINDEX),
    (libc::IPPROTO_IP, IP_UNICAST_IF),
    (libc::IPPROTO_IPV6, IPV6_UNICAST_IF),
    // A sticky in6_pktinfo: its interface index, as above.
    (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO),
    // IPv4 options (source routes: the first hop is the destination).
    // The kernel already refuses source routes without CAP_NET_RAW; all
    // options are refused, as in control messages.
    (libc::IPPROTO_IP, libc::IP_OPTIONS),
    // Sending from (and binding to) addresses the host does not own.
    (libc::IPPROTO_IP, libc::IP_TRANSPARENT),
    (libc::IPPROTO_IP, libc::IP_FREEBIND),
    (libc::IPPROTO_IPV6, IPV6_TRANSPARENT),
    (libc::IPPROTO_IPV6, IPV6_FREEBIND),
    // IPv6 extension headers sent with every packet: a routing header
    // sends it to its first segment; the option headers need
    // CAP_NET_RAW, refused here as well; RFC 2292 "packet options" take
    // a control buffer, routing header included.
    (libc::IPPROTO_IPV6, IPV6_RTHDR),
    (libc::IPPROTO_IPV6, IPV6_HOPOPTS),
    (libc::IPPROTO_IPV6, IPV6_DSTOPTS),
    (libc::IPPROTO_IPV6, IPV6_RTHDRDSTOPTS),
    (libc::IPPROTO_IPV6, IPV6_2292PKTOPTIONS),
    (libc::IPPROTO_IPV6, IPV6_NEXTHOP),
];

// Not every one is in the libc crate.
const SO_BINDTOIFINDEX: i32 = 62;
const IP_UNICAST_IF: i32 = 50;
const IPV6_UNICAST_IF: i32 = 76;
const IPV6_TRANSPARENT: i32 = 75;
const IPV6_FREEBIND: i32 = 78;
const IPV6_2292PKTINFO: i32 = 2;
const IPV6_2292HOPOPTS: i32 = 3;
const IPV6_2292DSTOPTS: i32 = 4;
const IPV6_2292RTHDR: i32 = 5;
const IPV6_2292PKTOPTIONS: i32 = 6;
const IPV6_NEXTHOP: i32 = 9;
const IPV6_HOPOPTS: i32 = 54;
const IPV6_RTHDRDSTOPTS: i32 = 55;
const IPV6_RTHDR: i32 = 57;
const IPV6_DSTOPTS: i32 = 59;
const IPV6_DONTFRAG: i32 = 62;
const IPV6_TCLASS: i32 = 67;
const IPV6_HOPLIMIT: i32 = 52;
const IP_RETOPTS: i32 = 7;
const SO_TIMESTAMPING_OLD: i32 = 37;
const SCM_TXTIME: i32 = 61;
const SCM_TS_OPT_ID: i32 = 81;
const UDP_SEGMENT: i32 = 103;

/// Control messages that change where a packet goes.
const REDIRECTING_CMSGS: &[(i32, i32)] = &[
    (libc::IPPROTO_IP, IP_RETOPTS),
    (libc::IPPROTO_IP, libc::IP_OPTIONS),
    (libc::IPPROTO_IPV6, IPV6_RTHDR),
    (libc::IPPROTO_IPV6, IPV6_2292RTHDR),
    (libc::IPPROTO_IPV6, IPV6_HOPOPTS),
    (libc::IPPROTO_IPV6, IPV6_2292HOPOPTS),
    (libc::IPPROTO_IPV6, IPV6_DSTOPTS),
    (libc::IPPROTO_IPV6, IPV6_2292DSTOPTS),
    (libc::IPPROTO_IPV6, IPV6_RTHDRDSTOPTS),
    (libc::IPPROTO_IPV6, IPV6_NEXTHOP),
];

/// Control messages an inet send may carry: timestamps, TTL and traffic
/// class, GSO segment size, and a source address (pktinfo) without an
/// interface.
const PLAIN_CMSGS: &[(i32, i32)] = &[
    (libc::SOL_SOCKET, SO_TIMESTAMPING_OLD),
    (libc::SOL_SOCKET, SCM_TXTIME),
    (libc::SOL_SOCKET, SCM_TS_OPT_ID),
    (libc::SOL_SOCKET, libc::SO_PRIORITY),
    (libc::IPPROTO_IP, libc::IP_TTL),
    (libc::IPPROTO_IP, libc::IP_TOS),
    (libc::IPPROTO_IPV6, IPV6_HOPLIMIT),
    (libc::IPPROTO_IPV6, IPV6_TCLASS),
    (libc::IPPROTO_IPV6, IPV6_DONTFRAG),
    (libc::IPPROTO_UDP, UDP_SEGMENT),
];

/// One control message of a copied control buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cmsg {
    pub level: i32,
    pub kind: i32,
    /// Where its data lies in the buffer.
    pub data: std::ops::Range<usize>,
}

/// The control messages of `control`, in order; EINVAL for a length that
/// is too small or runs past the buffer (the kernel's answer). The walk
/// only moves forward, so it ends after at most len/16 messages whatever
/// the lengths say.
pub fn cmsgs(control: &[u8]) -> Result<Vec<Cmsg>, i32> {
    const HEADER: usize = std::mem::size_of::<libc::cmsghdr>();
    let mut found = Vec::new();
    let mut at = 0usize;
    while control.len() - at >= HEADER {
        let word = |from: usize| u64::from_ne_bytes(control[from..from + 8].try_into().unwrap());
        let half = |from: usize| i32::from_ne_bytes(control[from..from + 4].try_into().unwrap());
        let len = usize::try_from(word(at)).map_err(|_| libc::EINVAL)?;
        if len < HEADER || len > control.len() - at {
            return Err(libc::EINVAL);
        }
        found.push(Cmsg {
            level: half(at + 8),
            kind: half(at + 12),
            data: at + HEADER..at + len,
        });
        // CMSG_NXTHDR: the next header is 8-aligned; past the end, done.
        let step = len.div_ceil(8) * 8;
        if step > control.len() - at {
            break;
        }
        at += step;
    }
    Ok(found)
}

/// Refuses what an inet send's control messages may not ask: EPERM for
/// a redirecting one or an interface in a pktinfo, EINVAL for one that
/// means nothing to an inet socket.
pub fn check_inet_control(control: &[u8]) -> Result<(), i32> {
    for cmsg in cmsgs(control)? {
        let key = (cmsg.level, cmsg.kind);
        let data = &control[cmsg.data.clone()];
        if REDIRECTING_CMSGS.contains(&key) {
            return Err(libc::EPERM);
        }
        if key == (libc::IPPROTO_IP, libc::IP_PKTINFO) {
            // struct in_pktinfo { int ipi_ifindex; ... }
            pktinfo_without_interface(data, 0)?;
        } else if key == (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO)
            || key == (libc::IPPROTO_IPV6, IPV6_2292PKTINFO)
        {
            // struct in6_pktinfo { struct in6_addr; int ipi6_ifindex; }
            pktinfo_without_interface(data, 16)?;
        } else if !PLAIN_CMSGS.contains(&key) {
            return Err(libc::EINVAL);
        }
    }
    Ok(())
}

fn pktinfo_without_interface(data: &[u8], ifindex_at: usize) -> Result<(), i32> {
    let index = data
        .get(ifindex_at..ifindex_at + 4)
        .ok_or(libc::EINVAL)
        .map(|b| i32::from_ne_bytes(b.try_into().unwrap()))?;
    if index != 0 {
        return Err(libc::EPERM);
    }
    Ok(())
}

/// Send flags with a meaning here. MSG_FASTOPEN sends to the address the
/// call names, which is checked; MSG_DONTROUTE keeps that address and only
/// refuses a gateway; MSG_OOB is urgent data to the same peer.
const SEND_FLAGS: i32 = libc::MSG_OOB
    | libc::MSG_DONTROUTE
    | MSG_PROBE
    | libc::MSG_DONTWAIT
    | libc::MSG_EOR
    | libc::MSG_CONFIRM
    | libc::MSG_NOSIGNAL
    | libc::MSG_MORE
    | libc::MSG_FASTOPEN
    | libc::MSG_ZEROCOPY;
const MSG_PROBE: i32 = 0x10;

/// The flags to send with, from the job's: EINVAL for a flag not in
/// [`SEND_FLAGS`]; MSG_ZEROCOPY dropped (the kernel copies, as it does
/// for a socket without SO_ZEROCOPY, which the filter refuses anyway).
pub fn send_flags(flags: i32) -> Result<i32, i32> {
    if flags & !SEND_FLAGS != 0 {
        return Err(libc::EINVAL);
    }
    Ok(flags & !libc::MSG_ZEROCOPY)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmsg(level: i32, kind: i32, data: &[u8]) -> Vec<u8> {
        let len = 16 + data.len();
        let mut bytes = (len as u64).to_ne_bytes().to_vec();
        bytes.extend(level.to_ne_bytes());
        bytes.extend(kind.to_ne_bytes());
        bytes.extend(data);
        bytes.resize(len.div_ceil(8) * 8, 0);
        bytes
    }

    #[test]
    fn wrapping_lengths_end_the_walk() {
        let mut control = Vec::new();
        for word in [16u64, u64::MAX - 7, u64::MAX - 7, 0] {
            control.extend(word.to_ne_bytes());
        }
        assert_eq!(cmsgs(&control), Err(libc::EINVAL));
        let mut huge = 32u64.to_ne_bytes().to_vec();
        huge.resize(16, 0);
        assert_eq!(cmsgs(&huge), Err(libc::EINVAL));
        assert_eq!(cmsgs(&[0u8; 15]), Ok(vec![]));
    }

    #[test]
    fn several_messages_are_walked_in_order() {
        let mut control = cmsg(libc::IPPROTO_IP, libc::IP_TTL, &[1, 0, 0, 0]);
        control.extend(cmsg(libc::IPPROTO_IP, libc::IP_TOS, &[0]));
        let found = cmsgs(&control).unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(found[1].kind, libc::IP_TOS);
        assert_eq!(found[1].data, 40..41);
        assert_eq!(check_inet_control(&control), Ok(()));
    }

    #[test]
    fn redirecting_and_unknown_messages_are_refused() {
        let rthdr = cmsg(libc::IPPROTO_IPV6, IPV6_RTHDR, &[0; 24]);
        assert_eq!(check_inet_control(&rthdr), Err(libc::EPERM));
        let srr = cmsg(libc::IPPROTO_IP, IP_RETOPTS, &[0; 8]);
        assert_eq!(check_inet_control(&srr), Err(libc::EPERM));
        let rights = cmsg(libc::SOL_SOCKET, libc::SCM_RIGHTS, &[0; 4]);
        assert_eq!(check_inet_control(&rights), Err(libc::EINVAL));
        let mut info = [0u8; 12];
        assert_eq!(
            check_inet_control(&cmsg(libc::IPPROTO_IP, libc::IP_PKTINFO, &info)),
            Ok(())
        );
        info[0] = 1;
        assert_eq!(
            check_inet_control(&cmsg(libc::IPPROTO_IP, libc::IP_PKTINFO, &info)),
            Err(libc::EPERM)
        );
        let mut info6 = [0u8; 20];
        info6[16] = 1;
        assert_eq!(
            check_inet_control(&cmsg(libc::IPPROTO_IPV6, libc::IPV6_PKTINFO, &info6)),
            Err(libc::EPERM)
        );
    }

    #[test]
    fn send_flags_are_checked() {
        assert_eq!(
            send_flags(libc::MSG_ZEROCOPY | libc::MSG_MORE),
            Ok(libc::MSG_MORE)
        );
        assert_eq!(send_flags(libc::MSG_PEEK), Err(libc::EINVAL));
        assert_eq!(send_flags(0x4000_0000), Err(libc::EINVAL));
    }
}
