//! One sandbox, supervised from the host's thread.
//!
//! The host polls one fd: an epoll set holding the seccomp listener, the
//! child's pidfd and, with a timeout, a timerfd. Nesting that epoll set in
//! the host's own epoll keeps the kernel's same-CPU wake-up for the
//! listener (measured: bench/wakeup.c, README "Performance").
//!
//! [`Sandbox::step`] never blocks: it checks which sources are ready with a
//! zero-timeout poll, answers at most [`NOTIFICATIONS_PER_STEP`] trapped
//! syscalls, reaps the main process when its pidfd fires, and reports
//! EXITED once the main process is reaped and the listener has hung up
//! (every task carrying the filter is gone).
//!
//! A notification flows: `step` -> `Listener::receive` -> `decide` (the
//! dispatch on the syscall number) -> `Listener::respond`. `decide` is the
//! only place a verdict is made; a syscall with no handler is denied.

use crate::error::{Error, Result};
use crate::seccomp::notify::{Answer, Listener, Notification};
use crate::spawn::Child;
use crate::sys::process::{self, ChildStatus};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// Bounded work per step, so one busy sandbox cannot starve a host loop.
pub const NOTIFICATIONS_PER_STEP: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Idle,
    More,
    Exited,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitReason {
    Running,
    Normal(i32),
    Signaled(i32),
    Timeout,
    Killed,
}

pub struct Sandbox {
    pid: libc::pid_t,
    pidfd: OwnedFd,
    listener: Listener,
    epoll: OwnedFd,
    timer: Option<OwnedFd>,
    /// How the main process ended, once reaped.
    main_status: Option<ChildStatus>,
    listener_closed: bool,
    kill_requested: bool,
    timed_out: bool,
    exited: bool,
    denied: u64,
}

fn epoll_add(epoll: RawFd, fd: RawFd) -> Result<()> {
    let mut event = libc::epoll_event {
        events: libc::EPOLLIN as u32,
        u64: fd as u64,
    };
    // SAFETY: event is valid for the call.
    if unsafe { libc::epoll_ctl(epoll, libc::EPOLL_CTL_ADD, fd, &mut event) } != 0 {
        return Err(Error::last_os("epoll_ctl(ADD)"));
    }
    Ok(())
}

fn epoll_remove(epoll: RawFd, fd: RawFd) {
    // SAFETY: removing an fd needs no event.
    unsafe { libc::epoll_ctl(epoll, libc::EPOLL_CTL_DEL, fd, std::ptr::null_mut()) };
}

fn timerfd_after(ms: u64) -> Result<OwnedFd> {
    // SAFETY: plain call.
    let fd = unsafe {
        libc::timerfd_create(
            libc::CLOCK_MONOTONIC,
            libc::TFD_CLOEXEC | libc::TFD_NONBLOCK,
        )
    };
    if fd < 0 {
        return Err(Error::last_os("timerfd_create"));
    }
    // SAFETY: fd was just created.
    let fd = unsafe { crate::sys::own(fd) };
    let spec = libc::itimerspec {
        it_interval: libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        },
        it_value: libc::timespec {
            tv_sec: (ms / 1000) as libc::time_t,
            tv_nsec: ((ms % 1000) * 1_000_000) as libc::c_long,
        },
    };
    // SAFETY: spec is valid.
    if unsafe { libc::timerfd_settime(fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) } != 0 {
        return Err(Error::last_os("timerfd_settime"));
    }
    Ok(fd)
}

/// Readiness of the sources, from one zero-timeout poll.
struct Ready {
    listener: libc::c_short,
    pidfd: libc::c_short,
    timer: libc::c_short,
}

impl Sandbox {
    /// Wraps a freshly exec'd child. If the supervisor cannot be set up,
    /// the child is killed and reaped before the error is returned.
    pub fn new(child: Child, timeout_ms: Option<u64>) -> Result<Sandbox> {
        let build = |child: &Child| -> Result<(OwnedFd, Option<OwnedFd>)> {
            // SAFETY: plain call.
            let epoll = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
            if epoll < 0 {
                return Err(Error::last_os("epoll_create1"));
            }
            // SAFETY: just created.
            let epoll = unsafe { crate::sys::own(epoll) };
            epoll_add(epoll.as_raw_fd(), child.listener.as_raw_fd())?;
            epoll_add(epoll.as_raw_fd(), child.pidfd.as_raw_fd())?;
            let timer = match timeout_ms {
                Some(ms) => {
                    let t = timerfd_after(ms)?;
                    epoll_add(epoll.as_raw_fd(), t.as_raw_fd())?;
                    Some(t)
                }
                None => None,
            };
            Ok((epoll, timer))
        };
        let (epoll, timer) = match build(&child) {
            Ok(parts) => parts,
            Err(e) => {
                let _ = process::pidfd_send_signal(child.pidfd.as_raw_fd(), libc::SIGKILL);
                while let Err(libc::EINTR) = process::waitid_pidfd(child.pidfd.as_raw_fd(), 0) {}
                return Err(e);
            }
        };
        Ok(Sandbox {
            pid: child.pid,
            pidfd: child.pidfd,
            listener: Listener::new(child.listener),
            epoll,
            timer,
            main_status: None,
            listener_closed: false,
            kill_requested: false,
            timed_out: false,
            exited: false,
            denied: 0,
        })
    }

    pub fn fd(&self) -> RawFd {
        self.epoll.as_raw_fd()
    }

    pub fn pid(&self) -> libc::pid_t {
        self.pid
    }

    /// Every timer is in the epoll set: the host never needs a timeout.
    pub fn timeout_ms(&self) -> i32 {
        -1
    }

    pub fn sync_wake_up(&self) -> bool {
        self.listener.sync_wake_up()
    }

    /// Syscalls the supervisor denied so far.
    pub fn denied(&self) -> u64 {
        self.denied
    }

    fn poll_ready(&self) -> Result<Ready> {
        let mut fds = [
            libc::pollfd {
                fd: if self.listener_closed { -1 } else { self.listener.raw() },
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: if self.main_status.is_some() { -1 } else { self.pidfd.as_raw_fd() },
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: self.timer.as_ref().map_or(-1, |t| t.as_raw_fd()),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: fds is a valid array; zero timeout never blocks.
        if unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 0) } < 0 {
            let errno = crate::sys::errno();
            if errno != libc::EINTR {
                return Err(Error::os("poll", errno));
            }
            fds.iter_mut().for_each(|f| f.revents = 0);
        }
        Ok(Ready {
            listener: fds[0].revents,
            pidfd: fds[1].revents,
            timer: fds[2].revents,
        })
    }

    /// Handles what is pending, without blocking.
    pub fn step(&mut self) -> Result<Step> {
        if self.exited {
            return Ok(Step::Exited);
        }
        let ready = self.poll_ready()?;
        if ready.timer & libc::POLLIN != 0 {
            self.on_timeout();
        }
        let mut more = false;
        if ready.listener & libc::POLLIN != 0 {
            more = self.handle_notifications()?;
        }
        if ready.listener & (libc::POLLHUP | libc::POLLERR) != 0 && !more {
            // Every task carrying the filter is gone. Stop watching the
            // listener, or its level-triggered hang-up would spin the host.
            self.listener_closed = true;
            epoll_remove(self.fd(), self.listener.raw());
        }
        if ready.pidfd != 0 {
            self.reap_main(libc::WNOHANG)?;
        }
        if self.main_status.is_some() && self.listener_closed {
            self.exited = true;
            return Ok(Step::Exited);
        }
        Ok(if more { Step::More } else { Step::Idle })
    }

    /// Answers up to NOTIFICATIONS_PER_STEP requests; true when more wait.
    fn handle_notifications(&mut self) -> Result<bool> {
        for handled in 0..NOTIFICATIONS_PER_STEP {
            if handled > 0 && !self.listener_readable() {
                return Ok(false);
            }
            let notification = match self.listener.receive() {
                Ok(Some(n)) => n,
                Ok(None) => continue,
                Err(errno) => return Err(Error::os("seccomp: receiving a notification", errno)),
            };
            let answer = self.decide(&notification);
            if let Err(errno) = self.listener.respond(notification.id, answer) {
                // The child stays blocked if no answer lands: fail closed by
                // killing the sandbox rather than leaving it hanging.
                self.kill_all(libc::SIGKILL);
                return Err(Error::os("seccomp: answering a notification", errno));
            }
        }
        Ok(self.listener_readable())
    }

    fn listener_readable(&self) -> bool {
        let mut fd = libc::pollfd {
            fd: self.listener.raw(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, zero timeout.
        unsafe { libc::poll(&mut fd, 1, 0) > 0 && fd.revents & libc::POLLIN != 0 }
    }

    /// The verdict for one trapped syscall. Handlers for specific syscalls
    /// hang here; whatever has none is denied.
    fn decide(&mut self, notification: &Notification) -> Answer {
        #[allow(clippy::match_single_binding)]
        match notification.nr {
            _ => {
                self.denied += 1;
                Answer::Errno(libc::EPERM)
            }
        }
    }

    fn on_timeout(&mut self) {
        if let Some(timer) = self.timer.take() {
            epoll_remove(self.fd(), timer.as_raw_fd());
        }
        if self.main_status.is_none() {
            self.timed_out = true;
            self.kill_all(libc::SIGKILL);
        }
    }

    fn reap_main(&mut self, flags: i32) -> Result<()> {
        if self.main_status.is_some() {
            return Ok(());
        }
        loop {
            match process::waitid_pidfd(self.pidfd.as_raw_fd(), flags) {
                Ok(Some(status)) => {
                    self.main_status = Some(status);
                    epoll_remove(self.fd(), self.pidfd.as_raw_fd());
                    return Ok(());
                }
                Ok(None) => return Ok(()),
                Err(libc::EINTR) => continue,
                Err(errno) => return Err(Error::os("waitid", errno)),
            }
        }
    }

    /// Signals the main process and its process group (the child started a
    /// session of its own, so the group is the sandbox's unless a process
    /// left it). Only while the main process is unreaped: after that its
    /// pid, and so its group id, may belong to someone else.
    fn kill_all(&mut self, sig: i32) {
        if self.main_status.is_some() {
            return;
        }
        // SAFETY: plain kill of our own child's process group.
        unsafe { libc::kill(-self.pid, sig) };
        let _ = process::pidfd_send_signal(self.pidfd.as_raw_fd(), sig);
    }

    pub fn kill(&mut self, sig: i32) -> Result<()> {
        if !(1..=64).contains(&sig) {
            return Err(Error::invalid(format!("kill: {sig} is not a signal number")));
        }
        if self.main_status.is_none() {
            self.kill_requested = true;
            self.kill_all(sig);
        }
        Ok(())
    }

    /// Blocks until every process is gone: poll + step.
    pub fn wait(&mut self) -> Result<()> {
        loop {
            match self.step()? {
                Step::Exited => return Ok(()),
                Step::More => continue,
                Step::Idle => {
                    let mut fd = libc::pollfd {
                        fd: self.fd(),
                        events: libc::POLLIN,
                        revents: 0,
                    };
                    // SAFETY: one valid pollfd.
                    unsafe { libc::poll(&mut fd, 1, -1) };
                }
            }
        }
    }

    pub fn exit_reason(&self) -> ExitReason {
        if !self.exited {
            return ExitReason::Running;
        }
        match self.main_status {
            None => ExitReason::Running,
            Some(_) if self.timed_out => ExitReason::Timeout,
            Some(ChildStatus::Signaled(_)) if self.kill_requested => ExitReason::Killed,
            Some(ChildStatus::Signaled(sig)) => ExitReason::Signaled(sig),
            Some(ChildStatus::Exited(code)) => ExitReason::Normal(code),
        }
    }
}

impl Drop for Sandbox {
    /// Kills and reaps what is left, so the host keeps no zombie.
    fn drop(&mut self) {
        if self.main_status.is_none() {
            self.kill_all(libc::SIGKILL);
            let _ = self.reap_main(0);
        }
    }
}
