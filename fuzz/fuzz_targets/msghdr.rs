//! How a copied msghdr / mmsghdr is read (src/net/handler.rs): the fields
//! of the seven words, the lengths copied for the name, the iovecs and
//! the control buffer, and the data ranges gathered from the iovecs. What
//! is copied stays within the bounds, whatever the child wrote.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sandlock::fuzzing::{
    address_len, control_len, gather_ranges, iovec_count, iovecs_of, mmsg_count, mmsg_entry,
    mmsg_len_at, Msghdr, MAX_CONTROL, MAX_DATA, MAX_IOV, MAX_MMSG, MAX_SOCKADDR,
};

fn word(bytes: &[u8], i: usize) -> u64 {
    let mut w = [0u8; 8];
    for (j, b) in w.iter_mut().enumerate() {
        *b = bytes.get(i * 8 + j).copied().unwrap_or(0);
    }
    u64::from_ne_bytes(w)
}

fuzz_target!(|data: &[u8]| {
    // A flags byte, a msghdr (seven words), then the iovec array.
    let (flags, rest) = data.split_first().map_or((0, &[][..]), |(f, r)| (*f, r));
    let hdr: [u64; 7] = std::array::from_fn(|i| word(rest, i));
    let iov_bytes = rest.get(56..).unwrap_or_default();
    let stream = flags & 1 != 0;

    let msg = Msghdr::of(hdr);
    match msg.name {
        None => assert_eq!(hdr[0], 0),
        Some((ptr, len)) => {
            assert_eq!(ptr, hdr[0]);
            assert!(len <= u64::from(u32::MAX));
            match address_len(len) {
                Ok(n) => assert!(n <= MAX_SOCKADDR && n as u64 == len),
                Err(e) => assert!(e == libc::EINVAL && len > MAX_SOCKADDR as u64),
            }
        }
    }
    match iovec_count(msg.iov.1) {
        Ok(n) => assert!(n <= MAX_IOV && n as u64 == msg.iov.1),
        Err(e) => assert!(e == libc::EMSGSIZE && msg.iov.1 > MAX_IOV as u64),
    }
    match control_len(msg.control.0, msg.control.1) {
        Ok(n) => {
            assert!(n <= MAX_CONTROL);
            assert!(n == 0 || (msg.control.0 != 0 && n as u64 == msg.control.1));
        }
        Err(e) => assert!(e == libc::ENOBUFS && msg.control.1 > MAX_CONTROL as u64),
    }

    // The iovecs: big lengths are what a hostile child writes, so the
    // fuzzer's words are used as they are.
    let iovecs = iovecs_of(iov_bytes);
    assert_eq!(iovecs.len(), iov_bytes.len() / 16);
    let total = iovecs
        .iter()
        .fold(0usize, |a, v| a.saturating_add(v.iov_len));
    match gather_ranges(&iovecs, stream) {
        Err(e) => {
            assert_eq!(e, libc::EMSGSIZE);
            assert!(!stream && total > MAX_DATA);
        }
        Ok(ranges) => {
            let copied = ranges
                .iter()
                .fold(0usize, |a, r| a.checked_add(r.1).unwrap());
            assert!(copied <= MAX_DATA);
            assert_eq!(copied, total.min(MAX_DATA));
            assert!(ranges.len() <= iovecs.len());
            assert!(ranges.iter().all(|r| r.1 > 0));
            // The ranges are a prefix of the non-empty entries, only the
            // last one possibly cut.
            let whole: Vec<_> = iovecs.iter().filter(|v| v.iov_len > 0).collect();
            for (i, (r, v)) in ranges.iter().zip(&whole).enumerate() {
                assert_eq!(r.0, v.iov_base as u64);
                if i + 1 < ranges.len() {
                    assert_eq!(r.1, v.iov_len);
                } else {
                    assert!(r.1 <= v.iov_len);
                }
            }
        }
    }

    // sendmmsg: the vector at msg_name's word, vlen in msg_namelen's.
    let (base, vlen) = (hdr[0], hdr[1]);
    let count = mmsg_count(vlen);
    assert!(count <= MAX_MMSG && count <= vlen as u32 as usize);
    for index in [
        0,
        count.saturating_sub(1),
        (flags as usize) % (count.max(1)),
    ] {
        if index >= count {
            continue;
        }
        let entry = mmsg_entry(base, index);
        assert_eq!(entry, base.wrapping_add(64 * index as u64));
        // msg_len follows the msghdr.
        assert_eq!(mmsg_len_at(entry), entry.wrapping_add(56));
    }
});
