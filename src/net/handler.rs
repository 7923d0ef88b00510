//! The trapped network calls, performed on the child's behalf.
//!
//! Every handler follows the same steps: take a duplicate of the child's
//! socket (`pidfd_getfd` on the *calling* thread), copy the address (and
//! data) out of the child with bounded sizes, check the notification is
//! still live, decide on the copy, and make the call on the duplicate with
//! exactly the checked address and copied bytes. Nothing is answered with
//! "continue": a sibling thread could rewrite the address in between.
//!
//! A call that would block (a blocking connect still in progress, a send
//! into a full buffer, a unix connect to a full backlog) is not waited for:
//! it becomes a [`Pending`] whose fd joins the sandbox's epoll set, and the
//! answer goes out when that fd is ready.

use super::options;
use super::sockaddr::{self, Address};
use super::through::{Through, UnixConnect, UnixSend};
use super::unix::{proc_path, UnixGate};
use super::Protocol;
use crate::seccomp::notify::{Answer, Listener, Notification};
use crate::supervisor::events::{kind as event_kind, Destination as Dest, Event, Events, Verdict};
use crate::supervisor::live_policy::Live;
use crate::sys::creds::{self, JobCredentials};
use crate::sys::procfs;
use crate::sys::{self, memory, process, timer};
use parking_lot::Mutex;
use std::cell::RefCell;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::Arc;

/// Largest datagram copied (a larger one fails with EMSGSIZE, as the
/// kernel would for UDP); a stream send copies at most this much and
/// reports a short write, which callers of send() must handle anyway.
pub const MAX_DATA: usize = 256 * 1024;
/// Most iovec entries in one msghdr (the kernel's UIO_MAXIOV).
pub const MAX_IOV: usize = 1024;
/// Largest control buffer copied.
pub const MAX_CONTROL: usize = 16 * 1024;
/// Most messages one sendmmsg handles (the kernel's UIO_MAXIOV too).
pub const MAX_MMSG: usize = 1024;

/// What a handler decided.
pub enum Outcome {
    Answer(Answer),
    /// Answered once the pending call's fd is ready.
    Pending(Pending),
    /// A unix connect or send, checked, for the opener to make
    /// ([`super::through`]).
    ThroughOpener(Through),
}

/// A call waiting for its socket.
pub struct Pending {
    pub id: u64,
    pub tid: libc::pid_t,
    /// What the supervisor waits on: the duplicate socket (EPOLLOUT), or a
    /// retry timer.
    pub fd: OwnedFd,
    pub events: u32,
    pub what: PendingCall,
}

pub enum PendingCall {
    /// A connect in progress: the answer is SO_ERROR.
    Connect,
    /// A unix connect or send that met a full backlog or buffer: asked of
    /// the opener again when the fd is ready (the supervisor does, not
    /// `resume`).
    ThroughOpener(Through),
    /// A send that would block: try again when writable.
    Send(Message),
    /// A sendmmsg that would block, or past a step's budget: go on when
    /// writable.
    Batch(Box<Batch>),
    /// clock_nanosleep until a time of the sandbox's wall clock
    /// (time_start), on a timer at the host's equivalent: answered 0 when
    /// it fires.
    WallClockSleep,
}

/// A message copied out of the child, ready to send on a duplicate.
pub struct Message {
    name: Option<Vec<u8>>,
    /// The socket file a unix destination names, pinned while the message
    /// waits (its name is `/proc/self/fd/N` of this fd).
    pub(super) target: Option<OwnedFd>,
    pub(super) data: Vec<u8>,
    control: Vec<u8>,
    /// Duplicates of the fds an SCM_RIGHTS message passes, kept alive
    /// until the message is sent.
    _passed: Vec<OwnedFd>,
    /// Their numbers, in order (a unix send through the opener passes them
    /// as one SCM_RIGHTS message).
    pub(super) passed_fds: Vec<RawFd>,
    pub(super) flags: i32,
    /// Send SIGPIPE to the caller on EPIPE (it did not ask for MSG_NOSIGNAL).
    pub(super) sigpipe: bool,
    /// A stream socket: a send may go out in parts.
    pub(super) stream: bool,
    /// A unix socket: the opener sends it (src/net/through.rs).
    unix: bool,
    /// The caller would block: send everything before answering.
    pub(super) blocking: bool,
    /// Bytes already sent.
    pub(super) sent: usize,
    /// Sent with the job's rights.
    job: Arc<JobCredentials>,
    /// The separate pieces copied for it (iovecs, fds passed): each cost
    /// the supervisor a page walk or a syscall.
    pieces: usize,
}

#[cfg(test)]
impl Message {
    /// A message of `data` as a test describes it.
    pub(super) fn for_test(data: Vec<u8>, stream: bool, blocking: bool) -> Message {
        Message {
            name: None,
            target: None,
            data,
            control: Vec::new(),
            _passed: Vec::new(),
            passed_fds: Vec::new(),
            flags: 0,
            sigpipe: false,
            stream,
            unix: true,
            blocking,
            sent: 0,
            job: Arc::new(JobCredentials::of_this_thread().unwrap()),
            pieces: 1,
        }
    }
}

/// The work one supervisor step may do on the job's sends (bytes copied
/// out of the child and sent, messages handled), so that a step stays
/// short whatever the job sends: a sendmmsg stops at the budget and
/// returns the entries sent so far, as it may (its callers send the rest
/// with a further call), and the step leaves the next notifications to
/// the next step.
#[derive(Debug, Default)]
pub struct SendBudget {
    bytes: usize,
    pieces: usize,
    messages: usize,
}

impl SendBudget {
    /// Measured here (notes/hardening/net.md): a datagram of 1024 iovecs
    /// costs ~0.3 ms to copy (a page walk per iovec), 256 KiB ~0.1 ms.
    const BYTES: usize = MAX_DATA;
    const PIECES: usize = MAX_IOV;
    const MESSAGES: usize = 32;

    /// A new step starts with the whole budget.
    pub fn renew(&mut self) {
        *self = Self::default();
    }

    /// Whether this step's budget is used up.
    pub fn spent(&self) -> bool {
        self.bytes >= Self::BYTES || self.pieces >= Self::PIECES || self.messages >= Self::MESSAGES
    }

    /// A parked send that went on by `bytes`.
    fn charge_resumed(&mut self, bytes: usize) {
        self.bytes += bytes;
        self.messages += 1;
    }

    fn charge(&mut self, message: &Message) {
        self.bytes += message.data.len();
        self.pieces += message.pieces;
        self.messages += 1;
    }
}

/// How far a send got.
enum Progress {
    Done(usize),
    Wait,
    Failed(i32),
}

/// What the handlers need from the sandbox.
pub struct Context<'a> {
    /// The trapped call being decided.
    pub call: &'a Notification,
    pub live: &'a Mutex<Live>,
    pub unix: &'a UnixGate,
    pub listener: &'a Listener,
    pub pidfds: &'a mut PidfdCache,
    pub budget: &'a mut SendBudget,
    pub events: &'a RefCell<Events>,
    /// Whose rights the calls made here use (sys::creds).
    pub job: &'a Arc<JobCredentials>,
}

/// EACCES for a socket (or the directory a new one goes in) that lies in
/// an fs_deny tree.
fn refuse_denied(ctx: &Context, object: &OwnedFd) -> Result<(), i32> {
    let denied = ctx.live.lock().fs_denied.clone();
    if denied.is_empty() {
        return Ok(());
    }
    match crate::fs::paths::identities(object)?
        .iter()
        .any(|id| denied.contains(id))
    {
        true => Err(libc::EACCES),
        false => Ok(()),
    }
}

fn protocol_number(protocol: Protocol) -> i32 {
    match protocol {
        Protocol::Tcp => libc::IPPROTO_TCP,
        Protocol::Udp => libc::IPPROTO_UDP,
        Protocol::Icmp => libc::IPPROTO_ICMP,
    }
}

/// Shows the call's destination to the observer (when it asked, or when
/// the built-in rules deny it: denials are logged) and returns the errno
/// of the verdict. The destination shown is the copy the call will use.
fn observe(ctx: &Context, kind: u32, destination: Dest, denied: i32) -> Result<(), i32> {
    if denied == 0 && !ctx.events.borrow().wants(kind) {
        return Ok(());
    }
    let tid = ctx.call.tid();
    let pid = procfs::process_of(tid).unwrap_or(tid);
    let event = Event {
        kind,
        nr: ctx.call.nr,
        pid,
        tid,
        ppid: procfs::parent_of(pid).unwrap_or(0),
        denied,
        destination: Some(destination),
        ..Event::default()
    };
    let verdict = ctx.events.borrow_mut().decide(event);
    match verdict {
        Verdict::Allow | Verdict::Audit => Ok(()),
        Verdict::Deny(errno) => Err(errno),
        Verdict::Kill => Err(libc::EPERM),
    }
}

/// pidfds of the threads that made trapped calls, so a busy thread costs
/// one pidfd_open, not one a call. A pidfd names a task, not a number: a
/// stale one fails (ESRCH) and is opened again; the liveness check every
/// handler makes after reading the child covers a reused thread id.
#[derive(Default)]
pub struct PidfdCache {
    by_tid: std::collections::HashMap<libc::pid_t, OwnedFd>,
}

impl PidfdCache {
    /// Most threads remembered before the cache starts over.
    const MAX: usize = 256;

    fn open(tid: libc::pid_t) -> Result<OwnedFd, i32> {
        match process::pidfd(tid, process::PIDFD_THREAD) {
            Err(libc::EINVAL) => process::pidfd(tid, 0),
            other => other,
        }
    }

    /// The pidfd of thread `tid`.
    pub fn pidfd(&mut self, tid: libc::pid_t) -> Result<RawFd, i32> {
        if !self.by_tid.contains_key(&tid) {
            if self.by_tid.len() >= Self::MAX {
                self.by_tid.clear();
            }
            self.by_tid.insert(tid, Self::open(tid)?);
        }
        Ok(self.by_tid[&tid].as_raw_fd())
    }

    /// A duplicate of thread `tid`'s fd `fd`, and the pidfd it came from.
    pub fn dup(&mut self, tid: libc::pid_t, fd: i32) -> Result<(OwnedFd, RawFd), i32> {
        for attempt in 0..2 {
            if !self.by_tid.contains_key(&tid) {
                if self.by_tid.len() >= Self::MAX {
                    self.by_tid.clear();
                }
                self.by_tid.insert(tid, Self::open(tid)?);
            }
            let pidfd = self.by_tid[&tid].as_raw_fd();
            match process::dup_from(pidfd, fd) {
                Ok(dup) => return Ok((dup, pidfd)),
                Err(libc::ESRCH) if attempt == 0 => {
                    self.by_tid.remove(&tid);
                }
                Err(e) => return Err(e),
            }
        }
        Err(libc::ESRCH)
    }
}

fn deny(errno: i32) -> Outcome {
    Outcome::Answer(Answer::Errno(errno))
}

/// The child's socket `fd` as seen by thread `tid`, duplicated into us,
/// with the pidfd of that thread.
fn child_socket(ctx: &mut Context, tid: libc::pid_t, fd: u64) -> Result<(OwnedFd, RawFd), i32> {
    // An fd argument is an int: the kernel reads the low 32 bits.
    ctx.pidfds.dup(tid, fd as u32 as i32)
}

/// The socket's family and protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Unix { stream: bool },
    Inet(Protocol),
}

fn kind(socket: &OwnedFd) -> Result<Kind, i32> {
    let fd = socket.as_raw_fd();
    let domain = sys::socket_option(fd, libc::SOL_SOCKET, libc::SO_DOMAIN).map_err(|e| {
        if e == libc::ENOTSOCK {
            e
        } else {
            libc::EACCES
        }
    })?;
    let kind = sys::socket_option(fd, libc::SOL_SOCKET, libc::SO_TYPE).map_err(|_| libc::EACCES)?;
    match domain {
        libc::AF_UNIX => Ok(Kind::Unix {
            stream: kind != libc::SOCK_DGRAM,
        }),
        libc::AF_INET | libc::AF_INET6 => {
            let protocol = sys::socket_option(fd, libc::SOL_SOCKET, libc::SO_PROTOCOL)
                .map_err(|_| libc::EACCES)?;
            match (kind, protocol) {
                (libc::SOCK_STREAM, libc::IPPROTO_TCP) => Ok(Kind::Inet(Protocol::Tcp)),
                (libc::SOCK_DGRAM, libc::IPPROTO_UDP) => Ok(Kind::Inet(Protocol::Udp)),
                (libc::SOCK_DGRAM, libc::IPPROTO_ICMP | libc::IPPROTO_ICMPV6) => {
                    Ok(Kind::Inet(Protocol::Icmp))
                }
                // The filter lets no other inet socket be made.
                _ => Err(libc::EACCES),
            }
        }
        _ => Err(libc::EACCES),
    }
}

fn copy_address(tid: libc::pid_t, ptr: u64, len: u64) -> Result<Vec<u8>, i32> {
    memory::read(tid, ptr, address_len(len)?)
}

/// How many bytes of an address to copy for a `socklen_t` argument (its
/// low 32 bits): EINVAL past the largest address.
pub fn address_len(len: u64) -> Result<usize, i32> {
    let len = usize::try_from(len as u32).map_err(|_| libc::EINVAL)?;
    if len > sockaddr::MAX_LEN {
        return Err(libc::EINVAL);
    }
    Ok(len)
}

/// Where a checked address may go: the bytes to hand the kernel, plus any
/// fd that must stay open while they are used.
struct Destination {
    bytes: Vec<u8>,
    target: Option<OwnedFd>,
}

/// Checks `address` for a `kind` socket and returns what to connect or
/// send to; `None` for AF_UNSPEC (a disconnect on connect).
fn check_destination(
    ctx: &Context,
    tid: libc::pid_t,
    kind: Kind,
    address: &Address,
) -> Result<Option<Destination>, i32> {
    match (kind, address) {
        (_, Address::Unspec) => Ok(None),
        (Kind::Inet(protocol), Address::Inet(sa)) => {
            let permitted = ctx.live.lock().net.permits(protocol, sa.ip(), sa.port());
            let shown = Dest::Inet {
                address: *sa,
                protocol: protocol_number(protocol),
            };
            observe(
                ctx,
                event_kind::CONNECT,
                shown,
                if permitted { 0 } else { libc::EACCES },
            )?;
            Ok(Some(Destination {
                bytes: sockaddr::encode_bytes(sa),
                target: None,
            }))
        }
        (Kind::Inet(_), _) => Err(libc::EAFNOSUPPORT),
        (Kind::Unix { .. }, Address::UnixPath(path)) => {
            observe(ctx, event_kind::CONNECT, Dest::Unix(path.clone()), 0)?;
            let target = ctx.unix.open_socket(tid, path)?;
            refuse_denied(ctx, &target)?;
            let bytes =
                sockaddr::encode_unix_bytes(&proc_path(&target, None)).ok_or(libc::ENAMETOOLONG)?;
            Ok(Some(Destination {
                bytes,
                target: Some(target),
            }))
        }
        // Abstract and unnamed addresses: Landlock scopes them in the
        // child, but a call made here would not be scoped, and answering
        // "continue" would let a racing thread swap in a path. Refused,
        // and logged as every denial is ("@name", as ss shows them).
        (Kind::Unix { .. }, Address::UnixOther(name)) => {
            let shown = [&b"@"[..], name].concat();
            observe(ctx, event_kind::CONNECT, Dest::Unix(shown), libc::EPERM)?;
            Err(libc::EPERM)
        }
        (Kind::Unix { .. }, _) => Err(libc::EINVAL),
    }
}

fn with_nonblocking<T>(socket: &OwnedFd, call: impl FnOnce() -> T) -> Result<(T, bool), i32> {
    let fd = socket.as_raw_fd();
    let flags = sys::status_flags(fd)?;
    let blocking = flags & libc::O_NONBLOCK == 0;
    // The duplicate shares the child's open file description, so the flag
    // is set for the shortest time and put back at once.
    if blocking {
        let _ = sys::set_status_flags(fd, flags | libc::O_NONBLOCK);
    }
    let result = call();
    if blocking {
        let _ = sys::set_status_flags(fd, flags);
    }
    Ok((result, blocking))
}

/// connect() made with the job's rights: a unix socket's permissions and
/// the capabilities are the job's, not the host's.
fn raw_connect(job: &JobCredentials, socket: &OwnedFd, bytes: &[u8]) -> Result<(), i32> {
    creds::as_job(job, || sys::connect(socket.as_raw_fd(), bytes))?
}

/// The child's socket, and the address argument at `args[ptr]`/`args[len]`
/// as copied (the bytes every later step must use) and as parsed.
fn socket_and_address(
    ctx: &mut Context,
    n: &Notification,
    ptr: usize,
    len: usize,
) -> Result<(OwnedFd, Vec<u8>, Address), i32> {
    let tid = n.tid();
    let (socket, _) = child_socket(ctx, tid, n.args[0])?;
    let bytes = copy_address(tid, n.args[ptr], n.args[len])?;
    let address = sockaddr::parse(&bytes)?;
    Ok((socket, bytes, address))
}

fn unspec_bytes() -> Vec<u8> {
    let mut bytes = vec![0u8; std::mem::size_of::<libc::sockaddr>()];
    bytes[..2].copy_from_slice(&(libc::AF_UNSPEC as u16).to_ne_bytes());
    bytes
}

/// connect(fd, addr, addrlen)
pub fn connect(ctx: &mut Context, n: &Notification) -> Outcome {
    let tid = n.tid();
    let (socket, _, address) = match socket_and_address(ctx, n, 1, 2) {
        Ok(found) => found,
        Err(e) => return deny(e),
    };
    let kind = match kind(&socket) {
        Ok(k) => k,
        Err(e) => return deny(e),
    };
    let mut destination = match check_destination(ctx, tid, kind, &address) {
        Ok(d) => d,
        Err(e) => return deny(e),
    };
    if !ctx.listener.is_live(n.id) {
        return deny(libc::EINTR);
    }
    if let Some(target) = destination.as_mut().and_then(|d| d.target.take()) {
        let blocking = is_blocking(&socket, 0);
        return Outcome::ThroughOpener(Through::Connect(UnixConnect {
            n: *n,
            socket,
            target,
            blocking,
        }));
    }
    let bytes = destination
        .as_ref()
        .map_or_else(unspec_bytes, |d| d.bytes.clone());
    let (result, blocking) =
        match with_nonblocking(&socket, || raw_connect(ctx.job, &socket, &bytes)) {
            Ok(r) => r,
            Err(e) => return deny(e),
        };
    match result {
        Ok(()) => Outcome::Answer(Answer::Value(0)),
        // On loopback the handshake is usually over already: answer now
        // rather than after another trip through the host's loop.
        Err(libc::EINPROGRESS) if blocking && writable_now(&socket) => {
            Outcome::Answer(connect_result(&socket))
        }
        Err(libc::EINPROGRESS) if blocking => Outcome::Pending(Pending {
            id: n.id,
            tid,
            fd: socket,
            events: libc::EPOLLOUT as u32,
            what: PendingCall::Connect,
        }),
        Err(e) => deny(e),
    }
}

fn writable_now(socket: &OwnedFd) -> bool {
    sys::poll_now(socket.as_raw_fd(), libc::POLLOUT) != 0
}

/// The outcome of a finished connect, as the caller's own call would
/// have returned it.
fn connect_result(socket: &OwnedFd) -> Answer {
    match sys::socket_option(socket.as_raw_fd(), libc::SOL_SOCKET, libc::SO_ERROR) {
        Ok(0) => Answer::Value(0),
        Ok(error) => Answer::Errno(error),
        Err(_) => Answer::Errno(libc::EIO),
    }
}

/// A timer ticking every 10 ms, for retries nothing else can signal.
pub(super) fn retry_timer() -> Result<OwnedFd, i32> {
    timer::every(std::time::Duration::from_millis(10))
}

fn read_iovecs(tid: libc::pid_t, ptr: u64, count: u64) -> Result<Vec<libc::iovec>, i32> {
    let count = iovec_count(count)?;
    let bytes = memory::read(tid, ptr, count * std::mem::size_of::<libc::iovec>())?;
    Ok(iovecs_of(&bytes))
}

/// A msghdr's `msg_iovlen`, as a count of entries to copy: EMSGSIZE past
/// UIO_MAXIOV.
pub fn iovec_count(count: u64) -> Result<usize, i32> {
    let count = usize::try_from(count).map_err(|_| libc::EMSGSIZE)?;
    if count > MAX_IOV {
        return Err(libc::EMSGSIZE);
    }
    Ok(count)
}

/// The iovecs of a copied array (a trailing partial entry ignored).
pub fn iovecs_of(bytes: &[u8]) -> Vec<libc::iovec> {
    bytes
        .chunks_exact(std::mem::size_of::<libc::iovec>())
        .map(|c| libc::iovec {
            iov_base: u64::from_ne_bytes(c[..8].try_into().unwrap()) as usize as *mut libc::c_void,
            iov_len: u64::from_ne_bytes(c[8..16].try_into().unwrap()) as usize,
        })
        .collect()
}

/// The data of `iovecs`, at most MAX_DATA bytes: a datagram over the bound
/// is EMSGSIZE, a stream send is cut short. One process_vm_readv for the
/// whole vector (it takes up to UIO_MAXIOV entries, as many as a msghdr
/// may have), so a message of many small entries costs one copy.
fn gather(tid: libc::pid_t, iovecs: &[libc::iovec], stream: bool) -> Result<Vec<u8>, i32> {
    memory::read_ranges(tid, &gather_ranges(iovecs, stream)?)
}

/// The (address, length) ranges [`gather`] copies for `iovecs`: the
/// non-empty entries in order, cut once MAX_DATA bytes are reached.
pub fn gather_ranges(iovecs: &[libc::iovec], stream: bool) -> Result<Vec<(u64, usize)>, i32> {
    let total: usize = iovecs
        .iter()
        .map(|v| v.iov_len)
        .fold(0usize, |a, b| a.saturating_add(b));
    if total > MAX_DATA && !stream {
        return Err(libc::EMSGSIZE);
    }
    let mut ranges = Vec::with_capacity(iovecs.len().min(MAX_IOV));
    let mut want = 0usize;
    for v in iovecs.iter().filter(|v| v.iov_len > 0) {
        let len = v.iov_len.min(MAX_DATA - want);
        ranges.push((v.iov_base as usize as u64, len));
        want += len;
        if want == MAX_DATA {
            break;
        }
    }
    Ok(ranges)
}

/// Most fds one message may pass (the kernel's SCM_MAX_FD): more is
/// EINVAL, as the kernel would answer, before any is duplicated.
pub const MAX_PASSED_FDS: usize = 253;

/// Rewrites SCM_RIGHTS fds to duplicates of the child's; refuses
/// SCM_CREDENTIALS (the kernel would check them against the supervisor).
fn translate_control(pidfd: RawFd, mut control: Vec<u8>) -> Result<(Vec<u8>, Vec<OwnedFd>), i32> {
    let slots = passed_fd_slots(&control)?;
    let mut passed = Vec::with_capacity(slots.len());
    for slot in slots {
        let child_fd = i32::from_ne_bytes(control[slot..slot + 4].try_into().unwrap());
        let dup = process::dup_from(pidfd, child_fd)?;
        control[slot..slot + 4].copy_from_slice(&dup.as_raw_fd().to_ne_bytes());
        passed.push(dup);
    }
    Ok((control, passed))
}

/// Where the fds of a unix send's SCM_RIGHTS messages lie in `control`
/// (the offset of each 4-byte slot, in order): EPERM for SCM_CREDENTIALS,
/// EINVAL for more than [`MAX_PASSED_FDS`] or a malformed buffer.
pub fn passed_fd_slots(control: &[u8]) -> Result<Vec<usize>, i32> {
    let found = options::cmsgs(control)?;
    let mut slots = Vec::new();
    for cmsg in &found {
        if cmsg.level == libc::SOL_SOCKET && cmsg.kind == libc::SCM_CREDENTIALS {
            return Err(libc::EPERM);
        }
        if cmsg.level == libc::SOL_SOCKET && cmsg.kind == libc::SCM_RIGHTS {
            slots.extend(
                cmsg.data
                    .clone()
                    .step_by(4)
                    .filter(|&at| at + 4 <= cmsg.data.end),
            );
        }
    }
    if slots.len() > MAX_PASSED_FDS {
        return Err(libc::EINVAL);
    }
    Ok(slots)
}

/// One non-blocking sendmsg of what is left of `message` on our duplicate.
fn send_now(socket: &OwnedFd, message: &mut Message) -> Result<usize, i32> {
    let rest = &message.data[message.sent..];
    // Control data travels with the first byte only.
    let control = match message.sent {
        0 => &message.control[..],
        _ => &[],
    };
    let flags = message.flags | libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
    let name = message.name.as_deref();
    creds::as_job(&message.job, || {
        sys::send_message(socket.as_raw_fd(), name, rest, control, flags)
    })?
}

/// Sends as much as the caller's own call would have before returning: a
/// blocking stream send all of it (waiting when the buffer is full), a
/// non-blocking one what fits, a datagram all or nothing.
fn progress(socket: &OwnedFd, message: &mut Message) -> Progress {
    loop {
        match send_now(socket, message) {
            Ok(n) => {
                message.sent += n;
                if message.sent >= message.data.len() || !message.blocking || !message.stream {
                    return Progress::Done(message.sent);
                }
            }
            Err(libc::EAGAIN) if message.blocking => return Progress::Wait,
            Err(_) if message.sent > 0 => return Progress::Done(message.sent),
            Err(e) => return Progress::Failed(e),
        }
    }
}

/// The child would have got SIGPIPE from its own send.
pub(super) fn raise_sigpipe(tid: libc::pid_t) {
    if let Ok(pidfd) = process::pidfd(tid, process::PIDFD_THREAD) {
        let _ = process::pidfd_send_signal(pidfd.as_raw_fd(), libc::SIGPIPE);
    }
}

/// Sends `message`, or parks it when a blocking sender would wait.
fn send_or_park(
    n: &Notification,
    socket: OwnedFd,
    mut message: Message,
    blocking: bool,
) -> Outcome {
    message.blocking = blocking;
    match progress(&socket, &mut message) {
        Progress::Done(sent) => Outcome::Answer(Answer::Value(sent as i64)),
        Progress::Wait => Outcome::Pending(Pending {
            id: n.id,
            tid: n.tid(),
            fd: socket,
            events: libc::EPOLLOUT as u32,
            what: PendingCall::Send(message),
        }),
        Progress::Failed(libc::EPIPE) => {
            if message.sigpipe {
                raise_sigpipe(n.tid());
            }
            deny(libc::EPIPE)
        }
        Progress::Failed(e) => deny(e),
    }
}

fn is_blocking(socket: &OwnedFd, flags: i32) -> bool {
    sys::status_flags(socket.as_raw_fd())
        .is_ok_and(|fl| fl & libc::O_NONBLOCK == 0 && flags & libc::MSG_DONTWAIT == 0)
}

/// Checks the message's destination (if any) and builds what to send.
#[allow(clippy::too_many_arguments)]
fn prepare_message(
    ctx: &Context,
    tid: libc::pid_t,
    pidfd: RawFd,
    kind: Kind,
    name: Option<Vec<u8>>,
    data: Vec<u8>,
    control: Vec<u8>,
    flags: i32,
) -> Result<Message, i32> {
    // Before the destination: a refused flag shows the observer nothing.
    let send_flags = options::send_flags(flags)?;
    let (name, target) = match name {
        None => (None, None),
        Some(bytes) => {
            let address = sockaddr::parse(&bytes)?;
            match check_destination(ctx, tid, kind, &address)? {
                // The target stays open as long as its name is used.
                Some(destination) => (Some(destination.bytes), destination.target),
                // AF_UNSPEC as a send destination: no address.
                None => (None, None),
            }
        }
    };
    let (control, passed) = match kind {
        _ if control.is_empty() => (control, Vec::new()),
        Kind::Inet(_) => {
            options::check_inet_control(&control)?;
            (control, Vec::new())
        }
        Kind::Unix { .. } => translate_control(pidfd, control)?,
    };
    let passed_count = passed.len();
    Ok(Message {
        name,
        target,
        data,
        control,
        passed_fds: passed.iter().map(AsRawFd::as_raw_fd).collect(),
        _passed: passed,
        flags: send_flags & !(libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL),
        sigpipe: flags & libc::MSG_NOSIGNAL == 0,
        stream: is_stream(kind),
        unix: matches!(kind, Kind::Unix { .. }),
        blocking: false,
        sent: 0,
        job: ctx.job.clone(),
        pieces: 1 + passed_count,
    })
}

fn is_stream(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Unix { stream: true } | Kind::Inet(Protocol::Tcp)
    )
}

/// sendto(fd, buf, len, flags, addr, addrlen): trapped only with an address.
pub fn sendto(ctx: &mut Context, n: &Notification) -> Outcome {
    let tid = n.tid();
    let (socket, pidfd) = match child_socket(ctx, tid, n.args[0]) {
        Ok(s) => s,
        Err(e) => return deny(e),
    };
    let flags = n.int(3);
    let prepared = kind(&socket).and_then(|kind| {
        let name = if n.args[4] == 0 {
            None
        } else {
            Some(copy_address(tid, n.args[4], n.args[5])?)
        };
        let iov = [libc::iovec {
            iov_base: n.args[1] as usize as *mut libc::c_void,
            iov_len: n.args[2] as usize,
        }];
        let data = gather(tid, &iov, is_stream(kind))?;
        prepare_message(ctx, tid, pidfd, kind, name, data, Vec::new(), flags)
    });
    send_checked(ctx, n, socket, prepared, flags)
}

/// Sends a message that was copied and checked, if its caller still waits.
fn send_checked(
    ctx: &mut Context,
    n: &Notification,
    socket: OwnedFd,
    prepared: Result<Message, i32>,
    flags: i32,
) -> Outcome {
    let message = match prepared {
        Ok(m) => m,
        Err(e) => return deny(e),
    };
    ctx.budget.charge(&message);
    if !ctx.listener.is_live(n.id) {
        return deny(libc::EINTR);
    }
    let blocking = is_blocking(&socket, flags);
    if message.unix {
        return through_opener(n, socket, message, blocking, None);
    }
    send_or_park(n, socket, message, blocking)
}

/// A unix send, for the opener to make.
fn through_opener(
    n: &Notification,
    socket: OwnedFd,
    mut message: Message,
    blocking: bool,
    entry: Option<u64>,
) -> Outcome {
    message.blocking = blocking;
    Outcome::ThroughOpener(Through::Send(Box::new(UnixSend {
        n: *n,
        socket,
        message,
        entry,
    })))
}

/// A child's `struct msghdr` (56 bytes, seven words on x86-64), as the
/// pointers and lengths it names; nothing checked yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Msghdr {
    /// `msg_name` and `msg_namelen` (an int: the word's high half is
    /// padding); None for a NULL name.
    pub name: Option<(u64, u64)>,
    /// `msg_iov` and `msg_iovlen`.
    pub iov: (u64, u64),
    /// `msg_control` and `msg_controllen`.
    pub control: (u64, u64),
}

impl Msghdr {
    pub fn of(hdr: [u64; 7]) -> Msghdr {
        Msghdr {
            name: (hdr[0] != 0).then_some((hdr[0], hdr[1] & 0xffff_ffff)),
            iov: (hdr[2], hdr[3]),
            control: (hdr[4], hdr[5]),
        }
    }
}

/// How many control bytes to copy for `msg_control`/`msg_controllen`: 0
/// for none (a NULL pointer), ENOBUFS past [`MAX_CONTROL`].
pub fn control_len(ptr: u64, len: u64) -> Result<usize, i32> {
    let len = usize::try_from(len).map_err(|_| libc::ENOBUFS)?;
    if len > MAX_CONTROL {
        return Err(libc::ENOBUFS);
    }
    Ok(if ptr == 0 { 0 } else { len })
}

/// The parts of a child's msghdr, copied and checked.
fn copy_msghdr(
    ctx: &Context,
    tid: libc::pid_t,
    pidfd: RawFd,
    kind: Kind,
    ptr: u64,
    flags: i32,
) -> Result<Message, i32> {
    let hdr = Msghdr::of(memory::read_value(tid, ptr)?);
    let name = match hdr.name {
        None => None,
        Some((name_ptr, name_len)) => Some(copy_address(tid, name_ptr, name_len)?),
    };
    let iovecs = read_iovecs(tid, hdr.iov.0, hdr.iov.1)?;
    let data = gather(tid, &iovecs, is_stream(kind))?;
    let control = match control_len(hdr.control.0, hdr.control.1)? {
        0 => Vec::new(),
        len => memory::read(tid, hdr.control.0, len)?,
    };
    let mut message = prepare_message(ctx, tid, pidfd, kind, name, data, control, flags)?;
    message.pieces += iovecs.len();
    Ok(message)
}

/// sendmsg(fd, msg, flags): always trapped, since the address is in memory
/// (a NULL msg_name checked now could be filled by a racing thread).
pub fn sendmsg(ctx: &mut Context, n: &Notification) -> Outcome {
    let tid = n.tid();
    let (socket, pidfd) = match child_socket(ctx, tid, n.args[0]) {
        Ok(s) => s,
        Err(e) => return deny(e),
    };
    let flags = n.int(2);
    let prepared = kind(&socket).and_then(|k| copy_msghdr(ctx, tid, pidfd, k, n.args[1], flags));
    send_checked(ctx, n, socket, prepared, flags)
}

/// sendmmsg(fd, msgvec, vlen, flags): each message checked and sent in
/// order; the first refused one stops the batch, as a failing send would.
/// A step sends what its [`SendBudget`] allows: on a blocking socket the
/// rest goes over later steps (the call parked on the socket, as the
/// kernel would have kept it until done); a non-blocking caller gets the
/// count sent so far, as it may. On a blocking stream socket each entry
/// goes whole, as the kernel sends it.
pub fn sendmmsg(ctx: &mut Context, n: &Notification) -> Outcome {
    let tid = n.tid();
    let (socket, _) = match child_socket(ctx, tid, n.args[0]) {
        Ok(s) => s,
        Err(e) => return deny(e),
    };
    let kind = match kind(&socket) {
        Ok(k) => k,
        Err(e) => return deny(e),
    };
    let flags = n.int(3);
    let blocking = is_blocking(&socket, flags);
    if matches!(kind, Kind::Unix { .. }) {
        return unix_sendmmsg(ctx, n, socket, kind, blocking);
    }
    let mut batch = Batch {
        call: *n,
        kind,
        blocking,
        next: 0,
        count: mmsg_count(n.args[2]),
        sent: 0,
        current: None,
    };
    match batch.advance(ctx, &socket) {
        Advance::Answer(answer) => Outcome::Answer(answer),
        Advance::Park => Outcome::Pending(Pending {
            id: n.id,
            tid,
            fd: socket,
            events: libc::EPOLLOUT as u32,
            what: PendingCall::Batch(Box::new(batch)),
        }),
    }
}

/// sendmmsg on a unix socket: its first entry, sent by the opener; the
/// call returns 1 (its caller sends the rest with further calls, as it
/// must whenever fewer than `vlen` went).
fn unix_sendmmsg(
    ctx: &mut Context,
    n: &Notification,
    socket: OwnedFd,
    kind: Kind,
    blocking: bool,
) -> Outcome {
    let tid = n.tid();
    if mmsg_count(n.args[2]) == 0 {
        return Outcome::Answer(Answer::Value(0));
    }
    let pidfd = match ctx.pidfds.pidfd(tid) {
        Ok(fd) => fd,
        Err(e) => return deny(e),
    };
    let entry = mmsg_entry(n.args[1], 0);
    let message = match copy_msghdr(ctx, tid, pidfd, kind, entry, n.int(3)) {
        Ok(m) => m,
        Err(e) => return deny(e),
    };
    ctx.budget.charge(&message);
    if !ctx.listener.is_live(n.id) {
        return deny(libc::EINTR);
    }
    through_opener(n, socket, message, blocking, Some(entry))
}

/// How many entries of a sendmmsg's `vlen` (an unsigned int) are handled:
/// at most [`MAX_MMSG`], as the kernel caps it.
pub fn mmsg_count(vlen: u64) -> usize {
    (vlen as u32 as usize).min(MAX_MMSG)
}

/// Size of a `struct mmsghdr`: a msghdr, its `msg_len`, padding.
const MMSGHDR: u64 = 64;

/// Where entry `index` of a sendmmsg vector at `base` is.
pub fn mmsg_entry(base: u64, index: usize) -> u64 {
    base.wrapping_add(index as u64 * MMSGHDR)
}

/// Where an entry's `msg_len` is (after its 56-byte msghdr). Wrapping,
/// as [`mmsg_entry`]: the vector's address is the job's to choose.
pub fn mmsg_len_at(entry: u64) -> u64 {
    entry.wrapping_add(56)
}

/// A sendmmsg under way.
pub struct Batch {
    call: Notification,
    kind: Kind,
    blocking: bool,
    /// The next entry to copy.
    next: usize,
    count: usize,
    /// Entries sent.
    sent: usize,
    /// An entry of a blocking stream socket partly sent, and its address.
    current: Option<(u64, Message)>,
}

enum Advance {
    Answer(Answer),
    /// Go on when the socket is writable.
    Park,
}

impl Batch {
    /// The answer once the batch stops at an error `e`.
    fn stopped(&self, e: i32) -> Advance {
        Advance::Answer(match self.sent {
            0 => Answer::Errno(e),
            sent => Answer::Value(sent as i64),
        })
    }

    /// An entry sent `len` bytes: its msg_len (after the 56-byte msghdr).
    fn record(&mut self, tid: libc::pid_t, entry: u64, len: usize) {
        let _ = memory::write(tid, mmsg_len_at(entry), &(len as u32).to_ne_bytes());
        self.sent += 1;
    }

    /// Sends entries until done, refused, blocked or out of budget.
    fn advance(&mut self, ctx: &mut Context, socket: &OwnedFd) -> Advance {
        let tid = self.call.tid();
        let whole_entries = is_stream(self.kind) && self.blocking;
        if let Some((entry, mut message)) = self.current.take() {
            let before = message.sent;
            let outcome = progress(socket, &mut message);
            ctx.budget.charge_resumed(message.sent - before);
            match outcome {
                Progress::Done(len) => {
                    self.record(tid, entry, len);
                    if len < message.data.len() {
                        return Advance::Answer(Answer::Value(self.sent as i64));
                    }
                }
                Progress::Wait => {
                    self.current = Some((entry, message));
                    return Advance::Park;
                }
                Progress::Failed(e) => return self.stopped(e),
            }
        }
        let pidfd = match ctx.pidfds.pidfd(tid) {
            Ok(fd) => fd,
            Err(e) => return self.stopped(e),
        };
        while self.next < self.count {
            if ctx.budget.spent() {
                // Blocking: the kernel would not return before the end.
                return match self.blocking || self.sent == 0 {
                    true => Advance::Park,
                    false => Advance::Answer(Answer::Value(self.sent as i64)),
                };
            }
            let entry = mmsg_entry(self.call.args[1], self.next);
            self.next += 1;
            let flags = self.call.int(3);
            let mut message = match copy_msghdr(ctx, tid, pidfd, self.kind, entry, flags) {
                Ok(m) => m,
                Err(e) => return self.stopped(e),
            };
            ctx.budget.charge(&message);
            if !ctx.listener.is_live(self.call.id) {
                return Advance::Answer(Answer::Errno(libc::EINTR));
            }
            if !whole_entries {
                match send_now(socket, &mut message) {
                    Ok(len) => self.record(tid, entry, len),
                    Err(e) => return self.stopped(e),
                }
                continue;
            }
            message.blocking = true;
            match progress(socket, &mut message) {
                Progress::Done(len) => {
                    self.record(tid, entry, len);
                    if len < message.data.len() {
                        // An error after part of the entry went: stop there.
                        break;
                    }
                }
                Progress::Wait => {
                    self.current = Some((entry, message));
                    return Advance::Park;
                }
                Progress::Failed(e) => return self.stopped(e),
            }
        }
        Advance::Answer(Answer::Value(self.sent as i64))
    }
}

/// bind(fd, addr, addrlen): trapped when UDP is allowed (TCP ports are
/// Landlock's, but the trap sees every bind).
pub fn bind(ctx: &mut Context, n: &Notification) -> Outcome {
    let tid = n.tid();
    let (socket, copied, address) = match socket_and_address(ctx, n, 1, 2) {
        Ok(found) => found,
        Err(e) => return deny(e),
    };
    // The directory a new pathname socket is made in, open until the bind.
    let mut parent: Option<OwnedFd> = None;
    let bytes: Vec<u8> = match (kind(&socket), &address) {
        (Err(e), _) => return deny(e),
        (Ok(Kind::Inet(protocol)), Address::Inet(sa)) => {
            let permitted = ctx.live.lock().net.may_bind(protocol, sa.ip(), sa.port());
            let shown = Dest::Inet {
                address: *sa,
                protocol: protocol_number(protocol),
            };
            let denied = if permitted { 0 } else { libc::EACCES };
            if let Err(e) = observe(ctx, event_kind::BIND, shown, denied) {
                return deny(e);
            }
            sockaddr::encode_bytes(sa)
        }
        (Ok(Kind::Inet(_)), _) => return deny(libc::EAFNOSUPPORT),
        (Ok(Kind::Unix { .. }), Address::UnixPath(path)) => {
            if let Err(e) = observe(ctx, event_kind::BIND, Dest::Unix(path.clone()), 0) {
                return deny(e);
            }
            // Made here, the socket file must land where the child could
            // make it: beneath an fs_write tree.
            let (dir, name) = match ctx.unix.open_parent(tid, path) {
                Ok(found) => found,
                Err(e) => return deny(e),
            };
            if let Err(e) = refuse_denied(ctx, &dir) {
                return deny(e);
            }
            let Some(bytes) = sockaddr::encode_unix_bytes(&proc_path(&dir, Some(&name))) else {
                return deny(libc::ENAMETOOLONG);
            };
            parent = Some(dir);
            bytes
        }
        // Abstract or unnamed (autobind): reaches nothing outside. The
        // bytes checked, never a second read of the child's memory: a
        // racing thread could have put a path there meanwhile.
        (Ok(Kind::Unix { .. }), Address::UnixOther(_)) => copied,
        (Ok(Kind::Unix { .. }), _) => return deny(libc::EINVAL),
    };
    if !ctx.listener.is_live(n.id) {
        return deny(libc::EINTR);
    }
    // With the job's rights: the directory's permissions and a privileged
    // port's capability are the job's. The new socket file gets the mode
    // the job's umask gives (the kernel applied the host's).
    let job_umask = procfs::umask_of(tid).unwrap_or(0o077);
    let r = match creds::as_job(ctx.job, || {
        let bound = sys::bind(socket.as_raw_fd(), &bytes);
        if let (Ok(()), Some(dir), Address::UnixPath(path)) = (bound, &parent, &address) {
            let (_, name) = crate::fs::paths::split(path);
            if let Ok(name) = std::ffi::CString::new(name) {
                let _ = sys::file::chmod_at(dir.as_raw_fd(), &name, 0o777 & !job_umask);
            }
        }
        bound
    }) {
        Ok(r) => r,
        Err(e) => return deny(e),
    };
    drop(parent);
    match r {
        Ok(()) => Outcome::Answer(Answer::Value(0)),
        Err(e) => deny(e),
    }
}

impl Pending {
    /// The trapped call (for a parked sendmmsg, which goes on reading the
    /// caller's memory; the others need only its id and thread).
    pub fn call(&self) -> Notification {
        match &self.what {
            PendingCall::Batch(batch) => batch.call,
            _ => Notification {
                id: self.id,
                pid: self.tid as u32,
                nr: -1,
                args: [0; 6],
            },
        }
    }

    /// The answer when the call cannot be parked (too many are): EAGAIN,
    /// or for a sendmmsg that sent entries already, their count.
    pub fn unparked(&mut self) -> Answer {
        let PendingCall::Batch(batch) = &mut self.what else {
            return Answer::Errno(libc::EAGAIN);
        };
        if let Some((entry, message)) = batch.current.take() {
            if message.sent > 0 {
                batch.record(self.tid, entry, message.sent);
            }
        }
        match batch.sent {
            0 => Answer::Errno(libc::EAGAIN),
            sent => Answer::Value(sent as i64),
        }
    }

    /// The fd became ready: the answer, or `None` to keep waiting.
    pub fn resume(&mut self, ctx: &mut Context) -> Option<Answer> {
        match &mut self.what {
            PendingCall::Batch(batch) => match batch.advance(ctx, &self.fd) {
                Advance::Answer(answer) => Some(answer),
                Advance::Park => None,
            },
            PendingCall::Connect => Some(connect_result(&self.fd)),
            PendingCall::WallClockSleep => timer::fired(&self.fd).then_some(Answer::Value(0)),
            PendingCall::Send(message) => {
                let before = message.sent;
                let outcome = progress(&self.fd, message);
                ctx.budget.charge_resumed(message.sent - before);
                match outcome {
                    Progress::Done(sent) => Some(Answer::Value(sent as i64)),
                    Progress::Wait => None,
                    Progress::Failed(libc::EPIPE) => {
                        if message.sigpipe {
                            raise_sigpipe(self.tid);
                        }
                        Some(Answer::Errno(libc::EPIPE))
                    }
                    Progress::Failed(e) => Some(Answer::Errno(e)),
                }
            }
            // Asked of the opener again by the supervisor.
            PendingCall::ThroughOpener(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iovec(base: u64, len: usize) -> libc::iovec {
        libc::iovec {
            iov_base: base as usize as *mut libc::c_void,
            iov_len: len,
        }
    }

    #[test]
    fn msghdr_fields_and_lengths() {
        let hdr = Msghdr::of([0x1000, 0xdead_0000_0010, 0x2000, 3, 0x3000, 24, 0]);
        assert_eq!(hdr.name, Some((0x1000, 16)));
        assert_eq!((hdr.iov, hdr.control), ((0x2000, 3), (0x3000, 24)));
        assert_eq!(Msghdr::of([0, 16, 0, 0, 0, 0, 0]).name, None);
        assert_eq!(address_len(0xffff_ffff_0000_0080), Ok(128));
        assert_eq!(address_len(129), Err(libc::EINVAL));
        assert_eq!(iovec_count(1024), Ok(1024));
        assert_eq!(iovec_count(1025), Err(libc::EMSGSIZE));
        assert_eq!(control_len(0x3000, 24), Ok(24));
        assert_eq!(control_len(0, 24), Ok(0));
        assert_eq!(control_len(0, u64::MAX), Err(libc::ENOBUFS));
        assert_eq!(iovecs_of(&[0u8; 40]).len(), 2);
    }

    #[test]
    fn gathered_ranges_are_bounded() {
        let v = [iovec(1, 0), iovec(2, 10), iovec(3, usize::MAX)];
        assert_eq!(gather_ranges(&v, false), Err(libc::EMSGSIZE));
        assert_eq!(
            gather_ranges(&v, true),
            Ok(vec![(2, 10), (3, MAX_DATA - 10)])
        );
        assert_eq!(gather_ranges(&v[..2], false), Ok(vec![(2, 10)]));
    }

    #[test]
    fn mmsg_entries_wrap_at_the_top_of_memory() {
        // fuzz/msghdr found this: a vector the job places at the top of
        // the address space overflowed (a panic with overflow checks).
        let entry = mmsg_entry(u64::MAX - 63, 0);
        assert_eq!(mmsg_len_at(entry), u64::MAX - 7);
        assert_eq!(mmsg_len_at(mmsg_entry(u64::MAX - 31, 0)), 24);
        assert_eq!(mmsg_entry(u64::MAX, 1), 63);
        assert_eq!(mmsg_count(u64::MAX), MAX_MMSG);
        assert_eq!(mmsg_count(1 << 32), 0);
    }

    #[test]
    fn passed_fds_are_found_in_rights_only() {
        let mut control = 28u64.to_ne_bytes().to_vec();
        control.extend(libc::SOL_SOCKET.to_ne_bytes());
        control.extend(libc::SCM_RIGHTS.to_ne_bytes());
        control.extend([0u8; 12]);
        assert_eq!(passed_fd_slots(&control), Ok(vec![16, 20, 24]));
        control[12..16].copy_from_slice(&libc::SCM_CREDENTIALS.to_ne_bytes());
        assert_eq!(passed_fd_slots(&control), Err(libc::EPERM));
    }
}
