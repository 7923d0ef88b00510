//! Control bytes copied from a child's msghdr (src/net/options.rs,
//! src/net/handler.rs): the cmsg walk, the inet check and the SCM_RIGHTS
//! slots of a unix send. The walk stays inside the buffer and re-encodes
//! to itself; nothing that redirects a packet passes the inet check.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sandlock::fuzzing::{check_inet_control, cmsgs, passed_fd_slots, send_flags, MAX_PASSED_FDS};

const HEADER: usize = 16;

/// (level, type) of every control message that changes where a packet
/// goes: IPv4 options, IPv6 extension headers and next hop.
const REDIRECTING: &[(i32, i32)] = &[
    (libc::IPPROTO_IP, libc::IP_OPTIONS),
    (libc::IPPROTO_IP, 7),    // IP_RETOPTS
    (libc::IPPROTO_IPV6, 3),  // IPV6_2292HOPOPTS
    (libc::IPPROTO_IPV6, 4),  // IPV6_2292DSTOPTS
    (libc::IPPROTO_IPV6, 5),  // IPV6_2292RTHDR
    (libc::IPPROTO_IPV6, 9),  // IPV6_NEXTHOP
    (libc::IPPROTO_IPV6, 54), // IPV6_HOPOPTS
    (libc::IPPROTO_IPV6, 55), // IPV6_RTHDRDSTOPTS
    (libc::IPPROTO_IPV6, 57), // IPV6_RTHDR
    (libc::IPPROTO_IPV6, 59), // IPV6_DSTOPTS
];

fuzz_target!(|data: &[u8]| {
    // The first four bytes are send flags; the rest a control buffer.
    let (flags, control) = match data {
        [a, b, c, d, rest @ ..] => (i32::from_ne_bytes([*a, *b, *c, *d]), rest),
        _ => (0, data),
    };
    if let Ok(f) = send_flags(flags) {
        assert_eq!(f & libc::MSG_ZEROCOPY, 0);
        assert_eq!(f & !flags, 0, "a flag added");
        assert_eq!(f, flags & !libc::MSG_ZEROCOPY);
    }

    let walked = cmsgs(control);
    match &walked {
        Err(e) => assert_eq!(*e, libc::EINVAL),
        Ok(found) => {
            assert!(found.len() <= control.len() / HEADER);
            let mut next = 0;
            let mut rebuilt = Vec::new();
            for m in found {
                let at = m.data.start - HEADER;
                // Headers at 8-aligned offsets, in order, data in bounds.
                assert_eq!(at, next, "{found:?}");
                assert_eq!(at % 8, 0);
                assert!(m.data.start <= m.data.end && m.data.end <= control.len());
                assert_eq!(
                    u64::from_ne_bytes(control[at..at + 8].try_into().unwrap()) as usize,
                    m.data.len() + HEADER
                );
                next = (m.data.end).div_ceil(8) * 8;
                rebuilt.resize(at, 0);
                rebuilt.extend(((m.data.len() + HEADER) as u64).to_ne_bytes());
                rebuilt.extend(m.level.to_ne_bytes());
                rebuilt.extend(m.kind.to_ne_bytes());
                rebuilt.extend(&control[m.data.clone()]);
            }
            // What was walked is what the messages say, padding aside.
            assert_eq!(cmsgs(&rebuilt).as_ref(), Ok(found));
        }
    }

    match check_inet_control(control) {
        Ok(()) => {
            let found = walked.as_ref().expect("a buffer the walk refuses passed");
            for m in found {
                let key = (m.level, m.kind);
                assert!(!REDIRECTING.contains(&key), "{key:?} passed");
                let data = &control[m.data.clone()];
                let ifindex = match key {
                    (libc::IPPROTO_IP, libc::IP_PKTINFO) => Some(0),
                    (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO) | (libc::IPPROTO_IPV6, 2) => Some(16),
                    _ => None,
                };
                if let Some(at) = ifindex {
                    assert_eq!(&data[at..at + 4], &[0; 4], "an interface passed");
                }
                assert!(
                    !(m.level == libc::SOL_SOCKET
                        && [libc::SCM_RIGHTS, libc::SCM_CREDENTIALS].contains(&m.kind)),
                    "unix ancillary data on an inet send"
                );
            }
        }
        Err(e) => assert!(e == libc::EINVAL || e == libc::EPERM, "{e}"),
    }

    match passed_fd_slots(control) {
        Ok(slots) => {
            let found = walked.as_ref().expect("a buffer the walk refuses passed");
            assert!(slots.len() <= MAX_PASSED_FDS);
            let rights: Vec<_> = found
                .iter()
                .filter(|m| m.level == libc::SOL_SOCKET && m.kind == libc::SCM_RIGHTS)
                .collect();
            let expected: usize = rights.iter().map(|m| m.data.len() / 4).sum();
            assert_eq!(slots.len(), expected);
            for w in slots.windows(2) {
                assert!(w[0] + 4 <= w[1], "{slots:?}");
            }
            for &slot in &slots {
                assert!(
                    rights.iter().any(|m| m.data.start <= slot
                        && slot + 4 <= m.data.end
                        && (slot - m.data.start) % 4 == 0),
                    "slot {slot} outside every SCM_RIGHTS"
                );
            }
            assert!(!found
                .iter()
                .any(|m| m.level == libc::SOL_SOCKET && m.kind == libc::SCM_CREDENTIALS));
        }
        Err(e) => assert!(e == libc::EINVAL || e == libc::EPERM, "{e}"),
    }
});
