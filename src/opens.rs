//! Opens made through the opener (fs_deny), in flight. The opener is a
//! process the job can stop, so no step waits for it: each open is an
//! `onbehalf::Task` whose request is sent and whose call stays parked (its
//! caller blocked in the trapped open) until the reply comes, in a later
//! step, when the opener's socket is readable in the sandbox's epoll set.
//!
//! Replies come in the order requests were sent: the tasks in flight are
//! a queue, at most `opener::MOST_IN_FLIGHT` long; more wait their turn.
//! A task whose caller is gone meanwhile is forgotten (its reply, if out,
//! is read and dropped). A timerfd in the epoll set is armed while
//! requests are out and re-armed at each reply: REPLY_TIMEOUT_MS without a
//! reply, or a reply out of sequence, or the opener's end closed, breaks
//! the opener, and every open in flight or waiting fails with EIO (as
//! every later one does). At most MOST_OPENS opens wait at once (each
//! holds fds of the host's); past it an open fails with EAGAIN.

use crate::events::Events;
use crate::live::Denied;
use crate::onbehalf::{Ask, Next, OpenCall, Opened, Task};
use crate::opener::{Opener, MOST_IN_FLIGHT, REPLY_TIMEOUT_MS};
use crate::procview::ProcView;
use crate::seccomp::notify::Notification;
use crate::sys::timer;
use std::collections::VecDeque;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// Most opens waiting for the opener at once, in flight or queued.
pub const MOST_OPENS: usize = 64;
/// Most replies taken in one step.
const REPLIES_PER_STEP: usize = 32;

/// An open that is over: the call to answer, and how.
pub type Finished = (Notification, Result<Opened, i32>);

pub struct Opens {
    /// Sent, in order: the sequence number and the task (None: its caller
    /// is gone, the reply is dropped).
    in_flight: VecDeque<(u64, Option<Task>)>,
    /// Waiting for a place in flight, with what they ask.
    waiting: VecDeque<(Task, Ask)>,
    /// Armed while requests are out.
    timer: OwnedFd,
}

impl Opens {
    pub fn new() -> Result<Opens, i32> {
        Ok(Opens {
            in_flight: VecDeque::new(),
            waiting: VecDeque::new(),
            timer: timer::create()?,
        })
    }

    pub fn timer(&self) -> RawFd {
        self.timer.as_raw_fd()
    }

    /// How many opens wait (a caller each).
    pub fn count(&self) -> usize {
        self.in_flight.iter().filter(|(_, t)| t.is_some()).count() + self.waiting.len()
    }

    /// The threads blocked in an open that waits.
    pub fn callers(&self) -> impl Iterator<Item = libc::pid_t> + '_ {
        self.in_flight
            .iter()
            .filter_map(|(_, t)| t.as_ref())
            .chain(self.waiting.iter().map(|(t, _)| t))
            .map(|t| t.tid)
    }

    /// A new open: started, and answered at once if it needs no opener
    /// (or cannot go on); else parked.
    pub fn start(
        &mut self,
        n: Notification,
        call: Result<OpenCall, i32>,
        (denied, view, helpers): (Denied, Option<ProcView>, [libc::pid_t; 2]),
        events: &mut Events,
        opener: &Opener,
    ) -> Vec<Finished> {
        let mut finished = Vec::new();
        let (task, next) = Task::start(n, call, denied, view, helpers, events);
        self.go_on(task, next, opener, &mut finished);
        finished
    }

    /// Sends what `task` asks (or queues it), or finishes it.
    fn go_on(&mut self, task: Task, next: Next, opener: &Opener, finished: &mut Vec<Finished>) {
        let ask = match next {
            Next::Done(result) => return finished.push((task.n, result)),
            Next::Ask(ask) => ask,
        };
        if self.in_flight.len() >= MOST_IN_FLIGHT {
            return self.waiting.push_back((task, ask));
        }
        self.send(task, ask, opener, finished);
    }

    fn send(&mut self, task: Task, ask: Ask, opener: &Opener, finished: &mut Vec<Finished>) {
        match opener.request(ask.dir, &ask.path, ask.flags, ask.mode, ask.resolve) {
            Ok(sequence) => {
                if self.in_flight.is_empty() {
                    self.arm();
                }
                self.in_flight.push_back((sequence, Some(task)));
            }
            Err(e) => {
                finished.push((task.n, Err(e)));
                if opener.is_broken() {
                    self.fail_all(finished);
                }
            }
        }
    }

    fn arm(&self) {
        let _ = timer::arm(&self.timer, Duration::from_millis(REPLY_TIMEOUT_MS));
    }

    /// The opener's socket is readable (or hung up): takes the replies
    /// there are (at most REPLIES_PER_STEP) and moves their tasks on.
    pub fn on_readable(&mut self, opener: &Opener, events: &mut Events) -> Vec<Finished> {
        let mut finished = Vec::new();
        for _ in 0..REPLIES_PER_STEP {
            if opener.is_broken() {
                break;
            }
            let Some((sequence, reply)) = opener.reply() else {
                break;
            };
            match self.in_flight.pop_front() {
                Some((expected, task)) if expected == sequence && !opener.is_broken() => {
                    if let Some(mut task) = task {
                        let next = task.answer(reply, events);
                        self.go_on(task, next, opener, &mut finished);
                    }
                }
                front => {
                    if let Some((_, Some(task))) = front {
                        finished.push((task.n, Err(libc::EIO)));
                    }
                    opener.set_broken();
                }
            }
        }
        if !opener.is_broken() && self.hung_up(opener) {
            opener.set_broken();
        }
        if opener.is_broken() {
            self.fail_all(&mut finished);
            return finished;
        }
        self.refill(opener, &mut finished);
        match self.in_flight.is_empty() {
            // Progress: the opener has REPLY_TIMEOUT_MS again.
            false => self.arm(),
            true => timer::disarm(&self.timer),
        }
        finished
    }

    /// Is the opener's end closed, with nothing left to read?
    fn hung_up(&self, opener: &Opener) -> bool {
        let mut p = libc::pollfd {
            fd: opener.socket(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, zero timeout.
        let ready = unsafe { libc::poll(&mut p, 1, 0) } > 0;
        ready && p.revents & libc::POLLIN == 0 && p.revents & (libc::POLLHUP | libc::POLLERR) != 0
    }

    /// Sends for the waiting tasks while there is room in flight.
    fn refill(&mut self, opener: &Opener, finished: &mut Vec<Finished>) {
        while self.in_flight.len() < MOST_IN_FLIGHT {
            let Some((task, ask)) = self.waiting.pop_front() else {
                break;
            };
            self.send(task, ask, opener, finished);
        }
    }

    /// The deadline passed: unless a reply is there after all (a slow
    /// host loop), the opener is hung.
    pub fn on_deadline(&mut self, opener: &Opener, events: &mut Events) -> Vec<Finished> {
        timer::consume(&self.timer);
        if self.in_flight.is_empty() {
            return Vec::new();
        }
        let before = self.in_flight.front().map(|(s, _)| *s);
        let mut finished = self.on_readable(opener, events);
        if !opener.is_broken() && self.in_flight.front().map(|(s, _)| *s) == before {
            opener.set_broken();
            self.fail_all(&mut finished);
        }
        finished
    }

    /// The opener broke: every open waiting fails with EIO.
    fn fail_all(&mut self, finished: &mut Vec<Finished>) {
        for (_, task) in self.in_flight.drain(..) {
            if let Some(task) = task {
                finished.push((task.n, Err(libc::EIO)));
            }
        }
        for (task, _) in self.waiting.drain(..) {
            finished.push((task.n, Err(libc::EIO)));
        }
        timer::disarm(&self.timer);
    }

    /// Forgets the opens whose caller is gone (killed, or interrupted).
    pub fn forget_vanished(&mut self, is_live: impl Fn(u64) -> bool) {
        for (_, task) in self.in_flight.iter_mut() {
            if task.as_ref().is_some_and(|t| !is_live(t.n.id)) {
                *task = None;
            }
        }
        self.waiting.retain(|(t, _)| is_live(t.n.id));
    }
}
