//! Copying to and from another process's memory with process_vm_readv and
//! process_vm_writev, which honour page protections (unlike /proc/pid/mem).

use super::{check, SysResult};

/// Copies exactly `len` bytes from `addr` in task `tid`. A short or failed
/// read is EFAULT: a caller never decides on half an argument.
pub fn read(tid: libc::pid_t, addr: u64, len: usize) -> SysResult<Vec<u8>> {
    read_ranges(tid, &[(addr, len)])
}

/// Copies the `(addr, len)` ranges of task `tid`, one after the other, with
/// one process_vm_readv (the kernel takes up to UIO_MAXIOV ranges), so a
/// vector of many small pieces costs one copy. Short or failed: EFAULT.
pub fn read_ranges(tid: libc::pid_t, ranges: &[(u64, usize)]) -> SysResult<Vec<u8>> {
    let len = ranges
        .iter()
        .try_fold(0usize, |total, &(_, n)| total.checked_add(n))
        .ok_or(libc::EFAULT)?;
    let mut buf = vec![0u8; len];
    if len == 0 {
        return Ok(buf);
    }
    let local = libc::iovec {
        iov_base: buf.as_mut_ptr() as *mut libc::c_void,
        iov_len: len,
    };
    let remote: Vec<libc::iovec> = ranges
        .iter()
        .map(|&(addr, n)| libc::iovec {
            iov_base: addr as usize as *mut libc::c_void,
            iov_len: n,
        })
        .collect();
    // SAFETY: local points to our buffer of len bytes, the sum of the
    // remote lengths; the remote side is only read by the kernel, in the
    // other process.
    let n = check(unsafe {
        libc::process_vm_readv(
            tid,
            &local,
            1,
            remote.as_ptr(),
            remote.len() as libc::c_ulong,
            0,
        )
    } as _)
    .map_err(|e| if e == libc::ESRCH { e } else { libc::EFAULT })?;
    if n as usize != len {
        return Err(libc::EFAULT);
    }
    Ok(buf)
}

/// A plain-data value of type T at `addr` in task `tid`.
pub fn read_value<T: Copy + Default>(tid: libc::pid_t, addr: u64) -> SysResult<T> {
    let bytes = read(tid, addr, std::mem::size_of::<T>())?;
    let mut value = T::default();
    // SAFETY: T is plain data (Copy) and bytes has exactly its size.
    unsafe {
        std::ptr::copy_nonoverlapping(
            bytes.as_ptr(),
            &mut value as *mut T as *mut u8,
            std::mem::size_of::<T>(),
        )
    };
    Ok(value)
}

/// Writes `bytes` at `addr` in task `tid`, all or EFAULT.
pub fn write(tid: libc::pid_t, addr: u64, bytes: &[u8]) -> SysResult<()> {
    let local = libc::iovec {
        iov_base: bytes.as_ptr() as *mut libc::c_void,
        iov_len: bytes.len(),
    };
    let remote = libc::iovec {
        iov_base: addr as usize as *mut libc::c_void,
        iov_len: bytes.len(),
    };
    // SAFETY: local is our buffer; the kernel checks the remote mapping.
    let n = check(unsafe { libc::process_vm_writev(tid, &local, 1, &remote, 1, 0) } as _)
        .map_err(|_| libc::EFAULT)?;
    if n as usize != bytes.len() {
        return Err(libc::EFAULT);
    }
    Ok(())
}

/// The NUL-terminated string at `addr` in task `tid`, without its NUL, of
/// at most `max` bytes (longer: ENAMETOOLONG). Read a page at a time, so a
/// string that ends just before an unmapped page is read whole.
pub fn read_c_string(tid: libc::pid_t, addr: u64, max: usize) -> SysResult<Vec<u8>> {
    const PAGE: u64 = 4096;
    let mut text = Vec::new();
    let mut at = addr;
    loop {
        let chunk = (PAGE - at % PAGE) as usize;
        let bytes = read(tid, at, chunk)?;
        if let Some(end) = bytes.iter().position(|&b| b == 0) {
            text.extend_from_slice(&bytes[..end]);
            return Ok(text);
        }
        text.extend_from_slice(&bytes);
        if text.len() > max {
            return Err(libc::ENAMETOOLONG);
        }
        at += chunk as u64;
    }
}
