//! Raw sockaddr bytes copied from a child (src/net/sockaddr.rs): parsed as
//! the kernel would, and an inet or unix address encodes back to bytes
//! that parse to the same address.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sandlock::fuzzing::{
    address_len, encode_bytes, encode_unix_bytes, parse_sockaddr, Address, MAX_SOCKADDR,
};
use std::net::SocketAddr;

fuzz_target!(|data: &[u8]| {
    // The supervisor copies at most MAX_SOCKADDR bytes (address_len);
    // the parser itself must cope with any length.
    if let Ok(n) = address_len(data.len() as u64) {
        assert!(n <= MAX_SOCKADDR && n == data.len());
    } else {
        assert!(data.len() > MAX_SOCKADDR);
    }
    let family = match data {
        [a, b, ..] => u16::from_ne_bytes([*a, *b]) as i32,
        _ => -1,
    };
    match parse_sockaddr(data) {
        Err(e) => {
            assert_eq!(e, libc::EINVAL);
            // Only a buffer too short for its family is refused.
            let short = match family {
                libc::AF_INET => data.len() < 16,
                libc::AF_INET6 => data.len() < 24,
                -1 => true,
                _ => false,
            };
            assert!(short, "{data:?}");
        }
        Ok(Address::Inet(addr)) => {
            match addr {
                SocketAddr::V4(v4) => {
                    assert_eq!(family, libc::AF_INET);
                    assert_eq!(v4.port(), u16::from_be_bytes([data[2], data[3]]));
                    assert_eq!(v4.ip().octets(), data[4..8]);
                }
                SocketAddr::V6(v6) => {
                    assert_eq!(family, libc::AF_INET6);
                    assert_eq!(v6.port(), u16::from_be_bytes([data[2], data[3]]));
                    assert_eq!(v6.ip().octets(), data[8..24]);
                }
            }
            let bytes = encode_bytes(&addr);
            assert_eq!(parse_sockaddr(&bytes), Ok(Address::Inet(addr)));
        }
        Ok(Address::UnixPath(path)) => {
            assert_eq!(family, libc::AF_UNIX);
            assert!(!path.is_empty() && !path.contains(&0));
            assert_eq!(&data[2..2 + path.len()], &path[..]);
            match encode_unix_bytes(&path) {
                Some(bytes) => {
                    assert!(bytes.len() <= MAX_SOCKADDR);
                    assert_eq!(parse_sockaddr(&bytes), Ok(Address::UnixPath(path)));
                }
                // sun_path holds 107 bytes and a NUL.
                None => assert!(path.len() >= 108),
            }
        }
        Ok(Address::UnixOther(name)) => {
            assert_eq!(family, libc::AF_UNIX);
            match data.len() {
                2 => assert!(name.is_empty()),
                _ => assert!(data[2] == 0 && name == data[3..]),
            }
        }
        Ok(Address::Unspec) => assert_eq!(family, libc::AF_UNSPEC),
        Ok(Address::Other(f)) => {
            assert_eq!(i32::from(f), family);
            assert!(![
                libc::AF_INET,
                libc::AF_INET6,
                libc::AF_UNIX,
                libc::AF_UNSPEC
            ]
            .contains(&family));
        }
    }
});
