//! One sandbox, supervised from the host's thread.
//!
//! The host polls one fd: an epoll set holding the seccomp listener, the
//! main process's pidfd and, with a wall-clock limit, a timerfd. Every
//! event the library waits for is in that set, so `sandlock_sandbox_timeout_ms`
//! is always -1 and later on-behalf work can add its own fds.
//!
//! The same-CPU wake-up (`SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP`) reaches only
//! a task waiting on the listener itself: the kernel's epoll callback turns
//! it into a plain sync wake-up, so any epoll in between (ours, or the
//! host's own) costs the cross-CPU wake-up (measured: README,
//! "Performance"). The library's own blocking wait therefore polls the
//! listener, pidfd and timer directly rather than the epoll set.
//!
//! [`Sandbox::step`] never blocks: one zero-timeout poll of the sources, a
//! non-blocking reap, then at most [`NOTIFICATIONS_PER_STEP`] trapped
//! syscalls. A notification flows `step` -> `Listener::receive` -> `decide`
//! (the dispatch on the syscall number, the only place a verdict is made;
//! no handler means deny) -> `Listener::respond`. The sandbox is over
//! when the main process is reaped and the listener has hung up (no task
//! carries the filter any more).

pub mod events;
pub mod exec_watch;
pub mod freeze;
pub mod live_policy;
pub mod runner;
pub mod shown;

use crate::error::{Error, Result};
use crate::fs::deny;
use crate::fs::open_on_behalf;
use crate::fs::open_on_behalf::Opened;
use crate::fs::opener::Opener;
use crate::fs::opener_calls::{Finished, Opens, MOST_OPENS};
use crate::limits::groups::Groups;
use crate::limits::processes::Processes;
use crate::limits::usage::{CpuThrottle, MemoryLimit, Throttle};
use crate::net::handler::{self, Outcome, Pending, PidfdCache, SendBudget};
use crate::net::through::Through;
use crate::net::unix::UnixGate;
use crate::seccomp::notify::{Answer, Listener, Notification};
use crate::seccomp::trapped::{Dispatch, Handler};
use crate::spawn::{Child, Helper};
use crate::supervisor::events::{kind, Event, Events, Observer, Verdict};
use crate::sys::process::{self, ChildStatus};
use crate::sys::{epoll, timer};
use crate::virt::auxv::Rewriter;
use crate::virt::private_proc::{self, ProcView};
use exec_watch::{Ending, ExecWatch};
use freeze::{Freeze, Quiet};
use std::cell::RefCell;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// Bounded work per step, so one busy sandbox cannot starve a host loop.
pub const NOTIFICATIONS_PER_STEP: usize = 32;
/// Bytes the supervisor writes into the job's memory in one step
/// (getrandom, getdents listings) before the step ends with work left.
pub const WRITES_PER_STEP: usize = 1 << 20;
/// One getrandom answer is made and written in pieces of this size...
const GETRANDOM_CHUNK: usize = 64 << 10;
/// ...and gives at most this much (the kernel's own cap is 32 MiB - 1).
const GETRANDOM_MOST: usize = 256 << 10;
/// One getdents answer lists at most this much (the kernel may return
/// fewer entries than fit; callers read on).
const LISTING_MOST: usize = 64 << 10;
/// Most calls of one sandbox parked at once (connects in progress, sends
/// on a full buffer, sleeps until a time of day), each holding an fd of
/// the host's; past it a call fails with EAGAIN.
pub const MOST_PARKED: usize = 256;

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
    Memory,
    Killed,
}

pub struct Sandbox {
    pid: libc::pid_t,
    pidfd: OwnedFd,
    listener: Listener,
    epoll: OwnedFd,
    /// The wall-clock limit, until it fires.
    timer: Option<OwnedFd>,
    /// The main process has exited (its pidfd fired). It stays an unreaped
    /// zombie until the end, so its pid, which is also the sandbox's
    /// process group id, cannot be reused while the sandbox lives.
    main_exited: bool,
    /// How the main process ended, once reaped (at the very end).
    main_status: Option<ChildStatus>,
    /// The listener hung up: no task carries the filter any more.
    hung_up: bool,
    kill_requested: bool,
    /// A stop the supervisor relied on was broken (a stopped task ran, an
    /// exec's program ran without its stop): the run ends as killed.
    broken: bool,
    timed_out: bool,
    /// max_memory was exceeded and the sandbox killed for it.
    over_memory: bool,
    exited: bool,
    denied: u64,
    /// What the host may change while the sandbox runs (network rules
    /// with hostnames resolved at spawn, limits).
    live: live_policy::Shared,
    /// The observer and the log of denials.
    events: RefCell<Events>,
    /// exec and open calls waiting for the sandbox to stop (supervisor/freeze.rs).
    freeze: Option<Freeze>,
    /// Makes opens on the child's behalf, in its Landlock domain (fs_deny).
    opener: Option<Opener>,
    /// Those opens, while they wait for the opener (never in a step).
    opens: Option<Opens>,
    /// The node name uname() reports, if the policy sets one.
    hostname: Option<String>,
    /// Files whose contents the policy sets (src/virt/virtual_files.rs).
    virtual_files: crate::virt::virtual_files::Files,
    /// Their memfds, once opened.
    virtual_memfds: crate::virt::virtual_files::Memfds,
    /// What getrandom answers, with a seed.
    randomness: Option<crate::virt::seeded_random::Stream>,
    /// time_start: the wall clock the sandbox reads.
    wall_clock: Option<crate::virt::clock::WallClock>,
    /// random_seed, time_start: what each exec'd program's auxiliary
    /// vector gets (the sandbox stops for every exec).
    new_images: Option<Rewriter>,
    /// Execs stop alone for that when nothing else stops the sandbox.
    stops_execs_alone: bool,
    /// Execs let through with a stop pending, until each stops past its
    /// call (made at the first).
    exec_watch: Option<ExecWatch>,
    /// Where pathname unix sockets may be reached.
    unix: UnixGate,
    /// Where metadata may be changed, made here on the job's behalf.
    metadata: MetadataRights,
    /// Trapped calls waiting for their socket (slot = epoll tag - TAG_PENDING).
    pending: Vec<Option<Pending>>,
    /// pidfds of the threads that made trapped calls.
    pidfds: PidfdCache,
    /// What one step may still do on the job's sends.
    send_budget: SendBudget,
    /// Bytes written into the job's memory this step (WRITES_PER_STEP).
    written: usize,
    /// Process groups the sandbox made after its first.
    groups: Groups,
    /// Every process, when a limit counts or measures them.
    processes: Option<Processes>,
    memory: Option<MemoryLimit>,
    cpu: Option<CpuThrottle>,
    /// The host's end of the watchdog's pipe: closing it (here on drop, or
    /// by the kernel when the host dies) kills the whole sandbox.
    watchdog: Option<OwnedFd>,
    /// The helper processes themselves: our children, reaped on drop.
    watchdog_process: Option<Helper>,
    opener_process: Option<Helper>,
    /// Their pids (watchdog, opener; -1 if none): processes of the
    /// sandbox's Landlock domain that are not the job's.
    helpers: [libc::pid_t; 2],
    /// num_cpus: the CPUs the sandbox may run on (limits/pid_calls.rs).
    cpus: Option<libc::cpu_set_t>,
    /// Opens go through `open_on_behalf` (fs_deny, a private /proc).
    opens_on_behalf: bool,
    /// Each trapped number's handler: the same table the filter was
    /// built from (seccomp/trapped.rs).
    dispatch: Dispatch,
}

/// What became of an answer sent.
#[derive(Debug, PartialEq, Eq)]
enum Delivered {
    Yes,
    /// The caller was killed in its call: there was nothing to answer.
    CallerGone,
}

/// How long a helper may take to end by itself once its end of the
/// sandbox is closed (it has one sweep to make, then exits).
const HELPER_END_MS: i32 = 1000;

const TAG_LISTENER: u64 = 0;
const TAG_PIDFD: u64 = 1;
const TAG_TIMER: u64 = 2;
const TAG_MEMORY: u64 = 3;
const TAG_CPU: u64 = 4;
const TAG_FREEZE: u64 = 5;
/// Parked calls: TAG_PENDING + slot.
const TAG_PENDING: u64 = 6;
/// A process's exit, for exit events: TAG_EXIT + pid (above every slot).
const TAG_EXIT: u64 = 1 << 40;
/// The recheck timer of the watched execs (exec_watch.rs).
const TAG_EXEC_WATCH: u64 = 1 << 39;
/// The opener's socket: replies (fs/opener_calls.rs).
const TAG_OPENER: u64 = 1 << 38;
/// The opener's deadline.
const TAG_OPENER_TIMER: u64 = 1 << 37;

/// What the sandbox's supervisor needs of the policy beyond the child.
pub struct Rules {
    pub live: live_policy::Shared,
    pub unix: UnixGate,
    pub timeout_ms: Option<u64>,
    pub max_cpu: Option<u32>,
    pub hostname: Option<String>,
    pub virtual_files: crate::virt::virtual_files::Files,
    pub random_seed: Option<u64>,
    /// time_start's clock, when set.
    pub wall_clock: Option<crate::virt::clock::WallClock>,
    pub metadata: MetadataRights,
    /// num_cpus: the CPUs the sandbox may run on.
    pub cpus: Option<libc::cpu_set_t>,
    /// What the policy switched on, and each trapped call's handler.
    pub features: crate::policy::Features,
    pub dispatch: Dispatch,
}

/// Whose metadata a job may change, and as whom (src/fs/metadata.rs).
pub struct MetadataRights {
    /// The roots of the fs_write trees.
    pub writable: std::sync::Arc<std::collections::HashSet<crate::fs::paths::FileId>>,
    /// The roots of every tree, read or write.
    pub readable: std::sync::Arc<std::collections::HashSet<crate::fs::paths::FileId>>,
    pub job: std::sync::Arc<crate::sys::creds::JobCredentials>,
}

/// The timers of the limits, in the epoll set.
type Timers = (Option<OwnedFd>, Option<MemoryLimit>, Option<CpuThrottle>);

/// Adds a source to the sandbox's event set, reported with `tag`
/// whenever it is readable.
fn watch(epoll: RawFd, fd: RawFd, tag: u64) -> Result<()> {
    epoll::watch_readable(epoll, fd, tag).map_err(|e| Error::os("epoll_ctl(ADD)", e))
}

impl Sandbox {
    /// Wraps a freshly exec'd child. If the supervisor cannot be set up,
    /// the child is killed and reaped before the error is returned.
    pub fn new(
        child: Child,
        rules: Rules,
        watchdog: OwnedFd,
        opener: Option<Opener>,
        new_images: Option<Rewriter>,
    ) -> Result<Sandbox> {
        let build = |child: &Child| -> Result<(OwnedFd, Timers)> {
            let epoll = epoll::create().map_err(|e| Error::os("epoll_create1", e))?;
            watch(epoll.as_raw_fd(), child.listener.raw(), TAG_LISTENER)?;
            watch(epoll.as_raw_fd(), child.pidfd.as_raw_fd(), TAG_PIDFD)?;
            let timer = match rules.timeout_ms {
                Some(ms) => {
                    let t = timer::after(Duration::from_millis(ms))
                        .map_err(|e| Error::os("timerfd", e))?;
                    watch(epoll.as_raw_fd(), t.as_raw_fd(), TAG_TIMER)?;
                    Some(t)
                }
                None => None,
            };
            let samples_memory = rules.live.lock().samples_memory;
            let memory = match samples_memory {
                true => {
                    let m = MemoryLimit::new().map_err(|e| Error::os("timerfd", e))?;
                    watch(epoll.as_raw_fd(), m.timer.as_raw_fd(), TAG_MEMORY)?;
                    Some(m)
                }
                false => None,
            };
            let cpu = match rules.max_cpu {
                Some(percent) => {
                    let c = CpuThrottle::new(percent).map_err(|e| Error::os("timerfd", e))?;
                    watch(epoll.as_raw_fd(), c.timer.as_raw_fd(), TAG_CPU)?;
                    Some(c)
                }
                None => None,
            };
            Ok((epoll, (timer, memory, cpu)))
        };
        // A part that cannot be set up: the child must not live on.
        let abandon = |e: Error| {
            process::kill_and_reap(child.pidfd.as_raw_fd());
            e
        };
        let (epoll, (timer, memory, cpu)) = build(&child).map_err(abandon)?;
        let (tracks, counts_forks) = {
            let live = rules.live.lock();
            (live.tracks_processes, live.counts_forks)
        };
        // Execs stop alone unless something stops the whole sandbox anyway
        // (open events and fs_deny freeze for their calls, and the CPU
        // throttle's SIGCONT would continue a stopped exec early).
        let stops_execs_alone =
            new_images.is_some() && !rules.live.lock().traps_opens && cpu.is_none();
        let opens = match &opener {
            Some(opener) => Some(
                Opens::new(opener, child.listener.raw())
                    .map_err(|e| Error::os("the opener's timer and first request", e))
                    .and_then(|opens| {
                        watch(epoll.as_raw_fd(), opener.socket(), TAG_OPENER)?;
                        watch(epoll.as_raw_fd(), opens.timer(), TAG_OPENER_TIMER)?;
                        Ok(opens)
                    })
                    .map_err(abandon)?,
            ),
            None => None,
        };
        let processes = tracks.then(|| {
            Processes::new(
                child.pid,
                crate::spawn::helper_pids(&child.watchdog, &child.opener),
                counts_forks,
                epoll.as_raw_fd(),
                TAG_EXIT,
            )
        });
        Ok(Sandbox {
            pid: child.pid,
            pidfd: child.pidfd,
            listener: child.listener,
            epoll,
            timer,
            main_exited: false,
            main_status: None,
            hung_up: false,
            kill_requested: false,
            broken: false,
            timed_out: false,
            over_memory: false,
            exited: false,
            denied: 0,
            live: rules.live,
            events: RefCell::new(Events::new()),
            freeze: None,
            opener,
            opens,
            hostname: rules.hostname,
            virtual_files: rules.virtual_files,
            virtual_memfds: Default::default(),
            randomness: rules.random_seed.map(|seed| {
                crate::virt::seeded_random::Stream::new(seed, crate::virt::seeded_random::GETRANDOM)
            }),
            wall_clock: rules.wall_clock,
            new_images,
            stops_execs_alone,
            exec_watch: None,
            unix: rules.unix,
            metadata: rules.metadata,
            pending: Vec::new(),
            pidfds: PidfdCache::default(),
            send_budget: SendBudget::default(),
            written: 0,
            groups: Groups::default(),
            processes,
            memory,
            cpu,
            watchdog: Some(watchdog),
            helpers: crate::spawn::helper_pids(&child.watchdog, &child.opener),
            watchdog_process: child.watchdog,
            opener_process: child.opener,
            cpus: rules.cpus,
            opens_on_behalf: rules.features.opens_on_behalf,
            dispatch: rules.dispatch,
        })
    }

    /// The fd to poll for POLLIN: the epoll set of every source.
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

    /// Blocks until something is ready: the listener itself (so a trapped
    /// syscall keeps the same-CPU wake-up) or anything else in the set.
    fn block(&self) -> Result<()> {
        let mut fds = [
            libc::pollfd {
                fd: if self.hung_up {
                    -1
                } else {
                    self.listener.raw()
                },
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: self.fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        match crate::sys::poll(&mut fds, -1) {
            Ok(_) | Err(libc::EINTR) => Ok(()),
            Err(errno) => Err(Error::os("poll", errno)),
        }
    }

    fn listener_readable(&self) -> bool {
        crate::sys::poll_now(self.listener.raw(), libc::POLLIN) & libc::POLLIN != 0
    }

    /// Handles what is pending, without blocking.
    pub fn step(&mut self) -> Result<Step> {
        if self.exited {
            return Ok(Step::Exited);
        }
        self.send_budget.renew();
        self.written = 0;
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; 32];
        let n = epoll::ready_now(self.fd(), &mut events).map_err(|e| Error::os("epoll_wait", e))?;
        let mut listener = 0u32;
        for event in &events[..n] {
            let (ready, tag) = (event.events, event.u64);
            match tag {
                TAG_LISTENER => listener = ready,
                TAG_PIDFD => {
                    self.main_exited = true;
                    epoll::unwatch(self.fd(), self.pidfd.as_raw_fd());
                    if let Some(processes) = &mut self.processes {
                        processes.main_exited();
                    }
                    // The main process's parent is us.
                    self.note_exit(self.pid, crate::sys::getpid());
                }
                TAG_TIMER => self.on_timeout(),
                TAG_MEMORY => self.on_memory_sample(),
                TAG_CPU => self.on_cpu_sample(),
                TAG_FREEZE => self.advance_freeze(),
                TAG_EXEC_WATCH => self.settle_execs(),
                TAG_OPENER => self.on_opener_readable(),
                TAG_OPENER_TIMER => self.on_opener_deadline(),
                tag if tag >= TAG_EXIT => {
                    let pid = (tag - TAG_EXIT) as libc::pid_t;
                    let parent = self.processes.as_mut().map_or(0, |p| p.exited(pid));
                    self.note_exit(pid, parent);
                }
                _ => self.resume_pending((tag - TAG_PENDING) as usize),
            }
        }
        self.apply_kill_verdict();
        self.forget_vanished_pending();
        if let Some(opens) = &mut self.opens {
            let listener = &self.listener;
            opens.forget_vanished(|id| listener.is_live(id));
        }
        let hang_up = (libc::EPOLLHUP | libc::EPOLLERR) as u32;
        if listener & libc::EPOLLIN as u32 == 0 && listener & hang_up != 0 {
            // The kernel drops the filter early in do_exit, so this may come
            // before the main process is a zombie: its pidfd says when.
            self.hung_up = true;
            epoll::unwatch(self.fd(), self.listener.raw());
        }
        if self.main_exited && self.hung_up {
            // Execs still watched are judged before the end is reported
            // (the main process itself may be one, a zombie until reaped).
            if self.exec_watch.is_some() {
                self.settle_execs();
            }
            if self.freeze.is_some() {
                self.advance_freeze();
            }
            self.reap_main(libc::WNOHANG)?;
            if self.main_status.is_some() {
                self.pending.clear();
                self.opens = None;
                // Their timers leave the set with them.
                self.memory = None;
                self.cpu = None;
                self.freeze = None;
                self.exited = true;
                self.let_helpers_end();
                return Ok(Step::Exited);
            }
        }
        // Notifications last: the answer wakes the trapped task on this CPU,
        // and it should find the CPU free rather than wait behind our
        // bookkeeping.
        let more = listener & libc::EPOLLIN as u32 != 0 && self.handle_notifications()?;
        self.apply_kill_verdict();
        Ok(if more { Step::More } else { Step::Idle })
    }

    /// An observer's kill verdict ends the whole sandbox.
    fn apply_kill_verdict(&mut self) {
        if self.events.get_mut().kill && !self.kill_requested {
            self.kill_requested = true;
            self.kill_all(libc::SIGKILL);
        }
    }

    fn note_exit(&mut self, pid: libc::pid_t, ppid: libc::pid_t) {
        let events = self.events.get_mut();
        if events.wants(kind::EXIT) {
            events.note(Event {
                kind: kind::EXIT,
                nr: -1,
                pid,
                tid: pid,
                ppid,
                ..Event::default()
            });
        }
    }

    /// Shows the sandbox's events to `observer`, for the kinds in `mask`
    /// (which the filter was built to trap: `Policy::observe`).
    pub fn set_observer(&mut self, mask: u32, observer: Box<dyn Observer>) {
        self.events.get_mut().set_observer(mask, observer);
        if mask & kind::EXIT != 0 {
            if let Some(processes) = &mut self.processes {
                processes.watch_exits();
            }
        }
    }

    /// The oldest logged event (denials, audits, limits), and how many
    /// were dropped before it because the log was full.
    pub fn next_event(&mut self) -> Option<(Event, u64)> {
        self.events.get_mut().pop()
    }

    /// What the host may change while the sandbox runs.
    pub fn live(&self) -> &live_policy::Shared {
        &self.live
    }

    /// A pending call's fd is ready: answer it, or keep waiting.
    fn resume_pending(&mut self, slot: usize) {
        // Past this step's budget a ready send waits for the next step (the
        // set is level-triggered: its fd is reported again).
        if self.send_budget.spent() {
            return;
        }
        let Some(Some(pending)) = self.pending.get_mut(slot) else {
            return;
        };
        if matches!(pending.what, handler::PendingCall::ThroughOpener(_)) {
            return self.again_through_opener(slot);
        }
        let call = pending.call();
        let mut ctx = handler::Context {
            call: &call,
            live: &self.live,
            unix: &self.unix,
            listener: &self.listener,
            pidfds: &mut self.pidfds,
            budget: &mut self.send_budget,
            events: &self.events,
            job: &self.metadata.job,
        };
        if let Some(answer) = pending.resume(&mut ctx) {
            let call = pending.call();
            self.drop_pending(slot);
            let _ = self.answer(&call, answer);
        }
    }

    /// A parked unix connect or send may go on (its timer ticked, or its
    /// socket is writable): the opener tries again.
    fn again_through_opener(&mut self, slot: usize) {
        let Some(pending) = self.pending.get_mut(slot).and_then(Option::take) else {
            return;
        };
        epoll::unwatch(self.fd(), pending.fd.as_raw_fd());
        let handler::PendingCall::ThroughOpener(through) = pending.what else {
            return;
        };
        self.through_opener(through);
    }

    fn drop_pending(&mut self, slot: usize) {
        if let Some(pending) = self.pending.get_mut(slot).and_then(Option::take) {
            epoll::unwatch(self.fd(), pending.fd.as_raw_fd());
        }
    }

    /// A caller killed (or interrupted) while its call waited: drop the
    /// call, so nothing of it stays open.
    fn forget_vanished_pending(&mut self) {
        for slot in 0..self.pending.len() {
            let vanished = matches!(&self.pending[slot], Some(p) if !self.listener.is_live(p.id));
            if vanished {
                self.drop_pending(slot);
            }
        }
    }

    /// Whether one more call may be parked.
    fn may_park(&self) -> bool {
        self.pending.iter().flatten().count() < MOST_PARKED
    }

    /// Watches a parked call's fd; false (and the fd closed) when the
    /// sandbox already has MOST_PARKED calls waiting: each holds an fd of
    /// the host's, and a sandbox must not fill the host's table.
    fn park(&mut self, pending: Pending) -> Result<bool> {
        if !self.may_park() {
            return Ok(false);
        }
        let slot = match self.pending.iter().position(Option::is_none) {
            Some(free) => free,
            None => {
                self.pending.push(None);
                self.pending.len() - 1
            }
        };
        epoll::watch(
            self.fd(),
            pending.fd.as_raw_fd(),
            pending.events,
            TAG_PENDING + slot as u64,
        )
        .map_err(|e| Error::os("epoll_ctl(ADD)", e))?;
        self.pending[slot] = Some(pending);
        Ok(true)
    }

    /// Answers up to NOTIFICATIONS_PER_STEP requests; true when more wait.
    fn handle_notifications(&mut self) -> Result<bool> {
        let mut handled = 0;
        loop {
            let notification = match self.listener.receive() {
                Ok(found) => found,
                Err(errno) => return Err(Error::os("seccomp: receiving a notification", errno)),
            };
            // Look for more work before answering, so the answer is the last
            // thing this step does.
            let pending = self.listener_readable();
            if let Some(notification) = notification {
                handled += 1;
                self.handle(notification)?;
            }
            if !pending {
                return Ok(false);
            }
            if handled >= NOTIFICATIONS_PER_STEP
                || self.send_budget.spent()
                || self.written >= WRITES_PER_STEP
            {
                return Ok(true);
            }
        }
    }

    /// One notification, from its handler to its answer: the handler is
    /// the table's (seccomp/trapped.rs), and every answer given now is sent
    /// by [`Sandbox::answer`]. Calls that finish later (parked, made
    /// through the opener, stopped for a freeze or a new image) are
    /// answered when they do, through the same rule.
    fn handle(&mut self, n: Notification) -> Result<()> {
        let outcome = match self.dispatch.handler(n.nr) {
            Some(Handler::Open) => match self.open(&n) {
                Some(outcome) => outcome,
                None => return Ok(()),
            },
            Some(Handler::Exec) if self.stops_exec_alone(&n) => {
                self.stop_exec_alone(&n);
                return Ok(());
            }
            Some(Handler::Exec | Handler::PathCall) if self.wants_frozen(&n) => {
                self.freeze_for(n);
                return Ok(());
            }
            Some(handler) => self.decide(handler, &n),
            None => {
                Outcome::Answer(self.denial(&n, libc::EPERM, "no handler for this trapped syscall"))
            }
        };
        let answer = match outcome {
            Outcome::Answer(answer) => answer,
            // Parked: answered when its fd is ready. If it cannot be
            // watched, fail the call rather than leave it hanging.
            Outcome::Pending(mut call) if !self.may_park() => call.unparked(),
            Outcome::Pending(call) => match self.park(call) {
                Ok(true) => return Ok(()),
                Ok(false) => Answer::Errno(libc::EAGAIN),
                Err(_) => Answer::Errno(libc::ENOMEM),
            },
            Outcome::ThroughOpener(through) => {
                self.through_opener(through);
                return Ok(());
            }
        };
        self.answer(&n, answer)
            .map(|_| ())
            .map_err(|errno| Error::os("seccomp: answering a notification", errno))
    }

    /// Sends an answer (`Delivered`, or the errno of one that was not). One that cannot be delivered leaves its caller
    /// blocked: the sandbox is killed (fail closed) and the errno returned.
    /// A caller gone meanwhile has no call left to answer: not an error.
    fn answer(&mut self, n: &Notification, answer: Answer) -> std::result::Result<Delivered, i32> {
        match self.listener.respond(n.id, answer) {
            Ok(()) => Ok(Delivered::Yes),
            Err(errno) if self.listener.is_live(n.id) => {
                self.undelivered(*n, errno);
                Err(errno)
            }
            Err(_) => Ok(Delivered::CallerGone),
        }
    }

    /// An open: a virtual file, made on behalf, or let through (shown with
    /// the sandbox stopped when it must be). None when it is taken care of
    /// elsewhere (the opener, a freeze).
    fn open(&mut self, n: &Notification) -> Option<Outcome> {
        if !self.virtual_files.is_empty() && self.open_virtual(n) {
            return None;
        }
        if self.opens_on_behalf {
            self.open_on_behalf(n);
            return None;
        }
        if self.wants_frozen(n) {
            self.freeze_for(*n);
            return None;
        }
        Some(Outcome::Answer(Answer::ContinueOnRegisters))
    }

    /// The answer of a trapped call whose handler decides it in this step
    /// (or parks it, or hands it to the opener).
    fn decide(&mut self, handler: Handler, notification: &Notification) -> Outcome {
        let mut ctx = handler::Context {
            call: notification,
            live: &self.live,
            unix: &self.unix,
            listener: &self.listener,
            pidfds: &mut self.pidfds,
            budget: &mut self.send_budget,
            events: &self.events,
            job: &self.metadata.job,
        };
        let answer = match handler {
            Handler::Connect => return handler::connect(&mut ctx, notification),
            Handler::SendTo => return handler::sendto(&mut ctx, notification),
            Handler::SendMsg => return handler::sendmsg(&mut ctx, notification),
            Handler::SendMmsg => return handler::sendmmsg(&mut ctx, notification),
            Handler::Bind => return handler::bind(&mut ctx, notification),
            Handler::ClockSleep => match &self.wall_clock {
                Some(clock) => return clock.sleep_until(notification),
                None => Answer::Errno(libc::ENOSYS),
            },
            Handler::Listing => self.list_directory(notification),
            Handler::Uname => self.uname(notification),
            Handler::Metadata => self.make_on_behalf(notification),
            Handler::Random => self.getrandom(notification),
            Handler::ClockRead => match &self.wall_clock {
                Some(clock) => clock.answer(notification),
                None => Answer::Errno(libc::ENOSYS),
            },
            Handler::Fork => self.decide_fork(notification),
            Handler::Setsid => {
                let listener = &self.listener;
                self.groups.setsid(notification, |id| listener.is_live(id))
            }
            Handler::Setpgid => {
                let listener = &self.listener;
                self.groups
                    .setpgid(notification, self.pid, |id| listener.is_live(id))
            }
            Handler::PidCall => self.pid_call(notification),
            Handler::PathCall => self.path_call(notification),
            // Trapped for an observer that is gone or never came: the
            // number alone decides, the call runs as made.
            Handler::Exec | Handler::Open => Answer::ContinueOnRegisters,
            Handler::Asked => self.denial(
                notification,
                libc::EPERM,
                "no handler for this trapped syscall",
            ),
        };
        Outcome::Answer(answer)
    }

    /// A call that names a file, outside a freeze: checked for fs_deny and
    /// a private /proc, or made on behalf (names), or let through.
    fn path_call(&mut self, n: &Notification) -> Answer {
        if !self.checks_paths() {
            return Answer::ContinueOnRegisters;
        }
        if deny::reads_metadata_only(n.nr) {
            return self.check_path_call(n, false).0;
        }
        if crate::fs::names::is_name_call(n.nr) {
            return self.make_on_behalf(n);
        }
        Answer::ContinueOnRegisters
    }

    /// A call acting on a process by its pid (limits/pid_calls.rs): only the
    /// sandbox's own, or a logged denial.
    fn pid_call(&mut self, n: &Notification) -> Answer {
        let groups = &self.groups;
        let main = self.pid;
        let has_group = |g: libc::pid_t| groups.has(main, g);
        let sandbox = crate::limits::pid_calls::Sandbox {
            main,
            helpers: self.helpers,
            has_group: &has_group,
            cpus: self.cpus.as_ref(),
        };
        let listener = &self.listener;
        match crate::limits::pid_calls::decide(&sandbox, n, |id| listener.is_live(id)) {
            Ok(answer) => answer,
            Err(refused) => self.denial(n, refused.errno, refused.detail),
        }
    }

    /// A call the supervisor refused: counted, logged and shown to an
    /// observer of denials (whose verdict may still kill).
    fn denial(&mut self, n: &Notification, errno: i32, detail: &'static str) -> Answer {
        self.denied += 1;
        let events = self.events.get_mut();
        let tid = n.tid();
        let pid = match events.wants(kind::DENIAL) {
            true => crate::sys::procfs::process_of(tid).unwrap_or(tid),
            false => tid,
        };
        events.decide(Event {
            kind: kind::DENIAL,
            nr: n.nr,
            pid,
            tid,
            denied: errno,
            detail,
            ..Event::default()
        });
        Answer::Errno(errno)
    }

    /// fork, vfork or a process clone: counted against max_processes (a
    /// refusal is a limit event), then shown to an observer of forks.
    fn decide_fork(&mut self, n: &Notification) -> Answer {
        let Some(processes) = &mut self.processes else {
            self.denied += 1;
            return Answer::Errno(libc::EPERM);
        };
        let limit = self.live.lock().max_processes;
        let groups = self.groups.ids(self.pid);
        let listener = &self.listener;
        let answer = processes.admit_fork(n, limit, &groups, |id| listener.is_live(id));
        let tid = n.tid();
        let events = self.events.get_mut();
        let event = || Event {
            kind: kind::FORK,
            nr: n.nr,
            pid: crate::sys::procfs::process_of(tid).unwrap_or(tid),
            tid,
            flags: n.args[0] as i64,
            ..Event::default()
        };
        match answer {
            Answer::Errno(libc::EAGAIN) if limit.is_some() => {
                events.note(Event {
                    kind: kind::LIMIT,
                    denied: libc::EAGAIN,
                    detail: "max_processes",
                    ..event()
                });
                answer
            }
            Answer::ContinueOnRegisters if events.wants(kind::FORK) => {
                let mut shown = event();
                shown.ppid = crate::sys::procfs::parent_of(shown.pid).unwrap_or(0);
                match events.decide(shown) {
                    Verdict::Allow | Verdict::Audit => answer,
                    Verdict::Deny(errno) => {
                        processes.cancel_fork(tid);
                        Answer::Errno(errno)
                    }
                    Verdict::Kill => {
                        processes.cancel_fork(tid);
                        Answer::Errno(libc::EPERM)
                    }
                }
            }
            answer => answer,
        }
    }

    /// An open with fs_deny (src/fs/open_on_behalf.rs): planned on the copied path,
    /// shown to the observer, then made by the opener and handed over with
    /// ADDFD. The opener is asked without waiting: the call is answered
    /// here only if it needs no opener, else when the replies come
    /// (`on_opener_readable`).
    fn open_on_behalf(&mut self, n: &Notification) {
        let waiting = self.opens.as_ref().map_or(0, Opens::count);
        if waiting >= MOST_OPENS {
            return self.answer_open(*n, Err(libc::EAGAIN));
        }
        // Copies: the opener may take its time, and a callback may change
        // the live policy meanwhile.
        let denied = self.live.lock().fs_denied.clone();
        let call = open_on_behalf::read_call(n);
        let meminfo = call.as_ref().is_ok_and(|c| c.path.ends_with(b"meminfo"));
        let view = self.proc_view(meminfo);
        let (Some(opener), Some(opens)) = (&self.opener, &mut self.opens) else {
            return self.answer_open(*n, Err(libc::EIO));
        };
        let events = self.events.get_mut();
        let helpers = self.helpers;
        let finished = opens.start(*n, call, (denied, view, helpers), events, opener);
        self.answer_opens(finished);
    }

    /// The opener's socket is readable: its replies move their opens on.
    fn on_opener_readable(&mut self) {
        let (Some(opener), Some(opens)) = (&self.opener, &mut self.opens) else {
            return;
        };
        let finished = opens.on_readable(opener, self.events.get_mut());
        self.after_opener(finished);
    }

    /// No reply for REPLY_TIMEOUT_MS: the opener is hung (or stopped).
    fn on_opener_deadline(&mut self) {
        let (Some(opener), Some(opens)) = (&self.opener, &mut self.opens) else {
            return;
        };
        let finished = opens.on_deadline(opener, self.events.get_mut());
        self.after_opener(finished);
    }

    fn after_opener(&mut self, finished: Vec<Finished>) {
        if let Some(opener) = self.opener.as_ref().filter(|o| o.is_broken()) {
            // Nothing more will come: a hang-up left watched would spin.
            epoll::unwatch(self.fd(), opener.socket());
        }
        self.answer_opens(finished);
    }

    fn answer_opens(&mut self, finished: Vec<Finished>) {
        for done in finished {
            match done {
                Finished::Open(n, result) => self.answer_open(n, result),
                Finished::Answer(n, answer) => self.answer_through_opener(n, answer),
                Finished::Retry(through) => self.park_through_opener(through),
                Finished::Undelivered(n, errno) => self.undelivered(n, errno),
            }
        }
    }

    /// Answers a call the opener was to make or finish (a caller
    /// interrupted meanwhile has no call left to answer).
    fn answer_through_opener(&mut self, n: Notification, answer: Answer) {
        let _ = self.answer(&n, answer);
    }

    /// An answer that could not be delivered leaves its caller blocked:
    /// fail closed, the sandbox ends, and the log says why.
    fn undelivered(&mut self, n: Notification, errno: i32) {
        if !self.listener.is_live(n.id) {
            return;
        }
        self.events.get_mut().note(Event {
            kind: kind::DENIAL,
            nr: n.nr,
            pid: n.tid(),
            tid: n.tid(),
            denied: errno,
            detail: "an answer could not be delivered: the sandbox is killed",
            ..Event::default()
        });
        self.kill_all(libc::SIGKILL);
    }

    /// Answers an open made on the caller's behalf: an fd is installed in
    /// the caller by the opener.
    fn answer_open(&mut self, n: Notification, result: std::result::Result<Opened, i32>) {
        match result {
            Ok(Opened::Fd(fd, cloexec)) => self.install(n, fd, cloexec),
            Ok(Opened::PathOnly) => self.answer_through_opener(n, Answer::ContinueChecked),
            Err(errno) => self.answer_through_opener(n, Answer::Errno(errno)),
        }
    }

    /// Answers `n` with a copy of `fd` in its caller's table, through the
    /// opener: the kernel's ADDFD waits until the caller's thread runs,
    /// which the job decides, so the host never makes it.
    fn install(&mut self, n: Notification, fd: OwnedFd, cloexec: bool) {
        let (Some(opener), Some(opens)) = (&self.opener, &mut self.opens) else {
            return self.answer_through_opener(n, Answer::Errno(libc::EIO));
        };
        let finished = opens.install(n, fd, cloexec, opener);
        self.answer_opens(finished);
    }

    /// A unix connect or send that met a full backlog or buffer: parked,
    /// and asked again when it may go on (`again_through_opener`).
    fn park_through_opener(&mut self, through: Through) {
        let n = *through.call();
        if !self.may_park() {
            return self.answer_through_opener(n, Answer::Errno(libc::EAGAIN));
        }
        match crate::net::through::park(through) {
            Ok(pending) => match self.park(pending) {
                Ok(true) => {}
                Ok(false) | Err(_) => self.answer_through_opener(n, Answer::Errno(libc::EAGAIN)),
            },
            Err((n, errno)) => self.answer_through_opener(n, Answer::Errno(errno)),
        }
    }

    /// A unix connect or send, checked, made by the opener.
    fn through_opener(&mut self, through: Through) {
        let (Some(opener), Some(opens)) = (&self.opener, &mut self.opens) else {
            return self.answer_through_opener(*through.call(), Answer::Errno(libc::EACCES));
        };
        let finished = opens.through(through, opener);
        self.answer_opens(finished);
    }

    /// What of /proc the sandbox may see, with a private /proc; with
    /// `memory`, also what it uses (for /proc/meminfo).
    fn proc_view(&mut self, memory: bool) -> Option<ProcView> {
        let (private, budget) = {
            let live = self.live.lock();
            (live.private_proc, live.max_memory)
        };
        if !private {
            return None;
        }
        let groups = self.groups.ids(self.pid);
        let processes = self.processes.as_mut()?;
        processes.refresh(&groups);
        let used = match (memory, budget) {
            // The last sample's: reading every process here could hold
            // the step for as long as the sandbox has processes.
            (true, Some(_)) => processes.last_resident_bytes().unwrap_or(0),
            _ => 0,
        };
        Some(ProcView {
            pids: processes.pids(),
            memory: budget.map(|b| (b, used)),
        })
    }

    /// getdents64 (and getdents) with a private /proc: made here, on a
    /// duplicate of the child's fd (same open file, same position), so a
    /// listing of /proc leaves out the pids outside the sandbox whatever
    /// the child swaps its fd for meanwhile.
    fn list_directory(&mut self, n: &Notification) -> Answer {
        let tid = n.tid();
        let (fd, at, count) = (n.int(0), n.args[1], (n.uint(2) as usize).min(LISTING_MOST));
        let dir = match self.pidfds.dup(tid, fd) {
            Ok((dir, _)) => dir,
            Err(errno) => return Answer::Errno(errno),
        };
        let filtered = private_proc::is_proc_root(&dir);
        if filtered && n.nr != libc::SYS_getdents64 {
            // The old record layout is not filtered: refused for /proc.
            return Answer::Errno(libc::ENOSYS);
        }
        let view = match filtered {
            true => match self.proc_view(false) {
                Some(view) => Some(view),
                // No list of the sandbox's processes: no listing of /proc.
                None => return Answer::Errno(libc::EIO),
            },
            false => None,
        };
        let mut buf = vec![0u8; count];
        let out = loop {
            let got = match crate::sys::list_directory(n.nr, dir.as_raw_fd(), &mut buf) {
                Ok(got) => &buf[..got],
                Err(errno) => return Answer::Errno(errno),
            };
            match &view {
                // A chunk of other processes only: read on, or the child
                // would take it for the end.
                Some(view) => {
                    let kept = private_proc::filter_listing(got, view);
                    if kept.is_empty() && !got.is_empty() {
                        continue;
                    }
                    break kept;
                }
                None => break got.to_vec(),
            }
        };
        if !self.listener.is_live(n.id) {
            return Answer::Errno(libc::EINTR);
        }
        self.written += buf.len();
        match crate::sys::memory::write(tid, at, &out) {
            Ok(()) => Answer::Value(out.len() as i64),
            Err(errno) => Answer::Errno(errno),
        }
    }

    /// An open of a virtual file, answered with its memfd; false when the
    /// call is no such open (it goes on to the other open handlers).
    fn open_virtual(&mut self, n: &Notification) -> bool {
        let Some(opened) =
            crate::virt::virtual_files::open(n, &self.virtual_files, &mut self.virtual_memfds)
        else {
            return false;
        };
        match opened {
            Ok(file) => self.install(*n, file, crate::virt::virtual_files::cloexec(n)),
            Err(errno) => self.answer_through_opener(*n, Answer::Errno(errno)),
        }
        true
    }

    /// getrandom(buf, len, flags) from the seeded stream, written into the
    /// child's buffer in chunks of GETRANDOM_CHUNK (the host allocates no
    /// more whatever `len` says), at most GETRANDOM_MOST in one call. Like
    /// the kernel's, a call over 256 bytes may return fewer than asked (a
    /// short count is in its contract), and a write that fails part way
    /// returns what was written before it (EFAULT when nothing was).
    fn getrandom(&mut self, n: &Notification) -> Answer {
        let Some(stream) = &mut self.randomness else {
            return Answer::Errno(libc::ENOSYS);
        };
        let len = (n.args[1] as usize).min(GETRANDOM_MOST);
        let mut chunk = [0u8; GETRANDOM_CHUNK];
        let mut written = 0;
        while written < len {
            let piece = &mut chunk[..(len - written).min(GETRANDOM_CHUNK)];
            stream.fill(piece);
            let at = n.args[0].wrapping_add(written as u64);
            if crate::sys::memory::write(n.tid(), at, piece).is_err() {
                break;
            }
            written += piece.len();
        }
        self.written += written.max(GETRANDOM_CHUNK.min(len));
        match written {
            0 if len > 0 => Answer::Errno(libc::EFAULT),
            written => Answer::Value(written as i64),
        }
    }

    /// uname(buf) with the policy's host name: the host's struct, its
    /// nodename replaced, written into the child's buffer.
    fn uname(&self, n: &Notification) -> Answer {
        let mut names = match crate::sys::uname() {
            Ok(names) => names,
            Err(errno) => return Answer::Errno(errno),
        };
        let name = self.hostname.as_deref().unwrap_or_default().as_bytes();
        names.nodename = [0; 65];
        for (slot, &byte) in names.nodename.iter_mut().zip(name.iter().take(64)) {
            *slot = byte as libc::c_char;
        }
        match crate::sys::memory::write(n.tid(), n.args[0], crate::sys::utsname_bytes(&names)) {
            Ok(()) => Answer::Value(0),
            Err(errno) => Answer::Errno(errno),
        }
    }

    /// Is this an exec or open the observer wants to see, or that must be
    /// checked against denied files (and so with the sandbox stopped)?
    fn wants_frozen(&self, n: &Notification) -> bool {
        // Made on behalf instead (fs/names.rs): nothing to stop for.
        if crate::fs::names::is_name_call(n.nr) {
            return false;
        }
        if deny::is_path_call(n.nr) {
            let live = self.live.lock();
            return !deny::reads_metadata_only(n.nr)
                && (!live.fs_denied.is_empty() || live.private_proc);
        }
        shown::kind_of(n.nr).is_some_and(|k| {
            self.events.borrow().wants(k)
                || !self.live.lock().fs_denied.is_empty()
                || (k == kind::EXEC && self.new_images.is_some())
        })
    }

    /// Stops the sandbox (if not stopped already) and queues the call until
    /// every other task is seen stopped.
    fn freeze_for(&mut self, n: Notification) {
        if let Some(freeze) = &mut self.freeze {
            freeze.waiting.push_back(n);
            return;
        }
        let freeze = match Freeze::new(n) {
            Ok(f) => f,
            Err(_) => {
                let _ = self.answer(&n, Answer::Errno(libc::EAGAIN));
                return;
            }
        };
        if watch(self.fd(), freeze.timer.as_raw_fd(), TAG_FREEZE).is_err() {
            let _ = self.answer(&n, Answer::Errno(libc::EAGAIN));
            return;
        }
        self.freeze = Some(freeze);
        self.kill_all(libc::SIGSTOP);
        let groups = self.groups.ids(self.pid);
        if let Some(processes) = &mut self.processes {
            freeze::stop_every_thread(processes, &groups);
        }
        // A lone process (the caller) is quiet at once: no timer round.
        self.advance_freeze();
    }

    /// The freeze's timer: once the sandbox is quiet, show each waiting
    /// call and answer it; once every allowed caller is past reading its
    /// arguments, continue the sandbox.
    fn advance_freeze(&mut self) {
        let Some(freeze) = &mut self.freeze else {
            return;
        };
        if !freeze.waiting.is_empty() {
            let mut exempt: Vec<libc::pid_t> = freeze.waiting.iter().map(|n| n.tid()).collect();
            exempt.extend(self.pending.iter().flatten().map(|p| p.tid));
            if let Some(opens) = &self.opens {
                exempt.extend(opens.callers());
            }
            let quiet = match &mut self.processes {
                Some(processes) => freeze.check(processes, &exempt, &self.groups.ids(self.pid)),
                None => Quiet::TooLong,
            };
            if quiet == Quiet::NotYet {
                return;
            }
            let waiting = std::mem::take(&mut freeze.waiting);
            for n in waiting {
                let (mut answer, caller) = if quiet == Quiet::Yes {
                    self.show_frozen(&n)
                } else {
                    (Answer::Errno(libc::EAGAIN), None)
                };
                // What was read stands only if nothing ran since the stop
                // was seen: checked again right before the kernel reads it.
                let held = self.freeze.as_ref().is_some_and(Freeze::still_held);
                if answer == Answer::ContinueFrozen && !held {
                    answer = Answer::Errno(libc::EAGAIN);
                    self.freeze_broken();
                }
                // An allowed exec is watched until its caller stops past
                // it (exec_watch.rs): the sandbox stays stopped meanwhile.
                let mut watched = false;
                if let (Some((pid, true)), Answer::ContinueFrozen) = (caller, answer) {
                    watched = self.watch_exec(pid, n.tid(), true);
                    if !watched {
                        answer = Answer::Errno(libc::EAGAIN);
                    }
                }
                let delivered = self.answer(&n, answer);
                if watched && delivered != Ok(Delivered::Yes) {
                    self.unwatch_exec(n.tid());
                }
                let allowed = answer == Answer::ContinueFrozen;
                if let (Some((pid, false)), Some(freeze), true) =
                    (caller, &mut self.freeze, allowed)
                {
                    freeze.answered_open(pid, n.tid());
                }
            }
        }
        let execs_watched = self
            .exec_watch
            .as_ref()
            .is_some_and(ExecWatch::watches_frozen);
        let Some(freeze) = &mut self.freeze else {
            return;
        };
        let drained = freeze.drained(execs_watched);
        if drained == freeze::Drained::NotYet {
            return;
        }
        let mut settled_execs = std::mem::take(&mut freeze.settled_execs);
        // Two threads of one process may both have exec'd: one image.
        settled_execs.sort_unstable();
        settled_execs.dedup();
        match drained {
            freeze::Drained::NotYet => return,
            freeze::Drained::Stuck => self.kill_all(libc::SIGKILL),
            freeze::Drained::Broken => self.freeze_broken(),
            freeze::Drained::Yes => {}
        }
        // What an exec runs was decided on its path as read while the
        // sandbox was stopped; a process outside it that shares that
        // memory could still have changed it. So the new image itself,
        // stopped before its first instruction, is checked too.
        let denied = self.live.lock().fs_denied.clone();
        if !denied.is_empty()
            && settled_execs
                .iter()
                .any(|&pid| deny::image_reaches_denied(pid, &denied))
        {
            self.freeze_broken();
        }
        self.freeze = None;
        self.rewrite_new_images(&settled_execs);
        // A kill verdict lands while everything is still stopped: nothing
        // of the sandbox runs another instruction.
        self.apply_kill_verdict();
        // Not if the CPU throttle holds it stopped: its timer continues it.
        if !self.kill_requested && !self.cpu.as_ref().is_some_and(|c| c.stopped()) {
            self.kill_all(libc::SIGCONT);
        }
    }

    /// A task of the stopped sandbox ran (`Freeze::still_held`): a call
    /// let through may have been changed after it was checked. Logged, and
    /// the sandbox killed.
    fn freeze_broken(&mut self) {
        self.broken = true;
        self.events.get_mut().decide(Event {
            kind: kind::DENIAL,
            nr: -1,
            pid: self.pid,
            tid: self.pid,
            denied: libc::EPERM,
            detail: "freeze",
            ..Event::default()
        });
        self.kill_requested = true;
        self.kill_all(libc::SIGKILL);
    }

    /// An exec to stop alone (see exec_watch.rs): when its new image needs
    /// rewriting and no observer asked to see it.
    fn stops_exec_alone(&self, n: &Notification) -> bool {
        self.stops_execs_alone
            && shown::kind_of(n.nr) == Some(kind::EXEC)
            && !self.events.borrow().wants(kind::EXEC)
            && self.live.lock().fs_denied.is_empty()
    }

    /// Lets the exec through with a stop pending for its caller alone: it
    /// stops before the new program's first instruction, where
    /// `settle_execs` rewrites and continues it. Fails closed.
    fn stop_exec_alone(&mut self, n: &Notification) {
        let tid = n.tid();
        let watched = crate::sys::procfs::process_of(tid)
            .ok()
            .filter(|&pid| self.watch_exec(pid, tid, false));
        // The stop goes last: an exec refused after it would leave its
        // caller stopped with nobody to continue it.
        let stopped = watched.is_some_and(|pid| {
            // A thread of the sandbox (its call is live).
            crate::sys::tgkill(pid, tid, libc::SIGSTOP).is_ok()
        });
        let answer = match stopped {
            true => Answer::ContinueOnRegisters,
            false => Answer::Errno(libc::EAGAIN),
        };
        // Refused, or its caller killed in its call: no exec to watch.
        if self.answer(n, answer) != Ok(Delivered::Yes) || !stopped {
            self.unwatch_exec(tid);
        }
    }

    /// Watches the exec about to be let through for thread `tid` of
    /// process `pid` (its image now read, to tell its new program from its
    /// old one). False when it cannot be watched: the exec must be refused.
    fn watch_exec(&mut self, pid: libc::pid_t, tid: libc::pid_t, during_freeze: bool) -> bool {
        let Ok(image) = crate::sys::procfs::read_bytes(format!("/proc/{pid}/auxv")) else {
            return false;
        };
        if self.exec_watch.is_none() {
            let Ok(watch) = ExecWatch::new() else {
                return false;
            };
            if self::watch(self.fd(), watch.timer.as_raw_fd(), TAG_EXEC_WATCH).is_err() {
                return false;
            }
            self.exec_watch = Some(watch);
        }
        self.exec_watch
            .as_mut()
            .is_some_and(|w| w.watch(pid, tid, image, during_freeze).is_ok())
    }

    fn unwatch_exec(&mut self, tid: libc::pid_t) {
        if let Some(watch) = &mut self.exec_watch {
            watch.forget(tid);
        }
    }

    /// The watched execs' timer. An exec let through during a freeze is
    /// the freeze's to settle (it ends once each is); one stopped alone is
    /// rewritten (or left, its exec having failed) and continued. One that
    /// never stopped (a process of the sandbox continued it, or the exec
    /// hangs) or cannot be rewritten kills the sandbox.
    fn settle_execs(&mut self) {
        let settled = match self.exec_watch.as_mut().map(ExecWatch::settle) {
            Some(Ok(settled)) => settled,
            Some(Err(_)) => {
                self.kill_all(libc::SIGKILL);
                return;
            }
            None => return,
        };
        for exec in settled {
            // A stopped one is continued with the sandbox, whichever way it
            // stopped.
            let freeze_settles = exec.during_freeze || exec.how == Ending::Stopped;
            if let (Some(freeze), true) = (&mut self.freeze, freeze_settles) {
                freeze.exec_settled(&exec);
                continue;
            }
            match exec.how {
                Ending::Stopped => {
                    if self.rewrite_new_images(&[exec.pid]) {
                        // A process of the sandbox, stopped by us.
                        let _ = crate::sys::kill(exec.pid, libc::SIGCONT);
                    }
                }
                Ending::Ran | Ending::Late => self.fail_new_image(exec.pid, libc::ETIMEDOUT),
            }
        }
        if self.freeze.is_some() {
            self.advance_freeze();
        }
    }

    /// The processes that exec'd during a freeze, stopped before their new
    /// program's first instruction: their auxiliary vectors rewritten. One
    /// that cannot be is a new program that would see the host's
    /// randomness or clock: the sandbox is killed rather than continued.
    /// False when the sandbox is being killed for it.
    fn rewrite_new_images(&mut self, pids: &[libc::pid_t]) -> bool {
        let Some(rewriter) = &mut self.new_images else {
            return true;
        };
        let mut failed = None;
        for &pid in pids {
            match rewriter.fix(pid) {
                Ok(_) => {}
                Err(errno) if crate::sys::procfs::gone(errno) => {}
                Err(errno) => failed = Some((pid, errno)),
            }
        }
        match failed {
            Some((pid, errno)) => {
                self.fail_new_image(pid, errno);
                false
            }
            None => true,
        }
    }

    /// A new program that would run with the host's randomness or clock:
    /// logged, and the sandbox killed.
    fn fail_new_image(&mut self, pid: libc::pid_t, errno: i32) {
        self.broken = true;
        self.events.get_mut().decide(Event {
            kind: kind::DENIAL,
            nr: libc::SYS_execve,
            pid,
            tid: pid,
            denied: errno,
            detail: "auxv",
            ..Event::default()
        });
        self.kill_requested = true;
        self.kill_all(libc::SIGKILL);
    }

    /// With the sandbox stopped: read the call, check it against the
    /// denied files, show it, and answer. For an allowed call, also its
    /// process and whether it is an exec (see `Freeze::answered`).
    fn show_frozen(&mut self, n: &Notification) -> (Answer, Option<(libc::pid_t, bool)>) {
        if deny::is_path_call(n.nr) {
            return self.check_frozen_path_call(n);
        }
        let whole_argv = self.events.get_mut().wants(kind::EXEC);
        let mut event = match shown::read_event(n, whole_argv) {
            Ok(event) => event,
            Err(errno) => return (Answer::Errno(errno), None),
        };
        {
            let live = self.live.lock();
            if !live.fs_denied.is_empty() {
                event.denied = match deny::reaches_denied(n, &event, &live.fs_denied) {
                    Ok(true) => libc::EACCES,
                    // Nothing there: the kernel's own lookup fails alike.
                    Ok(false) | Err(libc::ENOENT) | Err(libc::ENOTDIR) => 0,
                    Err(errno) => errno,
                };
                if event.denied != 0 {
                    event.detail = "fs_deny";
                }
            }
        }
        // Read while the caller still waited: the event is its call.
        if !self.listener.is_live(n.id) {
            return (Answer::Errno(libc::EINTR), None);
        }
        let caller = (event.pid, event.kind == kind::EXEC);
        match self.events.get_mut().decide(event) {
            Verdict::Allow | Verdict::Audit => (Answer::ContinueFrozen, Some(caller)),
            Verdict::Deny(errno) => (Answer::Errno(errno), None),
            Verdict::Kill => (Answer::Errno(libc::EPERM), None),
        }
    }

    /// A call made on the job's behalf (src/fs/metadata.rs: chmod, chown,
    /// utimes, xattrs, inotify watches; src/fs/names.rs: with fs_deny or a
    /// private /proc, unlink, rename, link, mkdir, ... and truncate), on an
    /// object the policy's trees allow only. A refusal is logged.
    fn make_on_behalf(&mut self, n: &Notification) -> Answer {
        type Make = fn(
            &Notification,
            &crate::fs::metadata::Rights,
            &dyn Fn() -> bool,
        ) -> std::result::Result<crate::fs::metadata::Outcome, i32>;
        let (make, view): (Make, _) = match n.nr {
            libc::SYS_inotify_add_watch => (crate::fs::metadata::add_watch, self.proc_view(false)),
            nr if crate::fs::names::is_name_call(nr) => {
                (crate::fs::names::change, self.proc_view(false))
            }
            _ => (crate::fs::metadata::change, None),
        };
        let denied = self.live.lock().fs_denied.clone();
        let rights = crate::fs::metadata::Rights {
            writable: &self.metadata.writable,
            readable: &self.metadata.readable,
            denied: &denied,
            view: view.as_ref(),
            job: &self.metadata.job,
        };
        let listener = &self.listener;
        let outcome = make(n, &rights, &|| listener.is_live(n.id));
        self.answer_on_behalf(n, outcome)
    }

    /// The answer to a call fsmeta made or refused; a refusal is logged.
    fn answer_on_behalf(
        &mut self,
        n: &Notification,
        outcome: std::result::Result<crate::fs::metadata::Outcome, i32>,
    ) -> Answer {
        use crate::fs::metadata::Refusal;
        let (errno, detail) = match outcome {
            Ok(Ok(ret)) if ret >= 0 => return Answer::Value(ret),
            Ok(Ok(ret)) => return Answer::Errno(-ret as i32),
            Err(errno) => return Answer::Errno(errno),
            Ok(Err(Refusal::Denied)) => (libc::EACCES, "fs_deny"),
            Ok(Err(Refusal::OutsideWritable)) => (libc::EACCES, "outside the fs_write trees"),
            Ok(Err(Refusal::OutsideTrees)) => (libc::EACCES, "watch outside the policy's trees"),
        };
        self.denied += 1;
        let tid = n.tid();
        self.events.get_mut().decide(Event {
            kind: kind::DENIAL,
            nr: n.nr,
            pid: crate::sys::procfs::process_of(tid).unwrap_or(tid),
            tid,
            denied: errno,
            detail,
            ..Event::default()
        });
        Answer::Errno(errno)
    }

    /// Are calls that name files checked (fs_deny, a private /proc)?
    fn checks_paths(&self) -> bool {
        let live = self.live.lock();
        !live.fs_denied.is_empty() || live.private_proc
    }

    fn check_frozen_path_call(
        &mut self,
        n: &Notification,
    ) -> (Answer, Option<(libc::pid_t, bool)>) {
        self.check_path_call(n, true)
    }

    /// A call that names files (stat, rename, link, ...) against the denied
    /// ones and a private /proc; `frozen`: with the sandbox stopped. A
    /// denial is logged.
    fn check_path_call(
        &mut self,
        n: &Notification,
        frozen: bool,
    ) -> (Answer, Option<(libc::pid_t, bool)>) {
        let denied = self.live.lock().fs_denied.clone();
        let view = self.proc_view(false);
        let errno = match deny::path_call_refusal(n, &denied, view.as_ref()) {
            Ok(Some(errno)) => errno,
            // Nothing there: the kernel's own lookup fails alike.
            Ok(None) | Err(libc::ENOENT) | Err(libc::ENOTDIR) => 0,
            Err(errno) => errno,
        };
        if !self.listener.is_live(n.id) {
            return (Answer::Errno(libc::EINTR), None);
        }
        let tid = n.tid();
        let pid = crate::sys::procfs::process_of(tid).unwrap_or(tid);
        if errno != 0 {
            self.events.get_mut().decide(Event {
                kind: kind::DENIAL,
                nr: n.nr,
                pid,
                tid,
                denied: errno,
                detail: if errno == libc::ENOENT {
                    "private_proc"
                } else {
                    "fs_deny"
                },
                ..Event::default()
            });
            return (Answer::Errno(errno), None);
        }
        match frozen {
            true => (Answer::ContinueFrozen, Some((pid, false))),
            false => (Answer::ContinueChecked, None),
        }
    }

    fn on_timeout(&mut self) {
        if let Some(timer) = self.timer.take() {
            epoll::unwatch(self.fd(), timer.as_raw_fd());
        }
        if self.main_status.is_none() {
            self.timed_out = true;
            self.kill_all(libc::SIGKILL);
        }
    }

    /// max_memory's timer: sample, and kill the sandbox when over budget.
    fn on_memory_sample(&mut self) {
        let (Some(memory), Some(processes)) = (&mut self.memory, &mut self.processes) else {
            return;
        };
        let budget = self.live.lock().max_memory;
        if memory.over_budget(processes, budget) {
            self.memory = None;
            if self.main_status.is_none() && !self.timed_out {
                self.over_memory = true;
                self.end_by_limit(libc::ENOMEM, "max_memory");
            }
        }
    }

    /// A limit ends the sandbox: logged, then every process killed.
    fn end_by_limit(&mut self, denied: i32, detail: &'static str) {
        self.events.get_mut().note(Event {
            kind: kind::LIMIT,
            nr: -1,
            pid: self.pid,
            denied,
            detail,
            ..Event::default()
        });
        self.kill_all(libc::SIGKILL);
    }

    /// max_cpu's timer: stop or continue every process of the sandbox.
    fn on_cpu_sample(&mut self) {
        let (Some(cpu), Some(processes)) = (&mut self.cpu, &mut self.processes) else {
            return;
        };
        match cpu.tick(processes) {
            Ok(Throttle::Stop | Throttle::Restop) => self.kill_all(libc::SIGSTOP),
            // It keeps continuing itself: the limit cannot hold it by stops.
            Ok(Throttle::Broken) => {
                self.cpu = None;
                self.broken = true;
                self.end_by_limit(libc::EPERM, "max_cpu");
            }
            // Not while a freeze holds the sandbox: its end continues it.
            Ok(Throttle::Continue) if self.freeze.is_some() => {}
            Ok(Throttle::Continue) => self.kill_all(libc::SIGCONT),
            Ok(Throttle::Unchanged) => {}
            // Without its timer the throttle would stop for good, or never:
            // fail closed.
            Err(_) => {
                self.cpu = None;
                self.kill_all(libc::SIGKILL);
            }
        }
    }

    fn reap_main(&mut self, flags: i32) -> Result<()> {
        while self.main_status.is_none() {
            match process::waitid_pidfd(self.pidfd.as_raw_fd(), flags) {
                Ok(Some(status)) => self.main_status = Some(status),
                Ok(None) => break,
                Err(libc::EINTR) => continue,
                Err(errno) => return Err(Error::os("waitid", errno)),
            }
        }
        Ok(())
    }

    /// Signals the main process, its process group (the child made a
    /// group of its own) and every group a sandbox process made since.
    /// Only while the main process is unreaped: after that its pid, and so
    /// the first group's id, may belong to someone else.
    fn kill_all(&mut self, sig: i32) {
        if self.main_status.is_some() {
            return;
        }
        // Our own child's process group: its id is the main process's pid,
        // which stays ours until reaped.
        let _ = crate::sys::kill(-self.pid, sig);
        let _ = process::pidfd_send_signal(self.pidfd.as_raw_fd(), sig);
        // The groups it made, through their leaders' pidfds (limits/groups.rs).
        self.groups.signal_all(sig);
    }

    /// Ends the sandbox as its own wall-clock limit would (every process
    /// killed, exit reason Timeout): for a deadline the caller keeps, such
    /// as sandlock_run's.
    pub fn time_out(&mut self) {
        if self.main_status.is_none() {
            self.timed_out = true;
            self.kill_all(libc::SIGKILL);
        }
    }

    pub fn kill(&mut self, sig: i32) -> Result<()> {
        if !(1..=64).contains(&sig) {
            return Err(Error::invalid(format!(
                "kill: {sig} is not a signal number"
            )));
        }
        if self.main_status.is_none() {
            self.kill_requested = true;
            self.kill_all(sig);
        }
        Ok(())
    }

    /// Blocks until every process is gone. Waits on the sources themselves,
    /// not on the epoll set, so trapped syscalls keep the same-CPU wake-up.
    pub fn wait(&mut self) -> Result<()> {
        loop {
            match self.step()? {
                Step::Exited => return Ok(()),
                Step::More => continue,
                Step::Idle => self.block()?,
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
            Some(_) if self.over_memory => ExitReason::Memory,
            // Whatever the main process did: a run whose stop was broken is
            // not to be trusted, even if it ended on its own first.
            Some(_) if self.broken => ExitReason::Killed,
            Some(ChildStatus::Signaled(_)) if self.kill_requested => ExitReason::Killed,
            Some(ChildStatus::Signaled(sig)) => ExitReason::Signaled(sig),
            Some(ChildStatus::Exited(code)) => ExitReason::Normal(code),
        }
    }
}

impl Sandbox {
    /// Once no task carries the filter and the main process is reaped,
    /// nothing is left for the helpers to serve or sweep: they are let
    /// end now (the watchdog killed, the opener's socket closed), so that
    /// their exits run while the host goes on, and the free that follows
    /// only reaps them.
    fn let_helpers_end(&mut self) {
        // No task carries the filter: nothing is left for the watchdog to
        // kill, so it need not look.
        if let (true, Some(watchdog)) = (self.hung_up, &self.watchdog_process) {
            let _ = process::pidfd_send_signal(watchdog.pidfd(), libc::SIGKILL);
        }
        self.opener = None;
    }
}

impl Drop for Sandbox {
    /// Kills and reaps what is left, so the host keeps no zombie.
    fn drop(&mut self) {
        if self.main_status.is_none() {
            self.kill_all(libc::SIGKILL);
            let _ = self.reap_main(0);
        }
        if !self.exited {
            self.let_helpers_end();
        }
        // Whatever escaped every group dies now, by the watchdog's hand;
        // the opener ends at the close of its socket. Both are our
        // children: reaped before we return (killed if they take longer
        // than HELPER_END_MS), so the host keeps no zombie of ours.
        drop(self.watchdog.take());
        self.opens = None;
        self.opener = None;
        let helpers = [self.watchdog_process.take(), self.opener_process.take()];
        for helper in helpers.into_iter().flatten() {
            helper.end_within(HELPER_END_MS);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;
    use std::ffi::OsStr;
    use std::io::Read;

    fn system_policy() -> Policy {
        let mut policy = Policy::new();
        for dir in ["/usr", "/lib", "/lib64", "/bin", "/etc/ld.so.cache"] {
            if std::path::Path::new(dir).exists() {
                policy.fs_read(OsStr::new(dir)).unwrap();
            }
        }
        policy.fs_write(OsStr::new("/dev/null")).unwrap();
        policy
    }

    /// `sh -c script` under `policy` with stdout on a pipe we read.
    fn spawn_sh(policy: &Policy, script: &str) -> (Sandbox, std::fs::File) {
        let (read, write) = crate::sys::pipe().unwrap();
        let sandbox = crate::spawn(
            policy,
            &[OsStr::new("/bin/sh"), OsStr::new("-c"), OsStr::new(script)],
            [-1, write.as_raw_fd(), -1],
        )
        .unwrap();
        (sandbox, std::fs::File::from(read))
    }

    fn getppid_supervised() -> Policy {
        let mut policy = system_policy();
        policy.supervise(crate::seccomp::syscall_table::number("getppid").unwrap());
        policy
    }

    fn readable(fd: RawFd) -> libc::pollfd {
        libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        }
    }

    fn wait_readable(fd: RawFd) {
        assert_eq!(
            crate::sys::poll(&mut [readable(fd)], 10_000),
            Ok(1),
            "fd {fd} never became readable"
        );
    }

    #[test]
    fn a_trapped_syscall_without_handler_is_denied() {
        // dash and bash read getppid() into $PPID at start-up.
        let (mut sandbox, mut out) = spawn_sh(&getppid_supervised(), "echo ppid=$PPID");
        sandbox.wait().unwrap();
        let mut text = String::new();
        out.read_to_string(&mut text).unwrap();
        assert_eq!(
            text.trim(),
            "ppid=-1",
            "getppid was not denied by the supervisor"
        );
        assert!(sandbox.denied() >= 1);
        assert_eq!(sandbox.exit_reason(), ExitReason::Normal(0));
    }

    #[test]
    fn same_cpu_wake_up_is_enabled() {
        let (sandbox, _out) = spawn_sh(&system_policy(), "exit 0");
        assert!(
            sandbox.sync_wake_up(),
            "SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP was refused"
        );
    }

    #[test]
    fn a_vanished_notification_is_nothing_to_do() {
        let (mut sandbox, _out) = spawn_sh(&getppid_supervised(), "echo $PPID");
        // The shell is now blocked in getppid: kill it before receiving.
        wait_readable(sandbox.listener.raw());
        process::pidfd_send_signal(sandbox.pidfd.as_raw_fd(), libc::SIGKILL).unwrap();
        wait_readable(sandbox.pidfd.as_raw_fd());
        assert!(matches!(sandbox.listener.receive(), Ok(None)));
        sandbox.wait().unwrap();
        assert_eq!(sandbox.exit_reason(), ExitReason::Signaled(libc::SIGKILL));
    }

    #[test]
    fn an_answer_to_a_stale_id_is_not_an_error() {
        let (mut sandbox, _out) = spawn_sh(&getppid_supervised(), "echo $PPID");
        wait_readable(sandbox.listener.raw());
        let notification = sandbox
            .listener
            .receive()
            .unwrap()
            .expect("a pending getppid");
        assert!(sandbox.listener.is_live(notification.id));
        process::pidfd_send_signal(sandbox.pidfd.as_raw_fd(), libc::SIGKILL).unwrap();
        wait_readable(sandbox.pidfd.as_raw_fd());
        assert!(!sandbox.listener.is_live(notification.id));
        assert_eq!(
            sandbox
                .listener
                .respond(notification.id, Answer::Errno(libc::EPERM)),
            Ok(())
        );
        sandbox.wait().unwrap();
    }

    /// The kernel fact `step` is built around: the listener may hang up
    /// before the main process can be reaped, and the reap follows.
    #[test]
    fn hang_up_then_reap() {
        let (mut sandbox, _out) = spawn_sh(&system_policy(), "exit 5");
        let mut fds = [readable(sandbox.listener.raw())];
        assert_eq!(crate::sys::poll(&mut fds, 10_000), Ok(1));
        assert_ne!(fds[0].revents & libc::POLLHUP, 0);
        sandbox.wait().unwrap();
        assert_eq!(sandbox.exit_reason(), ExitReason::Normal(5));
    }

    #[test]
    fn the_deadline_is_in_the_fd() {
        let mut policy = system_policy();
        policy.timeout_ms(150).unwrap();
        let (mut sandbox, _out) = spawn_sh(&policy, "sleep 5");
        assert_eq!(sandbox.timeout_ms(), -1);
        // Only the timer can wake this poll.
        assert_eq!(
            crate::sys::poll(&mut [readable(sandbox.fd())], 10_000),
            Ok(1)
        );
        sandbox.wait().unwrap();
        assert_eq!(sandbox.exit_reason(), ExitReason::Timeout);
    }

    #[test]
    fn step_is_bounded_and_never_blocks() {
        let (mut sandbox, _out) = spawn_sh(&system_policy(), "sleep 1");
        for _ in 0..1000 {
            assert_eq!(sandbox.step().unwrap(), Step::Idle);
        }
        // 1000 idle steps while the child sleeps: none waited for it.
        assert_eq!(sandbox.exit_reason(), ExitReason::Running);
        assert!(sandbox.main_status.is_none());
        sandbox.kill(libc::SIGKILL).unwrap();
        sandbox.wait().unwrap();
        assert_eq!(sandbox.exit_reason(), ExitReason::Killed);
    }
}
