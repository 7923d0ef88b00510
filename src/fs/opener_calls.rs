//! Calls made through the opener, in flight: the opens of fs_deny and a
//! private /proc (each an `open_on_behalf::Task` of one or two requests), the
//! installs of the fds that answer opens (an ADDFD waits until the caller's
//! thread runs, which the job decides: the opener waits, the host does
//! not), and unix connects (made from a process of the sandbox, so the peer
//! sees its pid). The opener is a process of the sandbox's, so no step
//! waits for it: each request is sent and its call stays parked (its caller
//! blocked in the trapped call) until the reply comes, in a later step,
//! when the opener's socket is readable in the sandbox's epoll set.
//!
//! Replies come in the order requests were sent: the requests in flight
//! are a queue, at most `opener::MOST_IN_FLIGHT` long; more wait their
//! turn. A request whose caller is gone meanwhile is forgotten (its reply,
//! if out, is read and dropped). A timerfd in the epoll set is armed while
//! an open or a connect is the oldest request out, and re-armed at each
//! reply: REPLY_TIMEOUT_MS without a reply, or a reply out of sequence or
//! of the wrong kind, or the opener's end closed, breaks the opener, and
//! every call in flight or waiting fails with EIO (as every later one
//! does). An install is not timed: how long it takes is how soon the
//! caller's thread runs. At most MOST_OPENS calls wait at once (each holds
//! fds of the host's); past it an open fails with EAGAIN.

use crate::fs::open_on_behalf::{Ask, Next, OpenCall, Opened, Task};
use crate::fs::opener::{Call, Opener, Replied, MOST_IN_FLIGHT, REPLY_TIMEOUT_MS, REQUEST_COST};
use crate::net::through::{After, Through};
use crate::seccomp::notify::{Answer, Notification};
use crate::supervisor::events::Events;
use crate::supervisor::live_policy::Denied;
use crate::sys::timer;
use crate::virt::private_proc::ProcView;
use std::collections::VecDeque;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// Most calls waiting for the opener at once, in flight or queued.
pub const MOST_OPENS: usize = 64;
/// Most replies taken in one step.
const REPLIES_PER_STEP: usize = 32;

/// A call through the opener that is over, for the supervisor.
pub enum Finished {
    /// An open, to answer (an fd goes back through [`Opens::install`]).
    Open(Notification, Result<Opened, i32>),
    /// A call to answer with this.
    Answer(Notification, Answer),
    /// A unix connect or send that met a full backlog or buffer, to park
    /// and ask again.
    Retry(Through),
    /// An answer the kernel refused to deliver (the install's errno): the
    /// sandbox cannot go on.
    Undelivered(Notification, i32),
}

/// What a request for `waiter` holds of the socket's buffer.
fn cost(waiter: &Waiter, opener: &Opener) -> usize {
    match waiter {
        Waiter::Through(through) => REQUEST_COST + through.data_len(opener.most_sent()),
        _ => REQUEST_COST,
    }
}

/// What the supervisor does once a unix call replied.
fn after(n: Notification, after: After) -> Finished {
    match after {
        After::Answer(answer) => Finished::Answer(n, answer),
        After::Retry(through) => Finished::Retry(through),
    }
}

/// What a request out (or waiting) is for.
enum Waiter {
    Open(Task),
    Install(Notification),
    Through(Through),
    /// The listener handed over (no caller).
    Setup,
    /// Its caller is gone: the reply is dropped.
    Gone,
}

impl Waiter {
    fn call(&self) -> Option<&Notification> {
        match self {
            Waiter::Open(task) => Some(&task.n),
            Waiter::Install(n) => Some(n),
            Waiter::Through(t) => Some(t.call()),
            Waiter::Setup | Waiter::Gone => None,
        }
    }

    /// The reply to this may be late without the opener being hung.
    fn untimed(&self) -> bool {
        matches!(self, Waiter::Install(_))
    }

    /// The call's end when the opener broke.
    fn failed(self, finished: &mut Vec<Finished>) {
        if let Some(n) = self.call() {
            finished.push(Finished::Answer(*n, Answer::Errno(libc::EIO)));
        }
    }
}

/// What a waiting request will ask (what it holds stays open meanwhile).
enum Request {
    Open(Ask),
    Install {
        fd: OwnedFd,
        cloexec: bool,
    },
    /// What the waiter holds says it all.
    Through,
}

pub struct Opens {
    /// Sent, in order: the sequence number, what it is for, and what it
    /// holds of the socket's buffer until its reply.
    in_flight: VecDeque<(u64, Waiter, usize)>,
    /// Their sum: at most the opener's room.
    bytes: usize,
    /// Waiting for a place in flight.
    waiting: VecDeque<(Waiter, Request)>,
    /// Armed while a timed request is the oldest out.
    timer: OwnedFd,
}

impl Opens {
    /// The opener's queue; its first request hands the opener a copy of
    /// the seccomp `listener`, for installs and direct answers.
    pub fn new(opener: &Opener, listener: RawFd) -> Result<Opens, i32> {
        let mut opens = Opens {
            in_flight: VecDeque::new(),
            bytes: 0,
            waiting: VecDeque::new(),
            timer: timer::create()?,
        };
        let sequence = opener.request(Call::Listener { listener })?;
        opens
            .in_flight
            .push_back((sequence, Waiter::Setup, REQUEST_COST));
        opens.bytes = REQUEST_COST;
        opens.time_oldest();
        Ok(opens)
    }

    pub fn timer(&self) -> RawFd {
        self.timer.as_raw_fd()
    }

    /// How many calls wait (a caller each).
    pub fn count(&self) -> usize {
        self.callers().count()
    }

    /// The threads blocked in a call that waits.
    pub fn callers(&self) -> impl Iterator<Item = libc::pid_t> + '_ {
        self.in_flight
            .iter()
            .map(|(_, w, _)| w)
            .chain(self.waiting.iter().map(|(w, _)| w))
            .filter_map(Waiter::call)
            .map(|n| n.tid())
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

    /// Answers call `n` with a copy of `fd` in its caller's table: the
    /// opener installs it.
    pub fn install(
        &mut self,
        n: Notification,
        fd: OwnedFd,
        cloexec: bool,
        opener: &Opener,
    ) -> Vec<Finished> {
        let mut finished = Vec::new();
        self.queue(
            Waiter::Install(n),
            Request::Install { fd, cloexec },
            opener,
            &mut finished,
        );
        finished
    }

    /// A unix connect or send, checked, made by the opener.
    pub fn through(&mut self, through: Through, opener: &Opener) -> Vec<Finished> {
        let mut finished = Vec::new();
        self.queue(
            Waiter::Through(through),
            Request::Through,
            opener,
            &mut finished,
        );
        finished
    }

    /// Sends what `task` asks (or queues it), or finishes it.
    fn go_on(&mut self, task: Task, next: Next, opener: &Opener, finished: &mut Vec<Finished>) {
        match next {
            Next::Done(result) => finished.push(Finished::Open(task.n, result)),
            Next::Ask(ask) => self.queue(Waiter::Open(task), Request::Open(ask), opener, finished),
        }
    }

    /// Sends now if there is room in flight (and nothing waits before
    /// it), else queues.
    fn queue(
        &mut self,
        waiter: Waiter,
        request: Request,
        opener: &Opener,
        finished: &mut Vec<Finished>,
    ) {
        if !self.waiting.is_empty() || !self.fits(&waiter, opener) {
            return self.waiting.push_back((waiter, request));
        }
        self.send(waiter, request, opener, finished);
    }

    /// Whether a request for `waiter` may go out now: fewer than
    /// MOST_IN_FLIGHT out, and its bytes within the opener's room (one
    /// alone always goes: the opener bounds a send to the room).
    fn fits(&self, waiter: &Waiter, opener: &Opener) -> bool {
        self.in_flight.is_empty()
            || (self.in_flight.len() < MOST_IN_FLIGHT
                && self.bytes + cost(waiter, opener) <= opener.room())
    }

    fn send(
        &mut self,
        waiter: Waiter,
        request: Request,
        opener: &Opener,
        finished: &mut Vec<Finished>,
    ) {
        let call = match (&request, &waiter) {
            (Request::Open(ask), _) => Call::Open {
                dir: ask.dir,
                path: &ask.path,
                flags: ask.flags,
                mode: ask.mode,
                resolve: ask.resolve,
            },
            (Request::Install { fd, cloexec }, Waiter::Install(n)) => Call::Install {
                fd: fd.as_raw_fd(),
                id: n.id,
                cloexec: *cloexec,
            },
            (Request::Through, Waiter::Through(through)) => through.ask(opener.most_sent()),
            // Nothing of its own to ask: a caller that went away.
            _ => return,
        };
        let cost = cost(&waiter, opener);
        match opener.request(call) {
            Ok(sequence) => {
                self.in_flight.push_back((sequence, waiter, cost));
                self.bytes += cost;
                self.time_oldest();
            }
            Err(e) => {
                match waiter {
                    Waiter::Open(task) => finished.push(Finished::Open(task.n, Err(e))),
                    other => {
                        if let Some(n) = other.call() {
                            finished.push(Finished::Answer(*n, Answer::Errno(e)));
                        }
                    }
                }
                if opener.is_broken() {
                    self.fail_all(finished);
                }
            }
        }
    }

    /// The deadline runs for the oldest request out, unless it is an
    /// install (or nothing is out).
    fn time_oldest(&self) {
        match self.in_flight.front() {
            Some((_, waiter, _)) if !waiter.untimed() => {
                let _ = timer::arm(&self.timer, Duration::from_millis(REPLY_TIMEOUT_MS));
            }
            _ => timer::disarm(&self.timer),
        }
    }

    /// The opener's socket is readable (or hung up): takes the replies
    /// there are (at most REPLIES_PER_STEP) and moves their calls on.
    pub fn on_readable(&mut self, opener: &Opener, events: &mut Events) -> Vec<Finished> {
        let mut finished = Vec::new();
        for _ in 0..REPLIES_PER_STEP {
            if opener.is_broken() {
                break;
            }
            let Some((sequence, reply)) = opener.reply() else {
                break;
            };
            let front = self.in_flight.pop_front();
            if let Some((_, _, cost)) = &front {
                self.bytes -= cost;
            }
            match front {
                Some((expected, waiter, _)) if expected == sequence && !opener.is_broken() => {
                    if !self.replied(waiter, reply, opener, events, &mut finished) {
                        opener.set_broken();
                    }
                }
                front => {
                    if let Some((_, waiter, _)) = front {
                        waiter.failed(&mut finished);
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
        // Progress: the oldest request out has REPLY_TIMEOUT_MS again.
        self.time_oldest();
        finished
    }

    /// Moves a call on with its reply; false for a reply of the wrong
    /// kind (the opener is then broken).
    fn replied(
        &mut self,
        waiter: Waiter,
        reply: Result<Replied, i32>,
        opener: &Opener,
        events: &mut Events,
        finished: &mut Vec<Finished>,
    ) -> bool {
        match (waiter, reply) {
            (Waiter::Gone, _) => {}
            // The listener is the opener's fd 2 now.
            (Waiter::Setup, Ok(Replied::Value(2))) => {}
            (Waiter::Open(mut task), Ok(Replied::Fd(fd))) => {
                let next = task.answer(Ok(fd), events);
                self.go_on(task, next, opener, finished);
            }
            (Waiter::Open(mut task), Err(e)) => {
                let next = task.answer(Err(e), events);
                self.go_on(task, next, opener, finished);
            }
            // The opener's ioctl answered the call.
            (Waiter::Install(_), Ok(Replied::Value(_))) => {}
            // A caller gone, or its call interrupted: nothing to answer.
            (Waiter::Install(_), Err(libc::ENOENT | libc::ESRCH)) => {}
            // As the call itself would have failed.
            (Waiter::Install(n), Err(e @ (libc::EMFILE | libc::ENFILE | libc::EBADF))) => {
                finished.push(Finished::Answer(n, Answer::Errno(e)));
            }
            (Waiter::Install(n), Err(e)) => finished.push(Finished::Undelivered(n, e)),
            (Waiter::Through(through), Ok(Replied::Value(value))) => {
                let n = *through.call();
                finished.push(after(n, through.replied(Ok(value))));
            }
            // Over, and answered by the opener (or its caller is gone).
            (
                Waiter::Through(_),
                Ok(Replied::Answered(_) | Replied::Unanswered(_, libc::ENOENT)),
            ) => {}
            (Waiter::Through(through), Ok(Replied::Unanswered(_, e))) => {
                finished.push(Finished::Undelivered(*through.call(), e));
            }
            (Waiter::Through(through), Err(e)) => {
                let n = *through.call();
                finished.push(after(n, through.replied(Err(e))));
            }
            (waiter, _) => {
                waiter.failed(finished);
                return false;
            }
        }
        true
    }

    /// Is the opener's end closed, with nothing left to read?
    fn hung_up(&self, opener: &Opener) -> bool {
        let revents = crate::sys::poll_now(opener.socket(), libc::POLLIN);
        revents & libc::POLLIN == 0 && revents & (libc::POLLHUP | libc::POLLERR) != 0
    }

    /// Sends for the waiting calls while there is room in flight.
    fn refill(&mut self, opener: &Opener, finished: &mut Vec<Finished>) {
        while self
            .waiting
            .front()
            .is_some_and(|(w, _)| self.fits(w, opener))
        {
            let Some((waiter, request)) = self.waiting.pop_front() else {
                break;
            };
            self.send(waiter, request, opener, finished);
        }
    }

    /// The deadline passed: unless a reply is there after all (a slow
    /// host loop), the opener is hung.
    pub fn on_deadline(&mut self, opener: &Opener, events: &mut Events) -> Vec<Finished> {
        timer::consume(&self.timer);
        if self.in_flight.front().is_none_or(|(_, w, _)| w.untimed()) {
            return Vec::new();
        }
        let before = self.in_flight.front().map(|(s, _, _)| *s);
        let mut finished = self.on_readable(opener, events);
        if !opener.is_broken() && self.in_flight.front().map(|(s, _, _)| *s) == before {
            opener.set_broken();
            self.fail_all(&mut finished);
        }
        finished
    }

    /// The opener broke: every call waiting fails with EIO.
    fn fail_all(&mut self, finished: &mut Vec<Finished>) {
        for (_, waiter, _) in self.in_flight.drain(..) {
            waiter.failed(finished);
        }
        self.bytes = 0;
        for (waiter, _) in self.waiting.drain(..) {
            waiter.failed(finished);
        }
        timer::disarm(&self.timer);
    }

    /// Forgets the calls whose caller is gone (killed, or interrupted).
    pub fn forget_vanished(&mut self, is_live: impl Fn(u64) -> bool) {
        for (_, waiter, _) in self.in_flight.iter_mut() {
            // An install out is settled by its reply alone: while the
            // opener's ADDFD (with its answer) waits for the caller's
            // thread to run, the kernel holds the call as answered, so
            // ID_VALID says it is gone; a failed install then hands it back,
            // still to answer (EMFILE), and a caller really gone is ESRCH.
            if matches!(waiter, Waiter::Install(_)) {
                continue;
            }
            if waiter.call().is_some_and(|n| !is_live(n.id)) {
                *waiter = Waiter::Gone;
            }
        }
        self.waiting
            .retain(|(w, _)| w.call().is_some_and(|n| is_live(n.id)));
    }
}

#[cfg(test)]
#[allow(unsafe_code)]
mod tests {
    use super::*;
    use crate::net::through::UnixConnect;
    use std::os::unix::net::UnixStream;

    /// The test plays the opener: the other end of the socket.
    struct FakeOpener(OwnedFd);

    impl FakeOpener {
        /// The next request's sequence number and op (its fds closed).
        fn take(&self) -> (u64, u64) {
            let mut request = vec![0u8; 4160 + 16];
            let got = crate::sys::receive(self.0.as_raw_fd(), &mut request, libc::MSG_DONTWAIT);
            assert!(got.len >= 64, "no request ({})", got.len);
            let word = |i: usize| u64::from_ne_bytes(request[i * 8..i * 8 + 8].try_into().unwrap());
            (word(0), word(1))
        }

        fn reply(&self, sequence: u64, result: i64, answered: i64) {
            let words = [sequence as i64, result, answered];
            // SAFETY: 24 bytes of a live array.
            let n = unsafe {
                libc::send(
                    self.0.as_raw_fd(),
                    words.as_ptr() as *const libc::c_void,
                    24,
                    0,
                )
            };
            assert_eq!(n, 24);
        }
    }

    fn pair() -> (Opener, FakeOpener) {
        let mut fds = [-1; 2];
        // SAFETY: a valid out array.
        assert_eq!(
            unsafe {
                libc::socketpair(
                    libc::AF_UNIX,
                    libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
                    0,
                    fds.as_mut_ptr(),
                )
            },
            0
        );
        // SAFETY: new fds we own.
        let (ours, theirs) = unsafe { (crate::sys::own(fds[0]), crate::sys::own(fds[1])) };
        (Opener::new(ours, None), FakeOpener(theirs))
    }

    /// The opener's calls, their first request (the listener) sent.
    fn opens_for(opener: &Opener) -> Opens {
        // Sent with the request at once: our copy may close after.
        let listener = UnixStream::pair().unwrap().0;
        Opens::new(opener, listener.as_raw_fd()).unwrap()
    }

    /// An opener that holds the listener, ready for calls.
    fn running() -> (Opener, FakeOpener, Opens, Events) {
        let (opener, fake) = pair();
        let mut opens = opens_for(&opener);
        let mut events = Events::new();
        assert_eq!(fake.take(), (1, 4));
        fake.reply(1, 2, 0);
        assert!(opens.on_readable(&opener, &mut events).is_empty());
        (opener, fake, opens, events)
    }

    fn call(id: u64) -> Notification {
        Notification {
            id,
            pid: std::process::id(),
            nr: libc::SYS_openat,
            args: [0; 6],
        }
    }

    fn armed(timer: RawFd) -> bool {
        // SAFETY: itimerspec is plain data; a valid out pointer.
        let mut spec: libc::itimerspec = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::timerfd_gettime(timer, &mut spec) }, 0);
        spec.it_value.tv_sec != 0 || spec.it_value.tv_nsec != 0
    }

    fn answers(finished: &[Finished]) -> Vec<(u64, Answer)> {
        finished
            .iter()
            .filter_map(|f| match f {
                Finished::Answer(n, answer) => Some((n.id, *answer)),
                _ => None,
            })
            .collect()
    }

    /// The listener goes first; an install is answered by the opener (no
    /// deadline while it is the oldest out), its errors as the call's own;
    /// a connect is timed, and a reply out of sequence breaks the opener
    /// and fails what waits with EIO.
    #[test]
    fn replies_move_calls_on_in_order() {
        let (opener, fake) = pair();
        let mut opens = opens_for(&opener);
        let mut events = Events::new();
        assert_eq!(fake.take(), (1, 4));
        assert!(armed(opens.timer()));
        fake.reply(1, 2, 0);
        assert!(opens.on_readable(&opener, &mut events).is_empty());
        assert!(!armed(opens.timer()));

        let file: OwnedFd = UnixStream::pair().unwrap().0.into();
        assert!(opens.install(call(10), file, true, &opener).is_empty());
        assert_eq!(fake.take(), (2, 1));
        assert!(!armed(opens.timer()), "an install is timed");
        assert_eq!(opens.callers().count(), 1);
        fake.reply(2, -(libc::EMFILE as i64), 0);
        let done = opens.on_readable(&opener, &mut events);
        assert_eq!(answers(&done), [(10, Answer::Errno(libc::EMFILE))]);

        let connect = Through::Connect(UnixConnect {
            n: call(11),
            socket: UnixStream::pair().unwrap().0.into(),
            target: UnixStream::pair().unwrap().0.into(),
            blocking: true,
        });
        assert!(opens.through(connect, &opener).is_empty());
        assert_eq!(fake.take(), (3, 2));
        assert!(armed(opens.timer()));
        fake.reply(99, 0, 1);
        let done = opens.on_readable(&opener, &mut events);
        assert!(opener.is_broken());
        assert_eq!(answers(&done), [(11, Answer::Errno(libc::EIO))]);
        assert_eq!(opens.count(), 0);
    }

    /// An install out is not forgotten when ID_VALID fails (as it does
    /// while the opener's ADDFD waits for the caller to run): its EMFILE
    /// still answers the call. An open out is forgotten.
    #[test]
    fn an_install_out_outlives_id_valid() {
        let (opener, fake, mut opens, mut events) = running();
        let file: OwnedFd = UnixStream::pair().unwrap().0.into();
        assert!(opens.install(call(20), file, true, &opener).is_empty());
        let (sequence, _) = fake.take();
        opens.forget_vanished(|_| false);
        assert_eq!(opens.count(), 1, "the install out was forgotten");
        fake.reply(sequence, -(libc::EMFILE as i64), 0);
        let done = opens.on_readable(&opener, &mut events);
        assert_eq!(answers(&done), [(20, Answer::Errno(libc::EMFILE))]);

        let waiting: OwnedFd = UnixStream::pair().unwrap().0.into();
        let blocker: OwnedFd = UnixStream::pair().unwrap().0.into();
        for (id, fd) in [(21, blocker), (22, waiting)] {
            opens.install(call(id), fd, true, &opener);
        }
        assert_eq!(opens.count(), 2);
        opens.forget_vanished(|id| id != 22);
        assert_eq!(
            opens.count(),
            2,
            "installs out are settled by their replies"
        );
        assert!(!opener.is_broken());
    }

    /// No more than MOST_IN_FLIGHT requests out: the rest wait, in order,
    /// and go as replies come.
    #[test]
    fn requests_past_the_bound_wait_their_turn() {
        let (opener, fake) = pair();
        let mut opens = opens_for(&opener);
        let mut events = Events::new();
        assert_eq!(fake.take(), (1, 4));
        for id in 0..MOST_IN_FLIGHT as u64 + 3 {
            let file: OwnedFd = UnixStream::pair().unwrap().0.into();
            assert!(opens
                .install(call(100 + id), file, false, &opener)
                .is_empty());
        }
        let mut sent = Vec::new();
        for _ in 0..MOST_IN_FLIGHT - 1 {
            sent.push(fake.take().0);
        }
        assert_eq!(opens.count(), MOST_IN_FLIGHT + 3);
        // The listener's reply frees one place, each install's another.
        fake.reply(1, 2, 0);
        opens.on_readable(&opener, &mut events);
        sent.push(fake.take().0);
        for &sequence in &sent.clone() {
            fake.reply(sequence, 3, 0);
            opens.on_readable(&opener, &mut events);
        }
        while sent.len() < MOST_IN_FLIGHT + 3 {
            let (sequence, op) = fake.take();
            assert_eq!(op, 1);
            sent.push(sequence);
            fake.reply(sequence, 3, 0);
            opens.on_readable(&opener, &mut events);
        }
        let expected: Vec<u64> = (2..2 + MOST_IN_FLIGHT as u64 + 3).collect();
        assert_eq!(sent, expected);
        assert_eq!(opens.count(), 0);
        assert!(!opener.is_broken());
    }
}
