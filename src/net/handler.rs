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

    // The handlers themselves, on calls the test makes. A handler reads
    // its caller's memory and duplicates its socket by pid: given the
    // test's own pid and pointers into the test's own memory, it decides
    // and makes the call on sockets the test made and can then look at.
    // The one thing of a real sandbox it needs is a live notification id
    // (every handler checks the caller still waits before it makes the
    // call): a child of the test, blocked in a getppid() that its own
    // seccomp filter traps, provides one.

    use crate::net::spec;
    use crate::net::NetPolicy;
    use crate::supervisor::events::Observer;
    use std::io::Read as _;
    use std::net::{SocketAddr, TcpListener, UdpSocket};
    use std::os::fd::FromRawFd;
    use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
    use std::os::unix::net::UnixListener;
    use std::path::{Path, PathBuf};
    use std::rc::Rc;

    /// A child of the test blocked in a trapped getppid(): its
    /// notification's id is live on `listener` while the child waits.
    struct Trapped {
        pid: libc::pid_t,
        listener: Listener,
        id: u64,
    }

    #[allow(unsafe_code)]
    impl Trapped {
        fn new() -> Trapped {
            let filter = [
                // A = the syscall number; getppid is trapped, all else runs.
                libc::sock_filter {
                    code: 0x20,
                    jt: 0,
                    jf: 0,
                    k: 0,
                },
                libc::sock_filter {
                    code: 0x15,
                    jt: 0,
                    jf: 1,
                    k: libc::SYS_getppid as u32,
                },
                libc::sock_filter {
                    code: 0x06,
                    jt: 0,
                    jf: 0,
                    k: crate::sys::seccomp::SECCOMP_RET_USER_NOTIF,
                },
                libc::sock_filter {
                    code: 0x06,
                    jt: 0,
                    jf: 0,
                    k: libc::SECCOMP_RET_ALLOW,
                },
            ];
            let prog = libc::sock_fprog {
                len: filter.len() as u16,
                filter: filter.as_ptr() as *mut libc::sock_filter,
            };
            let (read, write) = sys::pipe().unwrap();
            // SAFETY: the child makes raw syscalls only, on data made
            // before the fork, and never returns.
            let pid = unsafe { libc::fork() };
            assert!(pid >= 0, "fork failed");
            if pid == 0 {
                // SAFETY: raw syscalls in the child.
                unsafe {
                    // Only the pipe kept (as fd 0): the child must not
                    // hold other tests' sockets open.
                    libc::dup2(write.as_raw_fd(), 0);
                    libc::syscall(libc::SYS_close_range, 1, u32::MAX, 0);
                    let mut fd: i32 = -1;
                    if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 {
                        fd = libc::syscall(
                            libc::SYS_seccomp,
                            crate::sys::seccomp::SECCOMP_SET_MODE_FILTER,
                            crate::sys::seccomp::SECCOMP_FILTER_FLAG_NEW_LISTENER,
                            &prog,
                        ) as i32;
                    }
                    libc::write(0, &fd as *const i32 as *const libc::c_void, 4);
                    libc::syscall(libc::SYS_getppid);
                    libc::_exit(0);
                }
            }
            drop(write);
            let mut word = [0u8; 4];
            assert_eq!(sys::read(read.as_raw_fd(), &mut word), Ok(4));
            let fd = i32::from_ne_bytes(word);
            let pidfd = process::pidfd(pid, 0).unwrap();
            let mut trapped = Trapped {
                pid,
                listener: Listener::new(process::dup_from(pidfd.as_raw_fd(), fd).unwrap()),
                id: 0,
            };
            let mut ready = [libc::pollfd {
                fd: trapped.listener.raw(),
                events: libc::POLLIN,
                revents: 0,
            }];
            assert_eq!(sys::poll(&mut ready, 10_000), Ok(1), "no trapped call");
            let n = trapped
                .listener
                .receive()
                .unwrap()
                .expect("the call vanished");
            assert_eq!(n.nr, libc::SYS_getppid);
            trapped.id = n.id;
            trapped
        }

        /// The child gone: its call's id is no longer live.
        fn end(&mut self) {
            if self.pid > 0 {
                // SAFETY: our own child.
                unsafe {
                    libc::kill(self.pid, libc::SIGKILL);
                    libc::waitpid(self.pid, std::ptr::null_mut(), 0);
                }
                self.pid = 0;
            }
        }
    }

    impl Drop for Trapped {
        fn drop(&mut self) {
            self.end();
        }
    }

    /// What a handler's context holds, for calls of the test itself.
    struct Harness {
        live: Mutex<Live>,
        unix: UnixGate,
        trapped: Trapped,
        pidfds: PidfdCache,
        budget: SendBudget,
        events: RefCell<Events>,
        job: Arc<JobCredentials>,
    }

    type Handler = fn(&mut Context, &Notification) -> Outcome;

    impl Harness {
        /// A sandbox whose net_allow rules are `allow`.
        fn new(allow: &[&str]) -> Harness {
            Harness::with(allow, None, &[])
        }

        fn with(allow: &[&str], bind: Option<&str>, fs_write: &[PathBuf]) -> Harness {
            let rules: Vec<spec::BindRule> = bind
                .map(|spec| spec::parse_bind("net_bind", spec).unwrap())
                .into_iter()
                .collect();
            let policy = NetPolicy {
                allow: allow
                    .iter()
                    .map(|rule| spec::parse_rule("net_allow", rule).unwrap())
                    .collect(),
                deny: Vec::new(),
                bind: rules.first().map(|rule| rule.ports.clone()),
                bind_rules: rules,
            };
            let live = Live {
                net: crate::net::resolve(&policy).unwrap(),
                protocols: policy.protocols(),
                tracks_processes: false,
                counts_forks: false,
                max_processes: None,
                samples_memory: false,
                max_memory: None,
                traps_opens: false,
                private_proc: false,
                fs_denied: Default::default(),
            };
            Harness {
                live: Mutex::new(live),
                unix: UnixGate::new(fs_write),
                trapped: Trapped::new(),
                pidfds: PidfdCache::default(),
                budget: SendBudget::default(),
                events: RefCell::new(Events::new()),
                job: Arc::new(JobCredentials::of_this_thread().unwrap()),
            }
        }

        /// The trapped call as the test's own: its id, the test's pid.
        fn notification(&self, nr: i64, args: [u64; 6]) -> Notification {
            Notification {
                id: self.trapped.id,
                pid: std::process::id(),
                nr,
                args,
            }
        }

        fn context<'a>(&'a mut self, n: &'a Notification) -> Context<'a> {
            Context {
                call: n,
                live: &self.live,
                unix: &self.unix,
                listener: &self.trapped.listener,
                pidfds: &mut self.pidfds,
                budget: &mut self.budget,
                events: &self.events,
                job: &self.job,
            }
        }

        fn call(&mut self, handler: Handler, nr: i64, args: [u64; 6]) -> Outcome {
            let n = self.notification(nr, args);
            handler(&mut self.context(&n), &n)
        }

        fn resume(&mut self, pending: &mut Pending) -> Option<Answer> {
            let n = pending.call();
            pending.resume(&mut self.context(&n))
        }

        /// The answer the caller gets: at once, or once a parked call's
        /// fd is ready.
        fn settle(&mut self, outcome: Outcome) -> Answer {
            match outcome {
                Outcome::Answer(answer) => answer,
                Outcome::Pending(mut pending) => loop {
                    let mut ready = [libc::pollfd {
                        fd: pending.fd.as_raw_fd(),
                        events: pending.events as i16,
                        revents: 0,
                    }];
                    assert_eq!(sys::poll(&mut ready, 10_000), Ok(1), "never ready");
                    if let Some(answer) = self.resume(&mut pending) {
                        return answer;
                    }
                },
                Outcome::ThroughOpener(_) => panic!("sent to the opener"),
            }
        }

        fn connect(&mut self, fd: RawFd, address: &[u8]) -> Answer {
            let outcome = self.call(connect, libc::SYS_connect, args3(fd, address));
            self.settle(outcome)
        }

        fn bind(&mut self, fd: RawFd, address: &[u8]) -> Answer {
            let outcome = self.call(bind, libc::SYS_bind, args3(fd, address));
            self.settle(outcome)
        }

        fn sendto(&mut self, fd: RawFd, data: &[u8], flags: i32, to: Option<&[u8]>) -> Answer {
            let (to, to_len) = to.map_or((0, 0), |a| (a.as_ptr() as u64, a.len() as u64));
            let args = [
                fd as u64,
                data.as_ptr() as u64,
                data.len() as u64,
                flags as u32 as u64,
                to,
                to_len,
            ];
            let outcome = self.call(sendto, libc::SYS_sendto, args);
            self.settle(outcome)
        }

        /// The events logged (denials), oldest first.
        fn logged(&self) -> Vec<Event> {
            let mut events = self.events.borrow_mut();
            std::iter::from_fn(|| events.pop().map(|(event, _)| event)).collect()
        }
    }

    /// (fd, address, length) arguments.
    fn args3(fd: RawFd, address: &[u8]) -> [u64; 6] {
        [
            fd as u64,
            address.as_ptr() as u64,
            address.len() as u64,
            0,
            0,
            0,
        ]
    }

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    fn bytes_of(address: SocketAddr) -> Vec<u8> {
        sockaddr::encode_bytes(&address)
    }

    #[allow(unsafe_code)]
    fn socket(domain: i32, kind: i32) -> OwnedFd {
        // SAFETY: plain call.
        let fd = unsafe { libc::socket(domain, kind | libc::SOCK_CLOEXEC, 0) };
        assert!(fd >= 0, "socket: {}", sys::errno());
        // SAFETY: just made, ours.
        unsafe { OwnedFd::from_raw_fd(fd) }
    }

    fn tcp() -> OwnedFd {
        socket(libc::AF_INET, libc::SOCK_STREAM)
    }

    /// The socket's peer, or the errno of getpeername (ENOTCONN).
    #[allow(unsafe_code)]
    fn peer(fd: &OwnedFd) -> Result<Address, i32> {
        let mut storage = [0u8; 128];
        let mut len = storage.len() as libc::socklen_t;
        // SAFETY: storage has room for len bytes.
        let r = unsafe {
            libc::getpeername(
                fd.as_raw_fd(),
                storage.as_mut_ptr() as *mut libc::sockaddr,
                &mut len,
            )
        };
        if r != 0 {
            return Err(sys::errno());
        }
        sockaddr::parse(&storage[..len as usize])
    }

    #[allow(unsafe_code)]
    fn local(fd: &OwnedFd) -> Address {
        let mut storage = [0u8; 128];
        let mut len = storage.len() as libc::socklen_t;
        // SAFETY: storage has room for len bytes.
        let r = unsafe {
            libc::getsockname(
                fd.as_raw_fd(),
                storage.as_mut_ptr() as *mut libc::sockaddr,
                &mut len,
            )
        };
        assert_eq!(r, 0);
        sockaddr::parse(&storage[..len as usize]).unwrap()
    }

    fn server() -> (TcpListener, u16) {
        let server = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = server.local_addr().unwrap().port();
        (server, port)
    }

    fn receiver() -> (UdpSocket, u16) {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        let port = socket.local_addr().unwrap().port();
        (socket, port)
    }

    /// Whether a datagram is waiting (loopback delivers within the send).
    fn nothing_waiting(socket: &UdpSocket) -> bool {
        socket.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 16];
        let empty = socket.recv(&mut buf).is_err();
        socket.set_nonblocking(false).unwrap();
        empty
    }

    /// A fresh directory of the test's.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sandlock-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn unix_address(path: &[u8]) -> Vec<u8> {
        let mut bytes = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
        bytes.extend_from_slice(path);
        bytes.push(0);
        bytes
    }

    fn path_bytes(path: &Path) -> &[u8] {
        use std::os::unix::ffi::OsStrExt;
        path.as_os_str().as_bytes()
    }

    #[test]
    fn an_allowed_connect_is_made_on_the_callers_own_socket() {
        let (server, port) = server();
        let mut sandbox = Harness::new(&[&format!("tcp://127.0.0.1:{port}")]);
        let socket = tcp();
        let to = addr(&format!("127.0.0.1:{port}"));
        assert_eq!(
            sandbox.connect(socket.as_raw_fd(), &bytes_of(to)),
            Answer::Value(0)
        );
        // Made on a duplicate, which shares the caller's socket.
        assert_eq!(peer(&socket), Ok(Address::Inet(to)));
        assert!(server.accept().is_ok());
        // The duplicate was made non-blocking for the call only: the
        // caller's socket blocks as it did.
        assert_eq!(
            sys::status_flags(socket.as_raw_fd()).unwrap() & libc::O_NONBLOCK,
            0
        );
        // Allowed and not observed: nothing logged.
        assert!(sandbox.logged().is_empty());
    }

    #[test]
    fn a_port_outside_the_rules_range_is_refused_and_its_edge_is_not() {
        let (_server, port) = server();
        // The listener's port is the range's top edge.
        let rule = format!("tcp://127.0.0.1:{}-{port}", port - 3);
        let mut sandbox = Harness::new(&[&rule]);
        for outside in [port + 1, port - 4] {
            let socket = tcp();
            let to = bytes_of(addr(&format!("127.0.0.1:{outside}")));
            assert_eq!(
                sandbox.connect(socket.as_raw_fd(), &to),
                Answer::Errno(libc::EACCES),
                "port {outside}"
            );
            assert_eq!(peer(&socket), Err(libc::ENOTCONN));
        }
        let socket = tcp();
        let to = bytes_of(addr(&format!("127.0.0.1:{port}")));
        assert_eq!(sandbox.connect(socket.as_raw_fd(), &to), Answer::Value(0));
    }

    #[test]
    fn an_address_outside_the_rules_network_is_refused() {
        let (_server, port) = server();
        let mut sandbox = Harness::new(&["tcp://127.0.0.1"]);
        // 127.0.0.2 is this host too, so only the policy stops it.
        for to in [format!("127.0.0.2:{port}"), format!("10.1.2.3:{port}")] {
            let socket = tcp();
            assert_eq!(
                sandbox.connect(socket.as_raw_fd(), &bytes_of(addr(&to))),
                Answer::Errno(libc::EACCES),
                "{to}"
            );
            assert_eq!(peer(&socket), Err(libc::ENOTCONN));
        }
    }

    #[test]
    fn a_udp_rule_does_not_let_a_tcp_socket_connect() {
        let (_server, port) = server();
        let mut sandbox = Harness::new(&[&format!("udp://127.0.0.1:{port}")]);
        let socket = tcp();
        let to = bytes_of(addr(&format!("127.0.0.1:{port}")));
        assert_eq!(
            sandbox.connect(socket.as_raw_fd(), &to),
            Answer::Errno(libc::EACCES)
        );
        // The same rule does let a UDP socket connect there.
        let udp = socket_udp();
        assert_eq!(sandbox.connect(udp.as_raw_fd(), &to), Answer::Value(0));
    }

    fn socket_udp() -> OwnedFd {
        socket(libc::AF_INET, libc::SOCK_DGRAM)
    }

    #[test]
    fn an_ipv4_mapped_ipv6_destination_is_checked_as_its_ipv4_address() {
        let (_server, port) = server();
        let mut sandbox = Harness::new(&[&format!("tcp://127.0.0.1:{port}")]);
        let allowed = addr(&format!("[::ffff:127.0.0.1]:{port}"));
        let refused = addr(&format!("[::ffff:127.0.0.2]:{port}"));
        let socket = socket(libc::AF_INET6, libc::SOCK_STREAM);
        assert_eq!(
            sandbox.connect(socket.as_raw_fd(), &bytes_of(refused)),
            Answer::Errno(libc::EACCES)
        );
        assert_eq!(
            sandbox.connect(socket.as_raw_fd(), &bytes_of(allowed)),
            Answer::Value(0)
        );
        assert_eq!(peer(&socket), Ok(Address::Inet(allowed)));
    }

    #[test]
    fn the_unspecified_address_is_checked_as_the_loopback_it_reaches() {
        let (_server, port) = server();
        // Connecting to 0.0.0.0 reaches this host: a rule for elsewhere
        // does not cover it, one for the loopback address does.
        let mut elsewhere = Harness::new(&[&format!("tcp://10.0.0.0/8:{port}")]);
        let to = bytes_of(addr(&format!("0.0.0.0:{port}")));
        assert_eq!(
            elsewhere.connect(tcp().as_raw_fd(), &to),
            Answer::Errno(libc::EACCES)
        );
        let mut loopback = Harness::new(&[&format!("tcp://127.0.0.1:{port}")]);
        assert_eq!(loopback.connect(tcp().as_raw_fd(), &to), Answer::Value(0));
    }

    #[test]
    fn malformed_addresses_are_refused_before_any_connect() {
        let (_server, port) = server();
        let mut sandbox = Harness::new(&["tcp://127.0.0.1"]);
        let whole = bytes_of(addr(&format!("127.0.0.1:{port}")));
        let mut oversized = whole.clone();
        oversized.resize(sockaddr::MAX_LEN + 1, 0);
        let mut packet = whole.clone();
        packet[..2].copy_from_slice(&(libc::AF_PACKET as u16).to_ne_bytes());
        let cases: [(&str, &[u8], i32); 6] = [
            ("a sockaddr_in cut short", &whole[..15], libc::EINVAL),
            ("a lone byte", &whole[..1], libc::EINVAL),
            ("longer than any sockaddr", &oversized, libc::EINVAL),
            (
                "a unix address",
                &unix_address(b"/tmp/x"),
                libc::EAFNOSUPPORT,
            ),
            ("a packet address", &packet, libc::EAFNOSUPPORT),
            (
                "an abstract unix address",
                &[1, 0, 0, b'x'],
                libc::EAFNOSUPPORT,
            ),
        ];
        for (what, bytes, errno) in cases {
            let socket = tcp();
            assert_eq!(
                sandbox.connect(socket.as_raw_fd(), bytes),
                Answer::Errno(errno),
                "{what}"
            );
            assert_eq!(peer(&socket), Err(libc::ENOTCONN), "{what}");
        }
        // An address the caller cannot read.
        let socket = tcp();
        let args = [socket.as_raw_fd() as u64, 8, 16, 0, 0, 0];
        let outcome = sandbox.call(connect, libc::SYS_connect, args);
        assert_eq!(sandbox.settle(outcome), Answer::Errno(libc::EFAULT));
    }

    #[test]
    fn a_short_ipv6_address_is_einval_and_the_scope_less_form_is_taken() {
        let (_server, port) = server();
        let mut sandbox = Harness::new(&[&format!("tcp://127.0.0.1:{port}")]);
        let v6 = bytes_of(addr(&format!("[::ffff:127.0.0.1]:{port}")));
        let socket = socket(libc::AF_INET6, libc::SOCK_STREAM);
        assert_eq!(
            sandbox.connect(socket.as_raw_fd(), &v6[..23]),
            Answer::Errno(libc::EINVAL)
        );
        // The 24-byte RFC 2133 form, without the scope id, is a whole one.
        assert_eq!(
            sandbox.connect(socket.as_raw_fd(), &v6[..24]),
            Answer::Value(0)
        );
    }

    #[test]
    fn af_unspec_dissolves_a_connection_whatever_the_rules() {
        let (receiver, port) = receiver();
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        udp.connect(receiver.local_addr().unwrap()).unwrap();
        let socket: OwnedFd = udp.into();
        assert!(matches!(peer(&socket), Ok(Address::Inet(sa)) if sa.port() == port));
        // No rule at all: a disconnect reaches nothing.
        let mut sandbox = Harness::new(&[]);
        let unspec = [0u8; 16];
        assert_eq!(
            sandbox.connect(socket.as_raw_fd(), &unspec),
            Answer::Value(0)
        );
        assert_eq!(peer(&socket), Err(libc::ENOTCONN));
    }

    #[test]
    fn a_refused_connect_is_logged_with_the_destination_it_named() {
        let mut sandbox = Harness::new(&["tcp://127.0.0.1:1"]);
        let to = addr("127.0.0.1:2");
        assert_eq!(
            sandbox.connect(tcp().as_raw_fd(), &bytes_of(to)),
            Answer::Errno(libc::EACCES)
        );
        let logged = sandbox.logged();
        assert_eq!(logged.len(), 1);
        let event = &logged[0];
        assert_eq!(event.kind, event_kind::CONNECT);
        assert_eq!(event.nr, libc::SYS_connect);
        assert_eq!(event.pid, std::process::id() as libc::pid_t);
        assert_eq!(event.denied, libc::EACCES);
        assert_eq!(event.verdict, Verdict::Deny(libc::EACCES));
        assert_eq!(
            event.destination,
            Some(Dest::Inet {
                address: to,
                protocol: libc::IPPROTO_TCP
            })
        );
    }

    /// An observer that answers every event with one verdict, counting.
    struct Fixed(Verdict, Rc<std::cell::Cell<usize>>);

    impl Observer for Fixed {
        fn observe(&mut self, _: &Event) -> Verdict {
            self.1.set(self.1.get() + 1);
            self.0
        }
    }

    fn observed(sandbox: &Harness, verdict: Verdict) -> Rc<std::cell::Cell<usize>> {
        let seen = Rc::new(std::cell::Cell::new(0));
        sandbox
            .events
            .borrow_mut()
            .set_observer(event_kind::CONNECT, Box::new(Fixed(verdict, seen.clone())));
        seen
    }

    #[test]
    fn an_observer_may_refuse_an_allowed_connect_but_not_allow_a_refused_one() {
        let (_server, port) = server();
        let allowed = bytes_of(addr(&format!("127.0.0.1:{port}")));
        let refused = bytes_of(addr(&format!("127.0.0.2:{port}")));
        let mut sandbox = Harness::new(&[&format!("tcp://127.0.0.1:{port}")]);

        let seen = observed(&sandbox, Verdict::Deny(libc::ECONNABORTED));
        let socket = tcp();
        assert_eq!(
            sandbox.connect(socket.as_raw_fd(), &allowed),
            Answer::Errno(libc::ECONNABORTED)
        );
        assert_eq!(peer(&socket), Err(libc::ENOTCONN));
        assert_eq!(seen.get(), 1);

        let seen = observed(&sandbox, Verdict::Allow);
        assert_eq!(
            sandbox.connect(tcp().as_raw_fd(), &refused),
            Answer::Errno(libc::EACCES)
        );
        assert_eq!(seen.get(), 1);

        // Kill: the call fails and the sandbox is marked to die.
        observed(&sandbox, Verdict::Kill);
        assert_eq!(
            sandbox.connect(tcp().as_raw_fd(), &allowed),
            Answer::Errno(libc::EPERM)
        );
        assert!(sandbox.events.borrow().kill);
    }

    #[test]
    fn a_call_whose_caller_stopped_waiting_is_not_made() {
        let (server, port) = server();
        server.set_nonblocking(true).unwrap();
        let mut sandbox = Harness::new(&[&format!("tcp://127.0.0.1:{port}")]);
        sandbox.trapped.end();
        let socket = tcp();
        let to = bytes_of(addr(&format!("127.0.0.1:{port}")));
        assert_eq!(
            sandbox.connect(socket.as_raw_fd(), &to),
            Answer::Errno(libc::EINTR)
        );
        assert_eq!(peer(&socket), Err(libc::ENOTCONN));
        assert!(server.accept().is_err(), "a connection came");
    }

    #[test]
    fn an_fd_argument_is_read_as_an_int() {
        let (_server, port) = server();
        let mut sandbox = Harness::new(&[&format!("tcp://127.0.0.1:{port}")]);
        let socket = tcp();
        let to = bytes_of(addr(&format!("127.0.0.1:{port}")));
        // The kernel reads an int: nothing hides in the high half.
        let mut args = args3(socket.as_raw_fd(), &to);
        args[0] |= 0xdead_beef << 32;
        let outcome = sandbox.call(connect, libc::SYS_connect, args);
        assert_eq!(sandbox.settle(outcome), Answer::Value(0));
        assert!(peer(&socket).is_ok());
    }

    #[test]
    fn a_connect_on_what_is_not_a_socket_is_refused_as_the_kernel_would() {
        let mut sandbox = Harness::new(&["tcp://127.0.0.1"]);
        let to = bytes_of(addr("127.0.0.1:1"));
        let (read, _write) = sys::pipe().unwrap();
        assert_eq!(
            sandbox.connect(read.as_raw_fd(), &to),
            Answer::Errno(libc::ENOTSOCK)
        );
        assert_eq!(sandbox.connect(i32::MAX, &to), Answer::Errno(libc::EBADF));
    }

    #[test]
    fn an_allowed_connect_the_peer_refuses_answers_econnrefused() {
        // Bound, not listening: the kernel refuses the connect.
        let closed = tcp();
        let here = bytes_of(addr("127.0.0.1:0"));
        sys::bind(closed.as_raw_fd(), &here).unwrap();
        let Address::Inet(at) = local(&closed) else {
            unreachable!()
        };
        let mut sandbox = Harness::new(&[&format!("tcp://127.0.0.1:{}", at.port())]);
        assert_eq!(
            sandbox.connect(tcp().as_raw_fd(), &bytes_of(at)),
            Answer::Errno(libc::ECONNREFUSED)
        );
    }

    #[test]
    fn unix_connects_to_abstract_unnamed_or_inet_addresses_are_refused() {
        let mut sandbox = Harness::new(&[]);
        let abstract_name = [&(libc::AF_UNIX as u16).to_ne_bytes()[..], b"\0sandlock"].concat();
        let unnamed = (libc::AF_UNIX as u16).to_ne_bytes();
        let inet = bytes_of(addr("127.0.0.1:1"));
        for (what, bytes, errno) in [
            ("abstract", &abstract_name[..], libc::EPERM),
            ("unnamed", &unnamed[..], libc::EPERM),
            ("inet", &inet[..], libc::EINVAL),
        ] {
            let socket = socket(libc::AF_UNIX, libc::SOCK_STREAM);
            assert_eq!(
                sandbox.connect(socket.as_raw_fd(), bytes),
                Answer::Errno(errno),
                "{what}"
            );
        }
    }

    #[test]
    fn a_unix_connect_goes_to_the_opener_only_for_a_socket_beneath_fs_write() {
        let dir = scratch("unix-connect");
        let (allowed, other) = (dir.join("allowed"), dir.join("other"));
        std::fs::create_dir(&allowed).unwrap();
        std::fs::create_dir(&other).unwrap();
        let inside = allowed.join("s");
        let outside = other.join("s");
        let _servers = (
            UnixListener::bind(&inside).unwrap(),
            UnixListener::bind(&outside).unwrap(),
        );
        std::fs::write(allowed.join("file"), b"").unwrap();
        let mut sandbox = Harness::with(&[], None, std::slice::from_ref(&allowed));
        let connect_to = |sandbox: &mut Harness, path: &Path| {
            let socket = socket(libc::AF_UNIX, libc::SOCK_STREAM);
            let to = unix_address(path_bytes(path));
            sandbox.call(connect, libc::SYS_connect, args3(socket.as_raw_fd(), &to))
        };

        let Outcome::ThroughOpener(Through::Connect(call)) = connect_to(&mut sandbox, &inside)
        else {
            panic!("not handed to the opener");
        };
        // The opener is given the socket file that was checked.
        let target =
            std::fs::metadata(format!("/proc/self/fd/{}", call.target.as_raw_fd())).unwrap();
        let file = std::fs::metadata(&inside).unwrap();
        assert!(target.file_type().is_socket());
        assert_eq!((target.dev(), target.ino()), (file.dev(), file.ino()));
        assert!(call.blocking);

        for (path, errno) in [
            (outside, libc::EACCES),
            (allowed.join("file"), libc::ECONNREFUSED),
            (allowed.join("missing"), libc::ENOENT),
        ] {
            let outcome = connect_to(&mut sandbox, &path);
            assert_eq!(sandbox.settle(outcome), Answer::Errno(errno), "{path:?}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_udp_bind_to_an_ephemeral_port_needs_no_bind_rule_but_tcp_does() {
        let mut sandbox = Harness::new(&["127.0.0.1"]);
        let any_port = bytes_of(addr("127.0.0.1:0"));
        let udp = socket_udp();
        assert_eq!(sandbox.bind(udp.as_raw_fd(), &any_port), Answer::Value(0));
        assert!(matches!(local(&udp), Address::Inet(sa) if sa.port() != 0));
        let tcp = tcp();
        assert_eq!(
            sandbox.bind(tcp.as_raw_fd(), &any_port),
            Answer::Errno(libc::EACCES)
        );
        assert!(matches!(local(&tcp), Address::Inet(sa) if sa.port() == 0));
    }

    #[test]
    fn a_bind_to_a_port_outside_net_bind_is_refused() {
        // A port free now (the test frees it for the bind).
        let free = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = free.local_addr().unwrap().port();
        drop(free);
        let mut sandbox = Harness::with(&["127.0.0.1"], Some(&port.to_string()), &[]);
        let other = bytes_of(addr(&format!("127.0.0.1:{}", port ^ 1)));
        let udp = socket_udp();
        assert_eq!(
            sandbox.bind(udp.as_raw_fd(), &other),
            Answer::Errno(libc::EACCES)
        );
        assert!(matches!(local(&udp), Address::Inet(sa) if sa.port() == 0));
        let logged = sandbox.logged();
        assert_eq!(logged.len(), 1);
        assert_eq!(logged[0].kind, event_kind::BIND);
        let named = bytes_of(addr(&format!("127.0.0.1:{port}")));
        assert_eq!(sandbox.bind(udp.as_raw_fd(), &named), Answer::Value(0));
        assert!(matches!(local(&udp), Address::Inet(sa) if sa.port() == port));
    }

    #[test]
    fn a_unix_bind_makes_its_socket_file_only_beneath_fs_write() {
        let dir = scratch("unix-bind");
        let allowed = dir.join("allowed");
        std::fs::create_dir(&allowed).unwrap();
        let mut sandbox = Harness::with(&[], None, std::slice::from_ref(&allowed));

        let socket = socket(libc::AF_UNIX, libc::SOCK_STREAM);
        let inside = allowed.join("s");
        let to = unix_address(path_bytes(&inside));
        assert_eq!(sandbox.bind(socket.as_raw_fd(), &to), Answer::Value(0));
        let made = std::fs::metadata(&inside).unwrap();
        assert!(made.file_type().is_socket());
        // With the mode the caller's umask gives, not the host's.
        let umask = procfs::umask_of(std::process::id() as libc::pid_t).unwrap();
        assert_eq!(made.permissions().mode() & 0o777, 0o777 & !umask);

        let outside = dir.join("s");
        let socket = socket_unix();
        let to = unix_address(path_bytes(&outside));
        assert_eq!(
            sandbox.bind(socket.as_raw_fd(), &to),
            Answer::Errno(libc::EACCES)
        );
        assert!(!outside.exists());
        // A name that is no new file's.
        let to = unix_address(path_bytes(&allowed.join("..")));
        assert_eq!(
            sandbox.bind(socket_unix().as_raw_fd(), &to),
            Answer::Errno(libc::EINVAL)
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn socket_unix() -> OwnedFd {
        socket(libc::AF_UNIX, libc::SOCK_STREAM)
    }

    #[test]
    fn an_abstract_unix_bind_is_made_as_named() {
        let mut sandbox = Harness::new(&[]);
        let name = format!("\0sandlock-test-{}", std::process::id());
        let mut to = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
        to.extend_from_slice(name.as_bytes());
        let socket = socket_unix();
        assert_eq!(sandbox.bind(socket.as_raw_fd(), &to), Answer::Value(0));
        let bound = format!("sandlock-test-{}", std::process::id());
        assert_eq!(local(&socket), Address::UnixOther(bound.into_bytes()));
    }

    #[test]
    fn a_datagram_goes_only_to_an_allowed_destination() {
        let (receiver, port) = receiver();
        let mut sandbox = Harness::new(&[&format!("udp://127.0.0.1:{port}")]);
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = bytes_of(receiver.local_addr().unwrap());
        assert_eq!(
            sandbox.sendto(sender.as_raw_fd(), b"hello", 0, Some(&to)),
            Answer::Value(5)
        );
        let mut buf = [0u8; 16];
        let (len, from) = receiver.recv_from(&mut buf).unwrap();
        assert_eq!(
            (&buf[..len], from),
            (&b"hello"[..], sender.local_addr().unwrap())
        );

        let mut elsewhere = Harness::new(&[&format!("udp://127.0.0.1:{}", port ^ 1)]);
        assert_eq!(
            elsewhere.sendto(sender.as_raw_fd(), b"hello", 0, Some(&to)),
            Answer::Errno(libc::EACCES)
        );
        assert!(nothing_waiting(&receiver));
    }

    #[test]
    fn a_refused_send_flag_fails_before_the_destination_is_shown() {
        let (receiver, _) = receiver();
        let mut sandbox = Harness::new(&[]);
        let seen = observed(&sandbox, Verdict::Allow);
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = bytes_of(receiver.local_addr().unwrap());
        // A refused destination too: the flag is what answers.
        assert_eq!(
            sandbox.sendto(sender.as_raw_fd(), b"x", libc::MSG_PEEK, Some(&to)),
            Answer::Errno(libc::EINVAL)
        );
        assert_eq!(seen.get(), 0);
        assert!(sandbox.logged().is_empty());
        assert!(nothing_waiting(&receiver));
    }

    #[test]
    fn a_datagram_larger_than_the_copy_bound_is_emsgsize() {
        let (receiver, port) = receiver();
        let mut sandbox = Harness::new(&[&format!("udp://127.0.0.1:{port}")]);
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = bytes_of(receiver.local_addr().unwrap());
        let data = vec![0u8; MAX_DATA + 1];
        assert_eq!(
            sandbox.sendto(sender.as_raw_fd(), &data, 0, Some(&to)),
            Answer::Errno(libc::EMSGSIZE)
        );
        assert!(nothing_waiting(&receiver));
    }

    #[test]
    fn af_unspec_as_a_send_destination_sends_to_the_connected_peer() {
        let (receiver, _) = receiver();
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        sender.connect(receiver.local_addr().unwrap()).unwrap();
        let mut sandbox = Harness::new(&[]);
        assert_eq!(
            sandbox.sendto(sender.as_raw_fd(), b"peer", 0, Some(&[0u8; 16])),
            Answer::Value(4)
        );
        let mut buf = [0u8; 16];
        let len = receiver.recv(&mut buf).unwrap();
        assert_eq!(&buf[..len], b"peer");
    }

    fn msghdr(name: Option<&[u8]>, iov: &[libc::iovec], control: &[u8]) -> libc::msghdr {
        #[allow(unsafe_code)]
        // SAFETY: all-zero is a valid msghdr.
        let mut hdr: libc::msghdr = unsafe { std::mem::zeroed() };
        if let Some(name) = name {
            hdr.msg_name = name.as_ptr() as *mut libc::c_void;
            hdr.msg_namelen = name.len() as u32;
        }
        hdr.msg_iov = iov.as_ptr() as *mut libc::iovec;
        hdr.msg_iovlen = iov.len();
        if !control.is_empty() {
            hdr.msg_control = control.as_ptr() as *mut libc::c_void;
            hdr.msg_controllen = control.len();
        }
        hdr
    }

    #[test]
    fn a_sendmsg_gathers_its_pieces_and_checks_inet_control() {
        let (receiver, port) = receiver();
        let mut sandbox = Harness::new(&[&format!("udp://127.0.0.1:{port}")]);
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = bytes_of(receiver.local_addr().unwrap());
        let (a, b) = (b"sand".to_vec(), b"lock".to_vec());
        let iov = [iovec(a.as_ptr() as u64, 4), iovec(b.as_ptr() as u64, 4)];
        let hdr = msghdr(Some(&to), &iov, &[]);
        let args = [
            sender.as_raw_fd() as u64,
            &hdr as *const _ as u64,
            0,
            0,
            0,
            0,
        ];
        let outcome = sandbox.call(sendmsg, libc::SYS_sendmsg, args);
        assert_eq!(sandbox.settle(outcome), Answer::Value(8));
        let mut buf = [0u8; 16];
        let len = receiver.recv(&mut buf).unwrap();
        assert_eq!(&buf[..len], b"sandlock");

        // Passing fds means nothing to an inet socket.
        let mut rights = 20u64.to_ne_bytes().to_vec();
        rights.extend(libc::SOL_SOCKET.to_ne_bytes());
        rights.extend(libc::SCM_RIGHTS.to_ne_bytes());
        rights.extend(0i32.to_ne_bytes());
        rights.extend([0u8; 4]);
        let hdr = msghdr(Some(&to), &iov, &rights);
        let args = [
            sender.as_raw_fd() as u64,
            &hdr as *const _ as u64,
            0,
            0,
            0,
            0,
        ];
        let outcome = sandbox.call(sendmsg, libc::SYS_sendmsg, args);
        assert_eq!(sandbox.settle(outcome), Answer::Errno(libc::EINVAL));
        assert!(nothing_waiting(&receiver));
    }

    /// A sendmmsg vector of one-iovec datagrams to `to[i]`.
    struct Vector {
        hdrs: Vec<libc::mmsghdr>,
        _iov: Vec<libc::iovec>,
    }

    const UNWRITTEN: u32 = 0xdead;

    fn vector(data: &[u8], to: &[&[u8]]) -> Vector {
        let iov = vec![iovec(data.as_ptr() as u64, data.len()); to.len()];
        let hdrs = to
            .iter()
            .enumerate()
            .map(|(i, name)| libc::mmsghdr {
                msg_hdr: msghdr(Some(name), &iov[i..i + 1], &[]),
                msg_len: UNWRITTEN,
            })
            .collect();
        Vector { hdrs, _iov: iov }
    }

    fn mmsg_args(fd: RawFd, vector: &Vector, flags: i32) -> [u64; 6] {
        [
            fd as u64,
            vector.hdrs.as_ptr() as u64,
            vector.hdrs.len() as u64,
            flags as u32 as u64,
            0,
            0,
        ]
    }

    fn lens(vector: &Vector) -> Vec<u32> {
        vector.hdrs.iter().map(|h| h.msg_len).collect()
    }

    #[test]
    fn a_sendmmsg_stops_at_its_first_refused_entry() {
        let (receiver, port) = receiver();
        let mut sandbox = Harness::new(&[&format!("udp://127.0.0.1:{port}")]);
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        let good = bytes_of(receiver.local_addr().unwrap());
        let bad = bytes_of(addr(&format!("127.0.0.1:{}", port ^ 1)));

        let v = vector(b"abc", &[&good, &bad, &good]);
        let outcome = sandbox.call(
            sendmmsg,
            libc::SYS_sendmmsg,
            mmsg_args(sender.as_raw_fd(), &v, 0),
        );
        assert_eq!(sandbox.settle(outcome), Answer::Value(1));
        // The entry sent has its msg_len, the others none.
        assert_eq!(lens(&v), [3, UNWRITTEN, UNWRITTEN]);
        let mut buf = [0u8; 16];
        assert_eq!(receiver.recv(&mut buf).unwrap(), 3);
        assert!(nothing_waiting(&receiver));

        // Refused first: the errno, as a failing sendmsg would.
        let v = vector(b"abc", &[&bad, &good]);
        let outcome = sandbox.call(
            sendmmsg,
            libc::SYS_sendmmsg,
            mmsg_args(sender.as_raw_fd(), &v, 0),
        );
        assert_eq!(sandbox.settle(outcome), Answer::Errno(libc::EACCES));
        assert_eq!(lens(&v), [UNWRITTEN, UNWRITTEN]);
        assert!(nothing_waiting(&receiver));
    }

    #[test]
    fn a_batch_past_the_steps_budget_answers_or_parks_as_its_caller_would_wait() {
        let (receiver, port) = receiver();
        let mut sandbox = Harness::new(&[&format!("udp://127.0.0.1:{port}")]);
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = bytes_of(receiver.local_addr().unwrap());
        // The step has room for one more message.
        let room_for_one = |sandbox: &mut Harness| {
            sandbox.budget = SendBudget {
                messages: SendBudget::MESSAGES - 1,
                ..SendBudget::default()
            };
        };

        // A non-blocking caller gets the count sent so far.
        room_for_one(&mut sandbox);
        let v = vector(b"abc", &[&to, &to, &to]);
        let args = mmsg_args(sender.as_raw_fd(), &v, libc::MSG_DONTWAIT);
        let Outcome::Answer(answer) = sandbox.call(sendmmsg, libc::SYS_sendmmsg, args) else {
            panic!("parked a non-blocking batch");
        };
        assert_eq!(answer, Answer::Value(1));
        assert_eq!(lens(&v), [3, UNWRITTEN, UNWRITTEN]);

        // A blocking one is parked and goes on in the next step.
        room_for_one(&mut sandbox);
        let v = vector(b"abc", &[&to, &to, &to]);
        let args = mmsg_args(sender.as_raw_fd(), &v, 0);
        let Outcome::Pending(mut pending) = sandbox.call(sendmmsg, libc::SYS_sendmmsg, args) else {
            panic!("a blocking batch ended early");
        };
        assert_eq!(lens(&v), [3, UNWRITTEN, UNWRITTEN]);
        assert_eq!(pending.call().args, args);
        sandbox.budget.renew();
        assert_eq!(sandbox.resume(&mut pending), Some(Answer::Value(3)));
        assert_eq!(lens(&v), [3, 3, 3]);
        let mut buf = [0u8; 16];
        for _ in 0..4 {
            assert_eq!(receiver.recv(&mut buf).unwrap(), 3);
        }
        assert!(nothing_waiting(&receiver));
    }

    #[test]
    fn a_steps_budget_is_spent_by_messages_or_bytes_and_renewed() {
        let mut budget = SendBudget::default();
        let small = Message::for_test(vec![0; 1], false, false);
        for _ in 1..SendBudget::MESSAGES {
            budget.charge(&small);
        }
        assert!(!budget.spent());
        budget.charge(&small);
        assert!(budget.spent());
        budget.renew();
        assert!(!budget.spent());
        // One datagram of the largest size spends it on its own.
        budget.charge(&Message::for_test(vec![0; MAX_DATA], false, false));
        assert!(budget.spent());
        budget.renew();
        budget.charge_resumed(MAX_DATA);
        assert!(budget.spent());
    }

    fn pending(what: PendingCall) -> Pending {
        Pending {
            id: 42,
            tid: std::process::id() as libc::pid_t,
            fd: timer::after(std::time::Duration::from_secs(3600)).unwrap(),
            events: libc::EPOLLIN as u32,
            what,
        }
    }

    #[test]
    fn a_parked_call_that_cannot_wait_is_eagain_unless_a_batch_sent_some() {
        let mut sleep = pending(PendingCall::WallClockSleep);
        let call = sleep.call();
        assert_eq!(
            (call.id, call.tid()),
            (42, std::process::id() as libc::pid_t)
        );
        assert_eq!(sleep.unparked(), Answer::Errno(libc::EAGAIN));

        let tid = std::process::id() as libc::pid_t;
        let batch = |sent: usize, current: Option<(u64, Message)>| {
            pending(PendingCall::Batch(Box::new(Batch {
                call: Notification {
                    id: 42,
                    pid: tid as u32,
                    nr: libc::SYS_sendmmsg,
                    args: [0; 6],
                },
                kind: Kind::Inet(Protocol::Tcp),
                blocking: true,
                next: sent + 1,
                count: 8,
                sent,
                current,
            })))
        };
        assert_eq!(batch(0, None).unparked(), Answer::Errno(libc::EAGAIN));
        assert_eq!(batch(2, None).unparked(), Answer::Value(2));
        // An entry partly sent counts, and its msg_len says how much.
        let entry = vector(b"", &[&[]]);
        let at = entry.hdrs.as_ptr() as u64;
        let mut partial = Message::for_test(vec![0; 100], true, true);
        partial.sent = 60;
        assert_eq!(batch(2, Some((at, partial))).unparked(), Answer::Value(3));
        assert_eq!(lens(&entry), [60]);
        // One that sent nothing does not.
        let untouched = Message::for_test(vec![0; 100], true, true);
        assert_eq!(
            batch(0, Some((at, untouched))).unparked(),
            Answer::Errno(libc::EAGAIN)
        );
    }

    #[test]
    fn a_wall_clock_sleep_is_answered_only_once_its_timer_fired() {
        let mut sandbox = Harness::new(&[]);
        let mut sleep = pending(PendingCall::WallClockSleep);
        assert_eq!(sandbox.resume(&mut sleep), None);
        timer::arm(&sleep.fd, std::time::Duration::from_nanos(1)).unwrap();
        let mut ready = [libc::pollfd {
            fd: sleep.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        assert_eq!(sys::poll(&mut ready, 10_000), Ok(1));
        assert_eq!(sandbox.resume(&mut sleep), Some(Answer::Value(0)));
    }

    /// A stream socket pair whose sending end holds little.
    #[allow(unsafe_code)]
    fn narrow_pair() -> (OwnedFd, std::os::unix::net::UnixStream) {
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        let small: libc::c_int = 4096;
        // SAFETY: an int option of our socket.
        let r = unsafe {
            libc::setsockopt(
                ours.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_SNDBUF,
                &small as *const libc::c_int as *const libc::c_void,
                4,
            )
        };
        assert_eq!(r, 0);
        (ours.into(), theirs)
    }

    #[test]
    fn a_parked_blocking_send_goes_on_until_every_byte_went() {
        let mut sandbox = Harness::new(&[]);
        let (socket, mut peer) = narrow_pair();
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let n = sandbox.notification(libc::SYS_sendto, [0; 6]);
        let message = Message::for_test(data.clone(), true, true);
        let Outcome::Pending(mut parked) = send_or_park(&n, socket, message, true) else {
            panic!("200 kB went into a 4 kB buffer at once");
        };
        assert_eq!(parked.events, libc::EPOLLOUT as u32);
        peer.set_nonblocking(true).unwrap();
        let mut received = Vec::new();
        let answer = loop {
            let mut buf = vec![0u8; 65536];
            match peer.read(&mut buf) {
                Ok(len) => received.extend_from_slice(&buf[..len]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("{e}"),
            }
            if let Some(answer) = sandbox.resume(&mut parked) {
                break answer;
            }
        };
        // The caller's blocking send returns only once all of it went.
        assert_eq!(answer, Answer::Value(data.len() as i64));
        peer.set_nonblocking(false).unwrap();
        while received.len() < data.len() {
            let mut buf = vec![0u8; 65536];
            let len = peer.read(&mut buf).unwrap();
            assert!(len > 0);
            received.extend_from_slice(&buf[..len]);
        }
        assert_eq!(received, data);
    }

    #[test]
    fn a_non_blocking_send_into_a_full_buffer_answers_what_went_then_eagain() {
        let (socket, _peer) = narrow_pair();
        let n = Notification {
            id: 1,
            pid: std::process::id(),
            nr: libc::SYS_sendto,
            args: [0; 6],
        };
        let spare = socket.try_clone().unwrap();
        let message = Message::for_test(vec![7; 200_000], true, false);
        let Outcome::Answer(Answer::Value(went)) = send_or_park(&n, socket, message, false) else {
            panic!("a non-blocking send did not answer a count");
        };
        assert!(went > 0 && went < 200_000, "{went}");
        let message = Message::for_test(vec![7; 200_000], true, false);
        assert!(matches!(
            send_or_park(&n, spare, message, false),
            Outcome::Answer(Answer::Errno(libc::EAGAIN))
        ));
    }
}
