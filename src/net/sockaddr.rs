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
    /// An abstract socket (leading NUL), or an unnamed one (autobind).
    UnixOther,
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
                None | Some(0) => Ok(Address::UnixOther),
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

/// The kernel's encoding of an inet address: (storage, length).
pub fn encode(addr: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain data; zeroed is valid.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(v4) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: v4.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(v4.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_in fits in sockaddr_storage.
            unsafe { std::ptr::write(&mut storage as *mut _ as *mut libc::sockaddr_in, sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(v6) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: v6.port().to_be(),
                sin6_flowinfo: v6.flowinfo().to_be(),
                sin6_addr: libc::in6_addr {
                    s6_addr: v6.ip().octets(),
                },
                sin6_scope_id: v6.scope_id(),
            };
            // SAFETY: sockaddr_in6 fits in sockaddr_storage.
            unsafe { std::ptr::write(&mut storage as *mut _ as *mut libc::sockaddr_in6, sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

/// An AF_UNIX address for `path` (which must fit in sun_path).
pub fn encode_unix(path: &[u8]) -> Option<(libc::sockaddr_un, libc::socklen_t)> {
    // SAFETY: sockaddr_un is plain data; zeroed is valid.
    let mut sun: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    if path.len() >= sun.sun_path.len() {
        return None;
    }
    sun.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (dst, &src) in sun.sun_path.iter_mut().zip(path) {
        *dst = src as libc::c_char;
    }
    let len = std::mem::size_of::<libc::sa_family_t>() + path.len() + 1;
    Some((sun, len as libc::socklen_t))
}

/// As bytes, ready for a connect/sendmsg/bind of their length.
fn as_bytes<T>(value: &T, len: libc::socklen_t) -> Vec<u8> {
    let len = (len as usize).min(std::mem::size_of::<T>());
    // SAFETY: reading at most size_of::<T>() bytes of a plain value.
    unsafe { std::slice::from_raw_parts(value as *const T as *const u8, len) }.to_vec()
}

/// [`encode`], as bytes.
pub fn encode_bytes(addr: &SocketAddr) -> Vec<u8> {
    let (storage, len) = encode(addr);
    as_bytes(&storage, len)
}

/// [`encode_unix`], as bytes.
pub fn encode_unix_bytes(path: &[u8]) -> Option<Vec<u8>> {
    encode_unix(path).map(|(sun, len)| as_bytes(&sun, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes_of<T>(value: &T, len: usize) -> Vec<u8> {
        // SAFETY: reading len <= size_of::<T>() bytes of a plain value.
        unsafe { std::slice::from_raw_parts(value as *const T as *const u8, len).to_vec() }
    }

    #[test]
    fn inet_round_trips() {
        for text in ["127.0.0.1:80", "[::1]:443", "[::ffff:10.0.0.1]:53"] {
            let addr: SocketAddr = text.parse().unwrap();
            let (storage, len) = encode(&addr);
            let parsed = parse(&bytes_of(&storage, len as usize)).unwrap();
            assert_eq!(parsed, Address::Inet(addr), "{text}");
        }
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
        let (sun, len) = encode_unix(b"/run/x.sock").unwrap();
        assert_eq!(
            parse(&bytes_of(&sun, len as usize)),
            Ok(Address::UnixPath(b"/run/x.sock".to_vec()))
        );
        assert_eq!(parse(&[1, 0, 0, b'a']), Ok(Address::UnixOther));
        assert_eq!(parse(&[1, 0]), Ok(Address::UnixOther));
    }
}
