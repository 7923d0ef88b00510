//! CPU sets (`cpu_set_t`) and the affinity calls that take them. libc's
//! CPU_* helpers are `unsafe fn`s over plain data; these are the safe
//! forms the rest of the crate uses.

use super::{check, SysResult};

/// The set's size in bytes, as the affinity calls take it.
pub const SET_BYTES: usize = std::mem::size_of::<libc::cpu_set_t>();

/// The set with no CPU.
pub fn empty() -> libc::cpu_set_t {
    // SAFETY: cpu_set_t is plain data; all zeroes is the empty set.
    unsafe { std::mem::zeroed() }
}

/// The set whose first bytes are `bytes` (at most SET_BYTES; the rest
/// empty), as the kernel reads a shorter mask.
pub fn from_bytes(bytes: &[u8]) -> libc::cpu_set_t {
    let mut set = empty();
    let len = bytes.len().min(SET_BYTES);
    // SAFETY: len is at most the size of set, which is plain data.
    unsafe {
        std::ptr::copy_nonoverlapping(
            bytes.as_ptr(),
            &mut set as *mut libc::cpu_set_t as *mut u8,
            len,
        )
    };
    set
}

/// Is `cpu` in the set? (False past CPU_SETSIZE.)
pub fn has(set: &libc::cpu_set_t, cpu: usize) -> bool {
    // SAFETY: CPU_ISSET bounds-checks cpu against the set's size.
    cpu < libc::CPU_SETSIZE as usize && unsafe { libc::CPU_ISSET(cpu, set) }
}

/// Adds `cpu` (ignored past CPU_SETSIZE).
pub fn add(set: &mut libc::cpu_set_t, cpu: usize) {
    if cpu < libc::CPU_SETSIZE as usize {
        // SAFETY: cpu is below CPU_SETSIZE.
        unsafe { libc::CPU_SET(cpu, set) };
    }
}

/// How many CPUs the set has.
pub fn count(set: &libc::cpu_set_t) -> usize {
    // SAFETY: a valid set.
    unsafe { libc::CPU_COUNT(set) as usize }
}

/// The CPUs of both sets.
pub fn intersect(a: &libc::cpu_set_t, b: &libc::cpu_set_t) -> libc::cpu_set_t {
    let mut both = empty();
    for cpu in (0..libc::CPU_SETSIZE as usize).filter(|&c| has(a, c) && has(b, c)) {
        add(&mut both, cpu);
    }
    both
}

/// `sched_getaffinity(tid)` (0: the calling thread).
pub fn affinity(tid: libc::pid_t) -> SysResult<libc::cpu_set_t> {
    let mut set = empty();
    // SAFETY: a valid out set of SET_BYTES.
    check(unsafe { libc::sched_getaffinity(tid, SET_BYTES, &mut set) } as libc::c_long)?;
    Ok(set)
}

/// `sched_setaffinity(tid, set)`.
pub fn set_affinity(tid: libc::pid_t, set: &libc::cpu_set_t) -> SysResult<()> {
    // SAFETY: a valid set of SET_BYTES.
    check(unsafe { libc::sched_setaffinity(tid, SET_BYTES, set) } as libc::c_long).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_hold_what_was_added_and_bytes_are_the_low_cpus() {
        let mut set = empty();
        add(&mut set, 3);
        add(&mut set, libc::CPU_SETSIZE as usize + 5);
        assert!(has(&set, 3) && !has(&set, 2) && count(&set) == 1);
        let low = from_bytes(&[0b101]);
        assert!(has(&low, 0) && has(&low, 2) && count(&low) == 2);
        assert_eq!(count(&intersect(&set, &low)), 0);
        assert!(count(&affinity(0).unwrap()) >= 1);
    }
}
