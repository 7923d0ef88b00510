//! Socket addresses copied out of a child, parsed without trusting them,
//! and encoded back for the calls the supervisor makes on its behalf.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// Largest address the kernel accepts (`sizeof(struct sockaddr_storage)`).
pub const MAX_LEN: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    Inet(SocketAddr),
    /// A pathname socket: the bytes up to the first NUL.
    UnixPath(Vec<u8>),
    /// An abstract socket (leading NUL; its name without it), or an
    /// unnamed one (autobind: an empty name).
    UnixOther(Vec<u8>),
    /// AF_UNSPEC: on connect, dissolves the socket's association.
    Unspec,
    /// Any other family, kept for the error message.
    Other(u16),
}

fn be16(bytes: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([bytes[at], bytes[at + 1]])
}

/// Parses `bytes` as the kernel would for a connect/sendto/bind of that
/// length: too short for its family is EINVAL.
pub fn parse(bytes: &[u8]) -> Result<Address, i32> {
    if bytes.len() < 2 {
        return Err(libc::EINVAL);
    }
    let family = u16::from_ne_bytes([bytes[0], bytes[1]]);
    match i32::from(family) {
        libc::AF_INET => {
            if bytes.len() < std::mem::size_of::<libc::sockaddr_in>() {
                return Err(libc::EINVAL);
            }
            let ip = Ipv4Addr::new(bytes[4], bytes[5], bytes[6], bytes[7]);
            Ok(Address::Inet(SocketAddr::V4(SocketAddrV4::new(
                ip,
                be16(bytes, 2),
            ))))
        }
        libc::AF_INET6 => {
            // The kernel accepts the 24-byte RFC 2133 form without scope id.
            if bytes.len() < 24 {
                return Err(libc::EINVAL);
            }
            let mut octets = [0u8; 16];
            octets.copy_from_slice(&bytes[8..24]);
            let flowinfo = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
            let scope_id = if bytes.len() >= 28 {
                u32::from_ne_bytes([bytes[24], bytes[25], bytes[26], bytes[27]])
            } else {
                0
            };
            Ok(Address::Inet(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(octets),
                be16(bytes, 2),
                flowinfo,
                scope_id,
            ))))
        }
        libc::AF_UNIX => {
            let path = &bytes[2..];
            match path.first() {
                None => Ok(Address::UnixOther(Vec::new())),
                Some(0) => Ok(Address::UnixOther(path[1..].to_vec())),
                Some(_) => {
                    let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
                    Ok(Address::UnixPath(path[..end].to_vec()))
                }
            }
        }
        libc::AF_UNSPEC => Ok(Address::Unspec),
        other => Ok(Address::Other(other as u16)),
    }
}

/// The kernel's encoding of an inet address (a sockaddr_in or
/// sockaddr_in6, in its bytes), ready for a connect/sendmsg/bind of its
/// length.
pub fn encode_bytes(addr: &SocketAddr) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(28);
    match addr {
        SocketAddr::V4(v4) => {
            bytes.extend((libc::AF_INET as libc::sa_family_t).to_ne_bytes());
            bytes.extend(v4.port().to_be_bytes());
            bytes.extend(v4.ip().octets());
            bytes.extend([0u8; 8]);
        }
        SocketAddr::V6(v6) => {
            bytes.extend((libc::AF_INET6 as libc::sa_family_t).to_ne_bytes());
            bytes.extend(v6.port().to_be_bytes());
            bytes.extend(v6.flowinfo().to_be_bytes());
            bytes.extend(v6.ip().octets());
            bytes.extend(v6.scope_id().to_ne_bytes());
        }
    }
    bytes
}

/// Room in sockaddr_un for a path and its NUL.
const SUN_PATH: usize = 108;

/// An AF_UNIX address for `path` (which must fit in sun_path, with its
/// NUL), in its bytes: the family, the path, the NUL.
pub fn encode_unix_bytes(path: &[u8]) -> Option<Vec<u8>> {
    if path.len() >= SUN_PATH {
        return None;
    }
    let mut bytes = Vec::with_capacity(2 + path.len() + 1);
    bytes.extend((libc::AF_UNIX as libc::sa_family_t).to_ne_bytes());
    bytes.extend_from_slice(path);
    bytes.push(0);
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inet_round_trips() {
        for text in ["127.0.0.1:80", "[::1]:443", "[::ffff:10.0.0.1]:53"] {
            let addr: SocketAddr = text.parse().unwrap();
            let parsed = parse(&encode_bytes(&addr)).unwrap();
            assert_eq!(parsed, Address::Inet(addr), "{text}");
        }
    }

    /// The kernel takes the encodings as its own structs (and their
    /// sizes are the structs').
    #[test]
    fn the_kernel_takes_the_encodings() {
        assert_eq!(
            encode_bytes(&"127.0.0.1:0".parse().unwrap()).len(),
            std::mem::size_of::<libc::sockaddr_in>()
        );
        assert_eq!(
            encode_bytes(&"[::1]:0".parse().unwrap()).len(),
            std::mem::size_of::<libc::sockaddr_in6>()
        );
        for (family, text) in [(libc::AF_INET, "127.0.0.1:0"), (libc::AF_INET6, "[::1]:0")] {
            let socket = std::net::UdpSocket::bind(if family == libc::AF_INET {
                "127.0.0.1:0"
            } else {
                "[::1]:0"
            })
            .unwrap();
            let other: SocketAddr = text.parse().unwrap();
            let fresh = std::net::UdpSocket::bind(other).unwrap();
            let target = encode_bytes(&socket.local_addr().unwrap());
            use std::os::fd::AsRawFd;
            assert_eq!(crate::sys::connect(fresh.as_raw_fd(), &target), Ok(()));
            assert_eq!(fresh.peer_addr().unwrap(), socket.local_addr().unwrap());
        }
        let dir = std::env::temp_dir().join(format!("sandlock-sockaddr-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        let path = dir.join("s");
        let _server = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let socket = std::os::unix::net::UnixDatagram::unbound().unwrap();
        let bytes = encode_unix_bytes(path.as_os_str().as_encoded_bytes()).unwrap();
        use std::os::fd::AsRawFd;
        // A datagram socket to a stream listener: the kernel found the
        // listener (a wrong type, not a missing file).
        assert_eq!(
            crate::sys::connect(socket.as_raw_fd(), &bytes),
            Err(libc::EPROTOTYPE)
        );
        assert_eq!(encode_unix_bytes(&[b'a'; 108]), None);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn short_and_odd_addresses() {
        assert_eq!(parse(&[]), Err(libc::EINVAL));
        assert_eq!(parse(&[libc::AF_INET as u8, 0, 0, 80]), Err(libc::EINVAL));
        let mut v6 = vec![0u8; 20];
        v6[0] = libc::AF_INET6 as u8;
        assert_eq!(parse(&v6), Err(libc::EINVAL));
        assert_eq!(parse(&[0, 0, 1, 2, 3]), Ok(Address::Unspec));
        assert_eq!(parse(&[17, 0, 0]), Ok(Address::Other(17)));
        assert_eq!(
            parse(&encode_unix_bytes(b"/run/x.sock").unwrap()),
            Ok(Address::UnixPath(b"/run/x.sock".to_vec()))
        );
        assert_eq!(
            parse(&[1, 0, 0, b'a']),
            Ok(Address::UnixOther(b"a".to_vec()))
        );
        assert_eq!(parse(&[1, 0]), Ok(Address::UnixOther(Vec::new())));
    }
}
