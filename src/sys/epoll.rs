//! The supervisor's event set: one epoll fd per sandbox, each source
//! registered with a tag that says which handler its readiness goes to.

use std::os::fd::{OwnedFd, RawFd};

use super::{check, SysResult};

/// `epoll_create1(EPOLL_CLOEXEC)`.
pub fn create() -> SysResult<OwnedFd> {
    // SAFETY: plain call.
    let fd = check(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) } as libc::c_long)?;
    // SAFETY: just created, owned by nobody else.
    Ok(unsafe { super::own(fd as RawFd) })
}

/// Adds `fd` to the set: `events` on it are reported with `tag`.
pub fn watch(epoll: RawFd, fd: RawFd, events: u32, tag: u64) -> SysResult<()> {
    let mut event = libc::epoll_event { events, u64: tag };
    // SAFETY: event is valid for the call.
    check(unsafe { libc::epoll_ctl(epoll, libc::EPOLL_CTL_ADD, fd, &mut event) } as libc::c_long)
        .map(drop)
}

/// Adds `fd` to the set, reported with `tag` whenever it is readable (how
/// every source but a parked call is watched).
pub fn watch_readable(epoll: RawFd, fd: RawFd, tag: u64) -> SysResult<()> {
    watch(epoll, fd, libc::EPOLLIN as u32, tag)
}

/// Removes `fd` from the set. A source that is already gone is not an
/// error: there is nothing left to stop watching.
pub fn unwatch(epoll: RawFd, fd: RawFd) {
    // SAFETY: removing an fd needs no event.
    unsafe { libc::epoll_ctl(epoll, libc::EPOLL_CTL_DEL, fd, std::ptr::null_mut()) };
}

/// The ready sources, without waiting: their (events, tag) pairs written
/// into `ready`, the count returned (0 when interrupted).
pub fn ready_now(epoll: RawFd, ready: &mut [libc::epoll_event]) -> SysResult<usize> {
    let room = ready.len().min(i32::MAX as usize) as i32;
    // SAFETY: ready is a valid buffer of `room` events; a zero timeout
    // never blocks.
    match check(unsafe { libc::epoll_wait(epoll, ready.as_mut_ptr(), room, 0) } as libc::c_long) {
        Ok(n) => Ok(n as usize),
        Err(libc::EINTR) => Ok(0),
        Err(errno) => Err(errno),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn a_readable_source_is_reported_with_its_tag_until_unwatched() {
        let epoll = create().unwrap();
        let (read, write) = super::super::pipe().unwrap();
        watch_readable(epoll.as_raw_fd(), read.as_raw_fd(), 42).unwrap();
        let mut ready = [libc::epoll_event { events: 0, u64: 0 }; 4];
        assert_eq!(ready_now(epoll.as_raw_fd(), &mut ready), Ok(0));
        assert_eq!(
            super::super::write_without_sigpipe(write.as_raw_fd(), b"x"),
            Ok(1)
        );
        assert_eq!(ready_now(epoll.as_raw_fd(), &mut ready), Ok(1));
        let (events, tag) = (ready[0].events, ready[0].u64);
        assert_eq!(
            (events & libc::EPOLLIN as u32, tag),
            (libc::EPOLLIN as u32, 42)
        );
        // Twice is refused: one registration per source.
        assert_eq!(
            watch_readable(epoll.as_raw_fd(), read.as_raw_fd(), 43),
            Err(libc::EEXIST)
        );
        unwatch(epoll.as_raw_fd(), read.as_raw_fd());
        assert_eq!(ready_now(epoll.as_raw_fd(), &mut ready), Ok(0));
    }
}
