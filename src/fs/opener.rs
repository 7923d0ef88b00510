//! The opener: a process per sandbox, in its Landlock domain and with its
//! credentials (capabilities dropped), outside its seccomp filter, that
//! makes calls for the supervisor as one of the sandbox's processes:
//! - opens (fs_deny, a private /proc): Landlock and the file permissions
//!   judge each exactly as they would the child's, so routing opens
//!   through it never widens what the sandbox may open;
//! - installs of the fds that answer calls (SECCOMP_IOCTL_NOTIF_ADDFD,
//!   which waits until the caller's thread runs: the wait is the opener's,
//!   not the host's);
//! - unix connects and sends (src/net/through.rs): the peer sees the
//!   sandbox's pid and credentials, never the host's.
//!
//! Its program is ours, hand-written (`src/fs/opener.s`, assembled here as
//! bytes) and exec'd from a sealed memfd, like the watchdog's: no copy of
//! the host's memory. fd 3 is a SOCK_SEQPACKET socket to the supervisor.
//! A request is a sequence number, an operation, three arguments, 4096
//! bytes (a path or an address) and a send's data, with the fds it works
//! on (SCM_RIGHTS), which arrive as fds 4, 5, ...: so `/proc/self/fd/4`
//! and `/proc/self/fd/5` name them. The reply is the sequence number and
//! an 8-byte result (a value or -errno), with the opened fd itself for an
//! open. It exits when the supervisor's end closes. It makes itself
//! non-dumpable, and the job, in a Landlock domain nested below it, can
//! neither signal nor trace it; still the supervisor never waits for it:
//! a request is sent ([`Opener::request`]), the call that needs it waits
//! parked (`Opens` in fs/opener_calls.rs), and the reply is taken
//! ([`Opener::reply`]) when the socket is readable, in a later step.
//! Requests are answered in order, so several may be out at once (at
//! most [`MOST_IN_FLIGHT`], and at most [`Opener::room`] bytes, well under
//! what the socket queues); a reply that is late (REPLY_TIMEOUT_MS since
//! the last one, timed by a timerfd in the sandbox's epoll set, installs
//! excepted), missing or out of sequence breaks the opener for good, and
//! every call through it fails with EIO from then on.

use crate::sys;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// `src/fs/opener.s`, assembled (`make opener-check` compares).
pub const PROGRAM_CODE: [u8; 1605] = [
    0xb8, 0x9d, 0x00, 0x00, 0x00, 0xbf, 0x04, 0x00, 0x00, 0x00, 0x31, 0xf6, 0x0f, 0x05, 0xb8, 0x5f,
    0x00, 0x00, 0x00, 0x31, 0xff, 0x0f, 0x05, 0xb8, 0x20, 0x00, 0x00, 0x00, 0xbf, 0x03, 0x00, 0x00,
    0x00, 0x0f, 0x05, 0xb8, 0x20, 0x00, 0x00, 0x00, 0xbf, 0x03, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xb8,
    0x20, 0x00, 0x00, 0x00, 0xbf, 0x03, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x48, 0x81, 0xec, 0x00, 0x20,
    0x00, 0x00, 0xb8, 0x09, 0x00, 0x00, 0x00, 0x31, 0xff, 0xbe, 0x00, 0x00, 0x04, 0x00, 0xba, 0x03,
    0x00, 0x00, 0x00, 0x41, 0xba, 0x22, 0x00, 0x00, 0x00, 0x49, 0xc7, 0xc0, 0xff, 0xff, 0xff, 0xff,
    0x45, 0x31, 0xc9, 0x0f, 0x05, 0x48, 0x85, 0xc0, 0x0f, 0x88, 0xce, 0x05, 0x00, 0x00, 0x48, 0x89,
    0x84, 0x24, 0x90, 0x11, 0x00, 0x00, 0xb8, 0xb4, 0x01, 0x00, 0x00, 0xbf, 0x04, 0x00, 0x00, 0x00,
    0xbe, 0xff, 0xff, 0xff, 0xff, 0x31, 0xd2, 0x0f, 0x05, 0x48, 0x8d, 0x04, 0x24, 0x48, 0x89, 0x84,
    0x24, 0x48, 0x10, 0x00, 0x00, 0x48, 0xc7, 0x84, 0x24, 0x50, 0x10, 0x00, 0x00, 0x40, 0x10, 0x00,
    0x00, 0x48, 0x8b, 0x84, 0x24, 0x90, 0x11, 0x00, 0x00, 0x48, 0x89, 0x84, 0x24, 0x58, 0x10, 0x00,
    0x00, 0x48, 0xc7, 0x84, 0x24, 0x60, 0x10, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x48, 0xc7, 0x84,
    0x24, 0x68, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x48, 0xc7, 0x84, 0x24, 0x70, 0x10, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x48, 0x8d, 0x84, 0x24, 0x48, 0x10, 0x00, 0x00, 0x48, 0x89, 0x84,
    0x24, 0x78, 0x10, 0x00, 0x00, 0x48, 0xc7, 0x84, 0x24, 0x80, 0x10, 0x00, 0x00, 0x02, 0x00, 0x00,
    0x00, 0x48, 0x8d, 0x84, 0x24, 0x98, 0x11, 0x00, 0x00, 0x48, 0x89, 0x84, 0x24, 0x88, 0x10, 0x00,
    0x00, 0x48, 0xc7, 0x84, 0x24, 0x90, 0x10, 0x00, 0x00, 0x10, 0x04, 0x00, 0x00, 0x48, 0xc7, 0x84,
    0x24, 0x98, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x48, 0xc7, 0x84, 0x24, 0x98, 0x11, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0xc6, 0x84, 0x24, 0x40, 0x10, 0x00, 0x00, 0x00, 0xb8, 0x2f, 0x00,
    0x00, 0x00, 0xbf, 0x03, 0x00, 0x00, 0x00, 0x48, 0x8d, 0xb4, 0x24, 0x68, 0x10, 0x00, 0x00, 0xba,
    0x00, 0x00, 0x00, 0x40, 0x0f, 0x05, 0x48, 0x83, 0xf8, 0xfc, 0x0f, 0x84, 0x26, 0xff, 0xff, 0xff,
    0x48, 0x85, 0xc0, 0x0f, 0x8e, 0xe3, 0x04, 0x00, 0x00, 0x49, 0x89, 0xc6, 0x45, 0x31, 0xff, 0x48,
    0x83, 0xbc, 0x24, 0x90, 0x10, 0x00, 0x00, 0x14, 0x7c, 0x10, 0x4c, 0x8b, 0xbc, 0x24, 0x98, 0x11,
    0x00, 0x00, 0x49, 0x83, 0xef, 0x10, 0x49, 0xc1, 0xef, 0x02, 0x48, 0xc7, 0xc3, 0xff, 0xff, 0xff,
    0xff, 0x48, 0xc7, 0x84, 0x24, 0xb0, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x49, 0xc7, 0xc5,
    0xf7, 0xff, 0xff, 0xff, 0x4d, 0x85, 0xff, 0x74, 0x22, 0x83, 0xbc, 0x24, 0xa8, 0x11, 0x00, 0x00,
    0x04, 0x0f, 0x85, 0xa5, 0x03, 0x00, 0x00, 0x49, 0x83, 0xff, 0x02, 0x7c, 0x0e, 0x83, 0xbc, 0x24,
    0xac, 0x11, 0x00, 0x00, 0x05, 0x0f, 0x85, 0x91, 0x03, 0x00, 0x00, 0x49, 0xc7, 0xc5, 0xea, 0xff,
    0xff, 0xff, 0x49, 0x83, 0xfe, 0x40, 0x0f, 0x8c, 0x80, 0x03, 0x00, 0x00, 0x48, 0x8b, 0x44, 0x24,
    0x08, 0x48, 0x85, 0xc0, 0x74, 0x29, 0x48, 0x83, 0xf8, 0x01, 0x74, 0x75, 0x48, 0x83, 0xf8, 0x02,
    0x0f, 0x84, 0x05, 0x01, 0x00, 0x00, 0x48, 0x83, 0xf8, 0x03, 0x0f, 0x84, 0xb5, 0x01, 0x00, 0x00,
    0x48, 0x83, 0xf8, 0x04, 0x0f, 0x84, 0xc2, 0x00, 0x00, 0x00, 0xe9, 0x4d, 0x03, 0x00, 0x00, 0x49,
    0xc7, 0xc5, 0xf7, 0xff, 0xff, 0xff, 0x49, 0x83, 0xff, 0x01, 0x0f, 0x8c, 0x3c, 0x03, 0x00, 0x00,
    0x49, 0x83, 0xfe, 0x41, 0x49, 0xc7, 0xc5, 0xea, 0xff, 0xff, 0xff, 0x0f, 0x8c, 0x2b, 0x03, 0x00,
    0x00, 0xb8, 0xb5, 0x01, 0x00, 0x00, 0xbf, 0x04, 0x00, 0x00, 0x00, 0x48, 0x8d, 0x74, 0x24, 0x40,
    0x48, 0x8d, 0x54, 0x24, 0x10, 0x41, 0xba, 0x18, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x49, 0x89, 0xc5,
    0x48, 0x85, 0xc0, 0x0f, 0x88, 0x03, 0x03, 0x00, 0x00, 0x48, 0x89, 0xc3, 0xe9, 0xfb, 0x02, 0x00,
    0x00, 0x49, 0xc7, 0xc5, 0xf7, 0xff, 0xff, 0xff, 0x49, 0x83, 0xff, 0x01, 0x0f, 0x8c, 0xea, 0x02,
    0x00, 0x00, 0x48, 0x8b, 0x44, 0x24, 0x10, 0x48, 0x89, 0x84, 0x24, 0x18, 0x11, 0x00, 0x00, 0x8b,
    0x44, 0x24, 0x18, 0x89, 0x84, 0x24, 0x20, 0x11, 0x00, 0x00, 0xc7, 0x84, 0x24, 0x24, 0x11, 0x00,
    0x00, 0x04, 0x00, 0x00, 0x00, 0xc7, 0x84, 0x24, 0x28, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x8b, 0x44, 0x24, 0x20, 0x89, 0x84, 0x24, 0x2c, 0x11, 0x00, 0x00, 0xb8, 0x10, 0x00, 0x00, 0x00,
    0xbf, 0x02, 0x00, 0x00, 0x00, 0xbe, 0x03, 0x21, 0x18, 0x40, 0x48, 0x8d, 0x94, 0x24, 0x18, 0x11,
    0x00, 0x00, 0x0f, 0x05, 0x49, 0x89, 0xc5, 0xe9, 0x90, 0x02, 0x00, 0x00, 0x49, 0xc7, 0xc5, 0xf7,
    0xff, 0xff, 0xff, 0x49, 0x83, 0xff, 0x01, 0x0f, 0x8c, 0x7f, 0x02, 0x00, 0x00, 0xb8, 0x24, 0x01,
    0x00, 0x00, 0xbf, 0x04, 0x00, 0x00, 0x00, 0xbe, 0x02, 0x00, 0x00, 0x00, 0xba, 0x00, 0x00, 0x08,
    0x00, 0x0f, 0x05, 0x49, 0x89, 0xc5, 0xe9, 0x61, 0x02, 0x00, 0x00, 0x49, 0xc7, 0xc5, 0xf7, 0xff,
    0xff, 0xff, 0x49, 0x83, 0xff, 0x02, 0x0f, 0x8c, 0x50, 0x02, 0x00, 0x00, 0x49, 0xc7, 0xc5, 0xea,
    0xff, 0xff, 0xff, 0x48, 0x8b, 0x54, 0x24, 0x10, 0x48, 0x81, 0xfa, 0x00, 0x10, 0x00, 0x00, 0x0f,
    0x87, 0x37, 0x02, 0x00, 0x00, 0x48, 0x8d, 0x42, 0x40, 0x49, 0x39, 0xc6, 0x0f, 0x8c, 0x2a, 0x02,
    0x00, 0x00, 0xb8, 0x48, 0x00, 0x00, 0x00, 0xbf, 0x04, 0x00, 0x00, 0x00, 0xbe, 0x03, 0x00, 0x00,
    0x00, 0x0f, 0x05, 0x49, 0x89, 0xc5, 0x48, 0x85, 0xc0, 0x0f, 0x88, 0x0d, 0x02, 0x00, 0x00, 0x49,
    0x89, 0xc4, 0x41, 0xf7, 0xc4, 0x00, 0x08, 0x00, 0x00, 0x75, 0x1b, 0xb8, 0x48, 0x00, 0x00, 0x00,
    0xbf, 0x04, 0x00, 0x00, 0x00, 0xbe, 0x04, 0x00, 0x00, 0x00, 0x4c, 0x89, 0xe2, 0x48, 0x81, 0xca,
    0x00, 0x08, 0x00, 0x00, 0x0f, 0x05, 0xb8, 0x2a, 0x00, 0x00, 0x00, 0xbf, 0x04, 0x00, 0x00, 0x00,
    0x48, 0x8d, 0x74, 0x24, 0x40, 0x48, 0x8b, 0x54, 0x24, 0x10, 0x0f, 0x05, 0x49, 0x89, 0xc5, 0x41,
    0xf7, 0xc4, 0x00, 0x08, 0x00, 0x00, 0x0f, 0x85, 0x52, 0x01, 0x00, 0x00, 0xb8, 0x48, 0x00, 0x00,
    0x00, 0xbf, 0x04, 0x00, 0x00, 0x00, 0xbe, 0x04, 0x00, 0x00, 0x00, 0x4c, 0x89, 0xe2, 0x0f, 0x05,
    0xe9, 0x39, 0x01, 0x00, 0x00, 0x49, 0xc7, 0xc5, 0xf7, 0xff, 0xff, 0xff, 0x49, 0x83, 0xff, 0x02,
    0x0f, 0x8c, 0x96, 0x01, 0x00, 0x00, 0x49, 0xc7, 0xc5, 0xea, 0xff, 0xff, 0xff, 0x48, 0x8b, 0x44,
    0x24, 0x18, 0x48, 0x3d, 0x00, 0x10, 0x00, 0x00, 0x0f, 0x87, 0x7e, 0x01, 0x00, 0x00, 0x48, 0x8b,
    0x54, 0x24, 0x20, 0x48, 0x81, 0xfa, 0x00, 0x00, 0x04, 0x00, 0x0f, 0x87, 0x6c, 0x01, 0x00, 0x00,
    0x48, 0x8d, 0x82, 0x40, 0x10, 0x00, 0x00, 0x49, 0x39, 0xc6, 0x0f, 0x85, 0x5c, 0x01, 0x00, 0x00,
    0x48, 0x8b, 0x84, 0x24, 0x90, 0x11, 0x00, 0x00, 0x48, 0x89, 0x84, 0x24, 0x30, 0x11, 0x00, 0x00,
    0x48, 0x89, 0x94, 0x24, 0x38, 0x11, 0x00, 0x00, 0x48, 0xc7, 0x84, 0x24, 0x40, 0x11, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x48, 0x8b, 0x44, 0x24, 0x18, 0x48, 0x89, 0x84, 0x24, 0x48, 0x11, 0x00,
    0x00, 0x48, 0x85, 0xc0, 0x74, 0x0d, 0x48, 0x8d, 0x44, 0x24, 0x40, 0x48, 0x89, 0x84, 0x24, 0x40,
    0x11, 0x00, 0x00, 0x48, 0x8d, 0x84, 0x24, 0x30, 0x11, 0x00, 0x00, 0x48, 0x89, 0x84, 0x24, 0x50,
    0x11, 0x00, 0x00, 0x48, 0xc7, 0x84, 0x24, 0x58, 0x11, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x48,
    0xc7, 0x84, 0x24, 0x60, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x48, 0xc7, 0x84, 0x24, 0x68,
    0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x48, 0xc7, 0x84, 0x24, 0x70, 0x11, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x49, 0x83, 0xff, 0x02, 0x74, 0x42, 0x48, 0x8b, 0x84, 0x24, 0x98, 0x11, 0x00,
    0x00, 0x48, 0x83, 0xe8, 0x08, 0x48, 0x89, 0x84, 0x24, 0xa0, 0x11, 0x00, 0x00, 0xc7, 0x84, 0x24,
    0xa8, 0x11, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0xc7, 0x84, 0x24, 0xac, 0x11, 0x00, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x48, 0x8d, 0x8c, 0x24, 0xa0, 0x11, 0x00, 0x00, 0x48, 0x89, 0x8c, 0x24, 0x60,
    0x11, 0x00, 0x00, 0x48, 0x89, 0x84, 0x24, 0x68, 0x11, 0x00, 0x00, 0xb8, 0x2e, 0x00, 0x00, 0x00,
    0xbf, 0x04, 0x00, 0x00, 0x00, 0x48, 0x8d, 0xb4, 0x24, 0x40, 0x11, 0x00, 0x00, 0x48, 0x8b, 0x54,
    0x24, 0x10, 0x48, 0x81, 0xca, 0x40, 0x40, 0x00, 0x00, 0x0f, 0x05, 0x49, 0x89, 0xc5, 0x48, 0x8b,
    0x44, 0x24, 0x28, 0x48, 0x85, 0xc0, 0x74, 0x64, 0x4d, 0x85, 0xed, 0x78, 0x5f, 0x4c, 0x3b, 0x6c,
    0x24, 0x30, 0x7c, 0x58, 0x48, 0x89, 0x84, 0x24, 0x78, 0x11, 0x00, 0x00, 0x4c, 0x89, 0xe8, 0x48,
    0x03, 0x44, 0x24, 0x38, 0x48, 0x89, 0x84, 0x24, 0x80, 0x11, 0x00, 0x00, 0x48, 0xc7, 0x84, 0x24,
    0x88, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xb8, 0x10, 0x00, 0x00, 0x00, 0xbf, 0x02, 0x00,
    0x00, 0x00, 0xbe, 0x01, 0x21, 0x18, 0xc0, 0x48, 0x8d, 0x94, 0x24, 0x78, 0x11, 0x00, 0x00, 0x0f,
    0x05, 0x48, 0x85, 0xc0, 0x75, 0x0e, 0x48, 0xc7, 0x84, 0x24, 0xb0, 0x10, 0x00, 0x00, 0x01, 0x00,
    0x00, 0x00, 0xeb, 0x08, 0x48, 0x89, 0x84, 0x24, 0xb0, 0x10, 0x00, 0x00, 0x48, 0x8b, 0x04, 0x24,
    0x48, 0x89, 0x84, 0x24, 0xa0, 0x10, 0x00, 0x00, 0x4c, 0x89, 0xac, 0x24, 0xa8, 0x10, 0x00, 0x00,
    0x48, 0x8d, 0x84, 0x24, 0xa0, 0x10, 0x00, 0x00, 0x48, 0x89, 0x84, 0x24, 0xb8, 0x10, 0x00, 0x00,
    0x48, 0xc7, 0x84, 0x24, 0xc0, 0x10, 0x00, 0x00, 0x18, 0x00, 0x00, 0x00, 0x48, 0xc7, 0x84, 0x24,
    0xe0, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x48, 0xc7, 0x84, 0x24, 0xe8, 0x10, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x48, 0x8d, 0x84, 0x24, 0xb8, 0x10, 0x00, 0x00, 0x48, 0x89, 0x84, 0x24,
    0xf0, 0x10, 0x00, 0x00, 0x48, 0xc7, 0x84, 0x24, 0xf8, 0x10, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x48, 0xc7, 0x84, 0x24, 0x00, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x48, 0xc7, 0x84, 0x24,
    0x08, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x48, 0xc7, 0x84, 0x24, 0x10, 0x11, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x48, 0x85, 0xdb, 0x78, 0x45, 0x48, 0xc7, 0x84, 0x24, 0xc8, 0x10, 0x00,
    0x00, 0x14, 0x00, 0x00, 0x00, 0xc7, 0x84, 0x24, 0xd0, 0x10, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
    0xc7, 0x84, 0x24, 0xd4, 0x10, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x89, 0x9c, 0x24, 0xd8, 0x10,
    0x00, 0x00, 0x48, 0x8d, 0x84, 0x24, 0xc8, 0x10, 0x00, 0x00, 0x48, 0x89, 0x84, 0x24, 0x00, 0x11,
    0x00, 0x00, 0x48, 0xc7, 0x84, 0x24, 0x08, 0x11, 0x00, 0x00, 0x18, 0x00, 0x00, 0x00, 0xb8, 0x2e,
    0x00, 0x00, 0x00, 0xbf, 0x03, 0x00, 0x00, 0x00, 0x48, 0x8d, 0xb4, 0x24, 0xe0, 0x10, 0x00, 0x00,
    0xba, 0x00, 0x40, 0x00, 0x00, 0x0f, 0x05, 0xe9, 0x3a, 0xfa, 0xff, 0xff, 0xb8, 0xe7, 0x00, 0x00,
    0x00, 0x31, 0xff, 0x0f, 0x05,
];

/// How long the opener may go without answering an outstanding request
/// before it counts as hung.
pub const REPLY_TIMEOUT_MS: u64 = 500;
/// Most requests out at once: a SOCK_SEQPACKET pair queues about 10
/// (net.unix.max_dgram_qlen) before a send would block.
pub const MOST_IN_FLIGHT: usize = 8;

/// What a spawn prepares for its opener: the socket pair and the program.
pub struct Prepared {
    pub host_end: OwnedFd,
    pub child_end: OwnedFd,
    pub program: OwnedFd,
}

pub fn prepare() -> Result<Prepared, i32> {
    let (host_end, child_end) = sys::unix_pair(libc::SOCK_SEQPACKET)?;
    // Room for a large send through the opener and the requests around
    // it: as much as the kernel grants (net.core.wmem_max, doubled).
    let _ = sys::set_socket_option(
        host_end.as_raw_fd(),
        libc::SOL_SOCKET,
        libc::SO_SNDBUF,
        4 << 20,
    );
    let image = crate::spawn::watchdog::elf_image(&PROGRAM_CODE);
    let program = crate::spawn::watchdog::sealed_memfd(c"sandlock-opener", &image)?;
    Ok(Prepared {
        host_end,
        child_end,
        program,
    })
}

/// The supervisor's side.
pub struct Opener {
    sock: OwnedFd,
    /// The opener process, so the supervisor can tell it is gone.
    _process: Option<OwnedFd>,
    /// The last request's sequence number.
    sequence: std::cell::Cell<u64>,
    /// A reply went missing or came out of order: no more requests.
    broken: std::cell::Cell<bool>,
    /// The bytes requests may hold in the socket's buffer at once, well
    /// under its size: a request never finds it full (MSG_DONTWAIT would
    /// fail it, and break the opener).
    room: usize,
}

/// What the opener is asked to do (src/fs/opener.s has the ops).
pub enum Call<'a> {
    /// openat2(`dir`, `path`, {flags, mode, resolve}) as the sandbox would
    /// make it; the reply brings the opened fd.
    Open {
        dir: RawFd,
        path: &'a [u8],
        flags: u64,
        mode: u64,
        resolve: u64,
    },
    /// ADDFD of `fd` into the caller of notification `id`, answering its
    /// call with the number: the kernel waits until the caller's thread
    /// runs, and that wait is the opener's. The reply is the number.
    Install { fd: RawFd, id: u64, cloexec: bool },
    /// Keep `listener` (a copy of the seccomp listener) for the installs
    /// and answers: the first request.
    Listener { listener: RawFd },
    /// connect(`socket`, the socket file `target`), from a process of the
    /// sandbox (its peer sees the sandbox's pid and credentials), without
    /// blocking. The reply is 0 or the errno (EAGAIN: a full backlog).
    Connect {
        socket: RawFd,
        target: RawFd,
        answer: Option<DirectAnswer>,
    },
    /// sendmsg(`socket`, `data`, the fds `passed`, `flags`) from a process
    /// of the sandbox (a receiver's SO_PASSCRED sees the sandbox's pid),
    /// never blocking, to the socket file `target` if given (else to the
    /// connected peer). At most [`MOST_SENT`] bytes. The reply is the
    /// count sent or the errno.
    Send {
        socket: RawFd,
        target: Option<RawFd>,
        data: &'a [u8],
        passed: &'a [RawFd],
        flags: i32,
        answer: Option<DirectAnswer>,
    },
}

/// A connect or send whose outcome is final when it succeeds is answered
/// by the opener itself (SECCOMP_IOCTL_NOTIF_SEND): the caller wakes
/// without waiting for the supervisor's next step. Notification `id` gets
/// the result plus `plus`, if the result is at least `least`.
#[derive(Debug, Clone, Copy)]
pub struct DirectAnswer {
    pub id: u64,
    pub least: i64,
    pub plus: i64,
}

/// Most bytes one send through the opener takes (its buffer, DATA_MAX in
/// src/fs/opener.s; a socket buffer smaller than usual lowers it:
/// [`Opener::most_sent`]).
pub const MOST_SENT: usize = 256 * 1024;
/// What a request costs of the socket's buffer beyond its data: the
/// request itself and the kernel's bookkeeping.
pub const REQUEST_COST: usize = std::mem::size_of::<Request>() + 1024;
/// Most fds one send passes on: the kernel's SCM_MAX_FD (253) less the
/// socket and its target, which travel in the same message to the opener.
/// More would fail that message (EINVAL) and break the opener for the
/// whole sandbox; the send is refused with EINVAL instead.
pub const MOST_PASSED: usize = 253 - 2;

const OP_OPEN: u64 = 0;
const OP_INSTALL: u64 = 1;
const OP_CONNECT: u64 = 2;
const OP_SEND: u64 = 3;
const OP_LISTENER: u64 = 4;
/// Where the second fd of a request lands in the opener.
const SECOND_FD_PATH: &[u8] = b"/proc/self/fd/5";

/// A reply: the opened fd, or a call's value (and whether the opener
/// answered the call with it: [`DirectAnswer`]).
pub enum Replied {
    Fd(OwnedFd),
    Value(i64),
    /// The call succeeded and the opener answered it.
    Answered(i64),
    /// The call succeeded, but the opener's answer failed with this errno.
    Unanswered(i64, i32),
}

#[repr(C)]
struct Request {
    sequence: u64,
    op: u64,
    a: u64,
    b: u64,
    c: u64,
    /// A direct answer's notification (0: none), least result and addend.
    d: u64,
    e: u64,
    f: u64,
    bytes: [u8; 4096],
}
const HEADER: usize = 64;

impl Request {
    /// The request as the opener reads it: the header's words, then the
    /// bytes.
    fn wire(&self) -> [u8; HEADER + 4096] {
        let mut wire = [0u8; HEADER + 4096];
        let words = [
            self.sequence,
            self.op,
            self.a,
            self.b,
            self.c,
            self.d,
            self.e,
            self.f,
        ];
        for (slot, word) in wire.chunks_exact_mut(8).zip(words) {
            slot.copy_from_slice(&word.to_ne_bytes());
        }
        wire[HEADER..].copy_from_slice(&self.bytes);
        wire
    }
}

impl Opener {
    pub fn new(sock: OwnedFd, process: Option<OwnedFd>) -> Opener {
        let buffer = crate::sys::socket_option(sock.as_raw_fd(), libc::SOL_SOCKET, libc::SO_SNDBUF)
            .unwrap_or(0)
            .max(0) as usize;
        Opener {
            sock,
            _process: process,
            sequence: std::cell::Cell::new(0),
            broken: std::cell::Cell::new(false),
            room: buffer / 4 * 3,
        }
    }

    /// The bytes requests may hold at once ([`REQUEST_COST`] each, plus a
    /// send's data).
    pub fn room(&self) -> usize {
        self.room
    }

    /// Most data one send may take: a larger datagram is EMSGSIZE, a
    /// stream send goes in parts.
    pub fn most_sent(&self) -> usize {
        self.room
            .saturating_sub(REQUEST_COST)
            .clamp(4096, MOST_SENT)
    }

    /// The socket, to watch for replies (readable) and the opener's end
    /// (hang-up).
    pub fn socket(&self) -> RawFd {
        self.sock.as_raw_fd()
    }

    pub fn is_broken(&self) -> bool {
        self.broken.get()
    }

    /// From now on every request fails with EIO.
    pub fn set_broken(&self) {
        self.broken.set(true);
    }

    /// Sends `call` without waiting: its sequence number, whose reply
    /// [`Opener::reply`] gives later. A path may not hold a NUL.
    pub fn request(&self, call: Call) -> Result<u64, i32> {
        if self.broken.get() {
            return Err(libc::EIO);
        }
        let mut request = Request {
            sequence: 0,
            op: 0,
            a: 0,
            b: 0,
            c: 0,
            d: 0,
            e: 0,
            f: 0,
            bytes: [0; 4096],
        };
        let answered_by_us = |answer: Option<DirectAnswer>, request: &mut Request| {
            if let Some(answer) = answer {
                (request.d, request.e, request.f) =
                    (answer.id, answer.least as u64, answer.plus as u64);
            }
        };
        let (len, fds) = match call {
            Call::Open {
                dir,
                path,
                flags,
                mode,
                resolve,
            } => {
                if path.len() >= request.bytes.len() {
                    return Err(libc::ENAMETOOLONG);
                }
                if path.contains(&0) {
                    return Err(libc::EINVAL);
                }
                request.bytes[..path.len()].copy_from_slice(path);
                (request.op, request.a, request.b, request.c) = (OP_OPEN, flags, mode, resolve);
                (HEADER + path.len() + 1, [dir, -1])
            }
            Call::Install { fd, id, cloexec } => {
                let newfd_flags = if cloexec { libc::O_CLOEXEC as u64 } else { 0 };
                let flags = crate::sys::seccomp::SECCOMP_ADDFD_FLAG_SEND as u64;
                (request.op, request.a, request.b, request.c) =
                    (OP_INSTALL, id, flags, newfd_flags);
                (HEADER, [fd, -1])
            }
            Call::Listener { listener } => {
                request.op = OP_LISTENER;
                (HEADER, [listener, -1])
            }
            Call::Connect {
                socket,
                target,
                answer,
            } => {
                answered_by_us(answer, &mut request);
                let address =
                    crate::net::sockaddr::encode_unix_bytes(SECOND_FD_PATH).ok_or(libc::EINVAL)?;
                request.bytes[..address.len()].copy_from_slice(&address);
                (request.op, request.a) = (OP_CONNECT, address.len() as u64);
                (HEADER + address.len(), [socket, target])
            }
            Call::Send {
                socket,
                target,
                data,
                passed,
                flags,
                answer,
            } => {
                answered_by_us(answer, &mut request);
                if data.len() > self.most_sent() {
                    return Err(libc::EMSGSIZE);
                }
                if passed.len() > MOST_PASSED {
                    return Err(libc::EINVAL);
                }
                if target.is_some() {
                    let address = crate::net::sockaddr::encode_unix_bytes(SECOND_FD_PATH)
                        .ok_or(libc::EINVAL)?;
                    request.bytes[..address.len()].copy_from_slice(&address);
                    request.b = address.len() as u64;
                }
                (request.op, request.a, request.c) =
                    (OP_SEND, flags as u32 as u64, data.len() as u64);
                let sequence = self.next_sequence(&mut request);
                let fds: Vec<RawFd> = [socket, target.unwrap_or(socket)]
                    .into_iter()
                    .chain(passed.iter().copied())
                    .collect();
                return self.sent(
                    sequence,
                    self.send(&request, std::mem::size_of::<Request>(), data, &fds),
                );
            }
        };
        let sequence = self.next_sequence(&mut request);
        let count = if fds[1] >= 0 { 2 } else { 1 };
        self.sent(sequence, self.send(&request, len, &[], &fds[..count]))
    }

    fn next_sequence(&self, request: &mut Request) -> u64 {
        let sequence = self.sequence.get() + 1;
        self.sequence.set(sequence);
        request.sequence = sequence;
        sequence
    }

    /// A request that could not be sent breaks the opener.
    fn sent(&self, sequence: u64, sent: Result<(), i32>) -> Result<u64, i32> {
        if let Err(e) = sent {
            self.broken.set(true);
            return Err(e);
        }
        Ok(sequence)
    }

    /// openat2 through the opener, waiting for its reply (tests only: the
    /// supervisor never waits on the opener).
    #[cfg(test)]
    pub fn open(
        &self,
        dir: RawFd,
        path: &[u8],
        flags: u64,
        mode: u64,
        resolve: u64,
    ) -> Result<OwnedFd, i32> {
        let sequence = self.request(Call::Open {
            dir,
            path,
            flags,
            mode,
            resolve,
        })?;
        let mut ready = [libc::pollfd {
            fd: self.sock.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        let _ = sys::poll(&mut ready, REPLY_TIMEOUT_MS as i32);
        match self.reply() {
            Some((s, Ok(Replied::Fd(fd)))) if s == sequence => Ok(fd),
            Some((s, Err(e))) if s == sequence => Err(e),
            _ => Err(libc::EIO),
        }
    }

    /// One request: `len` bytes of it, then `data`, with `fds`. Never
    /// blocks: a full queue (which MOST_IN_FLIGHT and MOST_SENT keep from
    /// happening) is a broken opener.
    fn send(&self, request: &Request, len: usize, data: &[u8], fds: &[RawFd]) -> Result<(), i32> {
        let wire = request.wire();
        let parts: &[&[u8]] = match data.is_empty() {
            true => &[&wire[..len]],
            false => &[&wire[..len], data],
        };
        let flags = libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT;
        match sys::send_with_fds(self.sock.as_raw_fd(), parts, fds, flags) {
            Ok(sent) if sent == len + data.len() => Ok(()),
            _ => Err(libc::EIO),
        }
    }

    /// The next reply, if one has come: its sequence number and the
    /// result (the opened fd or the value, or the errno). None when
    /// nothing is there yet. A malformed reply, or the opener's end
    /// closed, breaks the opener: `(0, Err(EIO))`.
    pub fn reply(&self) -> Option<(u64, Result<Replied, i32>)> {
        let mut bytes = [0u8; 24];
        let (fd, whole) =
            match sys::receive_with_fd(self.sock.as_raw_fd(), &mut bytes, libc::MSG_DONTWAIT) {
                Err(libc::EAGAIN | libc::EINTR) => return None,
                Ok((n, fd)) => (fd, n == bytes.len()),
                Err(_) => (None, false),
            };
        if !whole {
            self.broken.set(true);
            return Some((0, Err(libc::EIO)));
        }
        let word =
            |i: usize| i64::from_ne_bytes(bytes[8 * i..8 * i + 8].try_into().expect("8 bytes"));
        let reply = [word(0), word(1), word(2)];
        let result = match (reply[1], fd, reply[2]) {
            (r, Some(fd), 0) if r >= 0 => Ok(Replied::Fd(fd)),
            (r, None, 0) if r >= 0 => Ok(Replied::Value(r)),
            (r, None, 1) if r >= 0 => Ok(Replied::Answered(r)),
            (r, None, e) if r >= 0 && e < 0 && e > -4096 => Ok(Replied::Unanswered(r, -e as i32)),
            (r, None, 0) if r < 0 && r > -4096 => Err(-r as i32),
            _ => {
                self.broken.set(true);
                Err(libc::EIO)
            }
        };
        Some((reply[0] as u64, result))
    }
}

#[cfg(test)]
#[allow(unsafe_code)]
mod tests {
    use super::*;

    /// The opener run as a plain child of the test (no sandbox): its pid
    /// and our end.
    fn start() -> (libc::pid_t, Opener) {
        let prepared = prepare().unwrap();
        // SAFETY: fork in a test; the child only dup2s, execveats, exits.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            unsafe {
                libc::dup2(prepared.child_end.as_raw_fd(), 3);
                let argv = [c"opener".as_ptr(), std::ptr::null()];
                let envp = [std::ptr::null::<libc::c_char>()];
                libc::syscall(
                    libc::SYS_execveat,
                    prepared.program.as_raw_fd(),
                    c"".as_ptr(),
                    argv.as_ptr(),
                    envp.as_ptr(),
                    libc::AT_EMPTY_PATH,
                );
                libc::_exit(127);
            }
        }
        drop(prepared.child_end);
        // Its first reply must not count the fork and exec of this (large,
        // busy) test process against REPLY_TIMEOUT_MS: wait until it runs
        // the opener's program.
        let ours = std::fs::read_link("/proc/self/exe").unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe == ours)
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        (pid, Opener::new(prepared.host_end, None))
    }

    fn stop(pid: libc::pid_t, opener: Opener) {
        drop(opener);
        let mut status = 0;
        // SAFETY: our child.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    }

    fn wait_reply(opener: &Opener) -> Option<(u64, Result<Replied, i32>)> {
        let mut ready = libc::pollfd {
            fd: opener.socket(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut ready, 1, REPLY_TIMEOUT_MS as i32) };
        opener.reply()
    }

    fn pinned(path: &std::path::Path) -> OwnedFd {
        let name = path.as_os_str().as_encoded_bytes();
        crate::fs::paths::openat2(libc::AT_FDCWD, name, libc::O_PATH).unwrap()
    }

    fn unix_socket(kind: i32) -> OwnedFd {
        // SAFETY: plain socket call; the fd is new.
        unsafe { sys::own(libc::socket(libc::AF_UNIX, kind | libc::SOCK_CLOEXEC, 0)) }
    }

    fn connect(opener: &Opener, socket: &OwnedFd, target: &OwnedFd) -> u64 {
        opener
            .request(Call::Connect {
                socket: socket.as_raw_fd(),
                target: target.as_raw_fd(),
                answer: None,
            })
            .unwrap()
    }

    /// It opens, reports errors, and reopens through /proc/self/fd/4.
    #[test]
    fn the_program_serves_opens() {
        let (pid, opener) = start();
        let root = std::fs::File::open("/").unwrap();
        let fd = opener
            .open(
                root.as_raw_fd(),
                b"proc/self/status",
                libc::O_RDONLY as u64,
                0,
                0,
            )
            .unwrap();
        let text = std::fs::read_to_string(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap();
        // The opener opened it: its own status, not ours.
        assert!(
            text.contains("Name:\tsandlock-opener") || text.contains("Name:\tmemfd"),
            "{text}"
        );
        assert_eq!(
            opener
                .open(
                    root.as_raw_fd(),
                    b"no/such/file",
                    libc::O_RDONLY as u64,
                    0,
                    0
                )
                .err(),
            Some(libc::ENOENT)
        );
        let path = opener
            .open(
                root.as_raw_fd(),
                b"etc",
                (libc::O_PATH | libc::O_DIRECTORY) as u64,
                0,
                0,
            )
            .unwrap();
        let again = opener
            .open(
                path.as_raw_fd(),
                b"/proc/self/fd/4",
                libc::O_RDONLY as u64,
                0,
                0,
            )
            .unwrap();
        let (a, b) = (
            crate::fs::paths::identity(path.as_raw_fd()).unwrap(),
            crate::fs::paths::identity(again.as_raw_fd()).unwrap(),
        );
        assert_eq!(a, b);
        stop(pid, opener);
    }

    /// A connect it makes is its own: the peer sees the opener's pid. A
    /// blocking socket stays blocking, and a full backlog is EAGAIN, not
    /// a wait.
    #[test]
    fn the_program_connects_as_itself() {
        let dir = std::env::temp_dir().join(format!("sandlock-opener-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        let path = dir.join("sock");
        let server = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let target = pinned(&path);
        let (pid, opener) = start();
        let socket = unix_socket(libc::SOCK_STREAM);
        let asked = connect(&opener, &socket, &target);
        assert!(matches!(wait_reply(&opener), Some((s, Ok(Replied::Value(0)))) if s == asked));
        // SAFETY: plain fcntl.
        assert_eq!(
            unsafe { libc::fcntl(socket.as_raw_fd(), libc::F_GETFL) } & libc::O_NONBLOCK,
            0
        );
        let (accepted, _) = server.accept().unwrap();
        // SAFETY: ucred is plain data; valid out pointers.
        let mut peer: libc::ucred = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
        let got = unsafe {
            libc::getsockopt(
                std::os::fd::AsRawFd::as_raw_fd(&accepted),
                libc::SOL_SOCKET,
                libc::SO_PEERCRED,
                &mut peer as *mut libc::ucred as *mut libc::c_void,
                &mut len,
            )
        };
        assert_eq!(got, 0);
        assert_eq!(peer.pid, pid);
        // No backlog left (listen(0) admits one): EAGAIN, at once.
        // SAFETY: plain listen on our socket.
        assert_eq!(
            unsafe { libc::listen(std::os::fd::AsRawFd::as_raw_fd(&server), 0) },
            0
        );
        let mut extra = Vec::new();
        let mut refused = false;
        for _ in 0..4 {
            let socket = unix_socket(libc::SOCK_STREAM);
            let asked = connect(&opener, &socket, &target);
            match wait_reply(&opener) {
                Some((s, Err(libc::EAGAIN))) if s == asked => refused = true,
                Some((s, Ok(Replied::Value(0)))) if s == asked => {}
                _ => panic!("no reply in sequence"),
            }
            extra.push(socket);
        }
        assert!(refused, "a full backlog was not refused");
        stop(pid, opener);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A datagram it sends is its own (SO_PASSCRED shows the opener's
    /// pid), goes to the socket file given, and carries the fds passed.
    #[test]
    fn the_program_sends_as_itself() {
        let dir = std::env::temp_dir().join(format!("sandlock-opener-send-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        let path = dir.join("dgram");
        let receiver = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
        let on = 1i32;
        // SAFETY: a valid int option.
        unsafe {
            libc::setsockopt(
                std::os::fd::AsRawFd::as_raw_fd(&receiver),
                libc::SOL_SOCKET,
                libc::SO_PASSCRED,
                &on as *const i32 as *const libc::c_void,
                4,
            )
        };
        let target = pinned(&path);
        let (pid, opener) = start();
        let socket = unix_socket(libc::SOCK_DGRAM);
        let passed = std::fs::File::open("/proc/self/exe").unwrap();
        let data = vec![7u8; 100_000];
        let asked = opener
            .request(Call::Send {
                socket: socket.as_raw_fd(),
                target: Some(target.as_raw_fd()),
                data: &data,
                passed: &[passed.as_raw_fd()],
                flags: 0,
                answer: None,
            })
            .unwrap();
        assert!(
            matches!(wait_reply(&opener), Some((s, Ok(Replied::Value(100_000)))) if s == asked)
        );
        let mut buf = vec![0u8; 200_000];
        let got = sys::receive(receiver.as_raw_fd(), &mut buf, 0);
        assert_eq!(got.len, 100_000);
        assert!(buf[..100_000].iter().all(|&b| b == 7));
        assert_eq!(got.sender.map(|c| c.pid), Some(pid));
        assert_eq!(got.fds.len(), 1);
        stop(pid, opener);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A send passing more fds than one message to the opener can carry
    /// is refused by itself: the opener is not broken for the calls after.
    #[test]
    fn too_many_passed_fds_refuse_the_send_not_the_opener() {
        let (pid, opener) = start();
        let socket = unix_socket(libc::SOCK_DGRAM);
        let passed = vec![socket.as_raw_fd(); MOST_PASSED + 1];
        let refused = opener.request(Call::Send {
            socket: socket.as_raw_fd(),
            target: Some(socket.as_raw_fd()),
            data: b"x",
            passed: &passed,
            flags: 0,
            answer: None,
        });
        assert_eq!(refused, Err(libc::EINVAL));
        assert!(!opener.is_broken());
        // As many as fit still go: the kernel takes the whole message.
        let (ours, theirs) = sys::unix_pair(libc::SOCK_DGRAM).unwrap();
        let passed = vec![socket.as_raw_fd(); MOST_PASSED];
        let asked = opener
            .request(Call::Send {
                socket: ours.as_raw_fd(),
                target: None,
                data: b"x",
                passed: &passed,
                flags: 0,
                answer: None,
            })
            .unwrap();
        assert!(matches!(wait_reply(&opener), Some((s, Ok(Replied::Value(1)))) if s == asked));
        let mut buf = [0u8; 4];
        assert_eq!(
            sys::receive(theirs.as_raw_fd(), &mut buf, 0).fds.len(),
            MOST_PASSED
        );
        stop(pid, opener);
    }

    /// The numbers src/fs/opener.s uses for ADDFD are the kernel's.
    #[test]
    fn the_program_installs_with_the_kernels_numbers() {
        use crate::sys::seccomp::{seccomp_notif_addfd, SECCOMP_IOCTL_NOTIF_ADDFD};
        assert_eq!(std::mem::size_of::<seccomp_notif_addfd>(), 24);
        let number = (SECCOMP_IOCTL_NOTIF_ADDFD as u32).to_le_bytes();
        assert!(PROGRAM_CODE.windows(4).any(|w| w == number));
    }
}
