//! What the sandbox does, as events: shown to the host's observer (a C
//! callback, through the ffi layer) for a verdict, and kept in a bounded
//! log of denials and audits the host drains between steps.
//!
//! Observers run only inside `Sandbox::step`, on the caller's thread.
//! They are shown copies: the bytes an event carries are the bytes the
//! supervisor acts on (on-behalf calls), or were read while the whole
//! sandbox was stopped (exec, open: see `freeze`).

use std::collections::VecDeque;
use std::net::SocketAddr;

/// Event kinds, one bit each (the observer's mask).
pub mod kind {
    pub const EXEC: u32 = 1 << 0;
    /// connect, and sendto/sendmsg/sendmmsg with a destination.
    pub const CONNECT: u32 = 1 << 1;
    pub const BIND: u32 = 1 << 2;
    pub const OPEN: u32 = 1 << 3;
    pub const FORK: u32 = 1 << 4;
    pub const EXIT: u32 = 1 << 5;
    pub const LIMIT: u32 = 1 << 6;
    pub const DENIAL: u32 = 1 << 7;
    pub const ALL: u32 = (1 << 8) - 1;
}

/// Where a network call goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    Inet { address: SocketAddr, protocol: i32 },
    Unix(Vec<u8>),
}

#[derive(Debug, Clone, Default)]
pub struct Event {
    pub kind: u32,
    /// The syscall, or -1 for an event that is none (exit, a limit).
    pub nr: i64,
    pub pid: libc::pid_t,
    pub tid: libc::pid_t,
    pub ppid: libc::pid_t,
    /// The errno the built-in policy answers with; 0 when it allows.
    pub denied: i32,
    pub destination: Option<Destination>,
    /// exec and open: the path as the call gave it.
    pub path: Option<Vec<u8>>,
    /// exec: the arguments.
    pub argv: Vec<Vec<u8>>,
    /// open: the flags; fork: the clone flags.
    pub flags: i64,
    /// Which limit, or why a denial.
    pub detail: &'static str,
    /// In the log: the verdict that was applied.
    pub verdict: Verdict,
}

impl Event {
    /// What keeping this event costs the host, in bytes.
    pub fn cost(&self) -> usize {
        let strings = self.path.as_ref().map_or(0, Vec::len)
            + match &self.destination {
                Some(Destination::Unix(path)) => path.len(),
                _ => 0,
            }
            + self
                .argv
                .iter()
                .map(|a| a.len() + std::mem::size_of::<Vec<u8>>())
                .sum::<usize>();
        std::mem::size_of::<Event>() + strings
    }

    /// Cuts what the event carries to the log's per-entry bounds, marking
    /// every cut; shrinks the buffers so the bytes are given back.
    pub fn truncate_for_log(&mut self) {
        fn cut(bytes: &mut Vec<u8>, most: usize) {
            if bytes.len() > most {
                bytes.truncate(most - TRUNCATED.len());
                bytes.extend_from_slice(TRUNCATED);
            }
            bytes.shrink_to_fit();
        }
        if let Some(path) = &mut self.path {
            cut(path, LOG_PATH_BYTES);
        }
        if let Some(Destination::Unix(path)) = &mut self.destination {
            cut(path, LOG_PATH_BYTES);
        }
        let total: usize = self.argv.iter().map(|a| a.len() + 1).sum();
        let mut room = LOG_ARGV_BYTES;
        let mut kept = 0;
        for arg in self.argv.iter().take_while(|_| total > LOG_ARGV_BYTES) {
            // The marker must still fit after what is kept.
            if arg.len() + 1 + TRUNCATED.len() + 32 > room {
                break;
            }
            room -= arg.len() + 1;
            kept += 1;
        }
        if total > LOG_ARGV_BYTES {
            let lost: usize = self.argv[kept..].iter().map(|a| a.len() + 1).sum();
            let more = self.argv.len() - kept;
            self.argv.truncate(kept);
            let mut marker = TRUNCATED.to_vec();
            marker.extend_from_slice(format!(" {more} args, {lost} bytes").as_bytes());
            self.argv.push(marker);
        }
        self.argv.shrink_to_fit();
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verdict {
    #[default]
    Allow,
    /// Fail the call with this errno.
    Deny(i32),
    /// Allow, and keep the event in the log.
    Audit,
    /// Kill the whole sandbox.
    Kill,
}

/// The host's side: sees an event, returns a verdict.
pub trait Observer {
    fn observe(&mut self, event: &Event) -> Verdict;
}

/// Most events the log keeps; past it the oldest go (and are counted).
pub const LOG_CAPACITY: usize = 4096;
/// Most bytes the log keeps, counting each entry's fixed size and the
/// strings it holds ([`Event::cost`]); past it the oldest go too. The
/// job decides what an event carries (a denied exec's 2 MiB argv): the
/// host's memory must not grow with it.
pub const LOG_BYTES: usize = 1 << 20;
/// Most bytes of arguments one logged exec keeps. What is cut is
/// replaced by one last argument, [`TRUNCATED`] and the count lost.
pub const LOG_ARGV_BYTES: usize = 4096;
/// Most bytes of a path (or a unix socket's path) one logged event keeps.
pub const LOG_PATH_BYTES: usize = 4096;
/// How a cut argv or path ends in the log.
pub const TRUNCATED: &[u8] = b"...[sandlock: truncated]";

/// The sandbox's events: its observer and its log.
pub struct Events {
    mask: u32,
    observer: Option<Box<dyn Observer>>,
    log: VecDeque<Event>,
    /// What the log holds, in [`Event::cost`] bytes (at most LOG_BYTES).
    log_bytes: usize,
    dropped: u64,
    /// A verdict asked for the whole sandbox to die.
    pub kill: bool,
}

impl Events {
    pub fn new() -> Events {
        Events {
            mask: 0,
            observer: None,
            log: VecDeque::new(),
            log_bytes: 0,
            dropped: 0,
            kill: false,
        }
    }

    pub fn set_observer(&mut self, mask: u32, observer: Box<dyn Observer>) {
        self.mask = mask;
        self.observer = Some(observer);
    }

    /// Does the observer want events of `kind`?
    pub fn wants(&self, kind: u32) -> bool {
        self.observer.is_some() && self.mask & kind != 0
    }

    /// Shows `event` to the observer if it asked for its kind, and returns
    /// the verdict to apply: the built-in denial stands whatever the
    /// observer says (it can only tighten), except that it may still kill.
    /// Denials and audits go to the log.
    pub fn decide(&mut self, mut event: Event) -> Verdict {
        let asked = match (&mut self.observer, self.mask & event.kind != 0) {
            (Some(observer), true) => Some(observer.observe(&event)),
            _ => None,
        };
        let verdict = match (asked, event.denied) {
            (Some(Verdict::Kill), _) => Verdict::Kill,
            (_, errno) if errno != 0 => Verdict::Deny(errno),
            (Some(verdict), _) => verdict,
            (None, _) => Verdict::Allow,
        };
        if verdict == Verdict::Kill {
            self.kill = true;
        }
        event.verdict = verdict;
        if verdict != Verdict::Allow {
            self.denial(event);
        }
        verdict
    }

    /// Something that already happened (an exit, a limit reached): shown
    /// to the observer, whose verdict only counts if it is Kill.
    pub fn note(&mut self, mut event: Event) {
        let asked = match (&mut self.observer, self.mask & event.kind != 0) {
            (Some(observer), true) => Some(observer.observe(&event)),
            _ => None,
        };
        if asked == Some(Verdict::Kill) {
            self.kill = true;
        }
        if event.kind == kind::LIMIT {
            event.verdict = Verdict::Deny(event.denied);
            self.log(event);
        }
    }

    /// A denial (or audit) is logged, and shown as a DENIAL event to an
    /// observer that asked for those.
    fn denial(&mut self, event: Event) {
        if event.kind != kind::DENIAL && self.wants(kind::DENIAL) {
            if let Verdict::Deny(_) = event.verdict {
                let mut shown = event.clone();
                shown.kind = kind::DENIAL;
                self.note(shown);
            }
        }
        self.log(event);
    }

    /// Keeps `event` (cut to the per-entry bounds), dropping the oldest
    /// while the log is over LOG_CAPACITY entries or LOG_BYTES bytes.
    fn log(&mut self, mut event: Event) {
        event.truncate_for_log();
        let cost = event.cost();
        while self.log.len() >= LOG_CAPACITY || self.log_bytes + cost > LOG_BYTES {
            let Some(oldest) = self.log.pop_front() else {
                break;
            };
            self.log_bytes -= oldest.cost();
            self.dropped += 1;
        }
        self.log_bytes += cost;
        self.log.push_back(event);
    }

    /// The oldest logged event, and how many were dropped before it.
    pub fn pop(&mut self) -> Option<(Event, u64)> {
        let event = self.log.pop_front()?;
        self.log_bytes -= event.cost();
        Some((event, std::mem::take(&mut self.dropped)))
    }
}

impl Default for Events {
    fn default() -> Self {
        Events::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(Verdict, std::rc::Rc<std::cell::Cell<u32>>);
    impl Observer for Fixed {
        fn observe(&mut self, _: &Event) -> Verdict {
            self.1.set(self.1.get() + 1);
            self.0
        }
    }

    fn exec_event(denied: i32) -> Event {
        Event {
            kind: kind::EXEC,
            denied,
            ..Event::default()
        }
    }

    #[test]
    fn the_observer_tightens_but_never_widens() {
        let seen = std::rc::Rc::new(std::cell::Cell::new(0));
        let mut events = Events::new();
        events.set_observer(kind::EXEC, Box::new(Fixed(Verdict::Allow, seen.clone())));
        assert_eq!(events.decide(exec_event(0)), Verdict::Allow);
        assert_eq!(
            events.decide(exec_event(libc::EACCES)),
            Verdict::Deny(libc::EACCES)
        );
        assert_eq!(seen.get(), 2);
        let mut events = Events::new();
        events.set_observer(
            kind::EXEC,
            Box::new(Fixed(Verdict::Deny(libc::EPERM), seen)),
        );
        assert_eq!(events.decide(exec_event(0)), Verdict::Deny(libc::EPERM));
        assert_eq!(
            events.pop().map(|(e, _)| e.verdict),
            Some(Verdict::Deny(libc::EPERM))
        );
        assert!(events.pop().is_none());
    }

    #[test]
    fn unasked_kinds_are_not_shown_and_the_log_is_bounded() {
        let seen = std::rc::Rc::new(std::cell::Cell::new(0));
        let mut events = Events::new();
        events.set_observer(kind::OPEN, Box::new(Fixed(Verdict::Kill, seen.clone())));
        for _ in 0..LOG_CAPACITY + 10 {
            assert_eq!(
                events.decide(exec_event(libc::EPERM)),
                Verdict::Deny(libc::EPERM)
            );
        }
        assert_eq!(seen.get(), 0);
        assert!(!events.kill);
        assert_eq!(events.pop().map(|(_, dropped)| dropped), Some(10));
    }

    #[test]
    fn the_log_is_bounded_in_bytes_and_cuts_what_it_keeps() {
        let mut events = Events::new();
        let big = |i: usize| Event {
            path: Some(vec![b'p'; 100_000]),
            argv: (0..40)
                .map(|j| vec![b'a' + (i + j) as u8 % 26; 50_000])
                .collect(),
            ..exec_event(libc::EACCES)
        };
        for i in 0..2000 {
            events.decide(big(i));
            assert!(events.log_bytes <= LOG_BYTES);
        }
        let kept = events.log.len();
        assert!(kept > 100 && kept < 2000, "{kept}");
        let (first, dropped) = events.pop().unwrap();
        assert_eq!(dropped as usize, 2000 - kept);
        assert!(first.path.as_ref().unwrap().ends_with(TRUNCATED));
        assert_eq!(first.path.as_ref().unwrap().len(), LOG_PATH_BYTES);
        let argv_bytes: usize = first.argv.iter().map(|a| a.len() + 1).sum();
        assert!(argv_bytes <= LOG_ARGV_BYTES, "{argv_bytes}");
        assert!(first.argv.last().unwrap().starts_with(TRUNCATED));
        // Short arguments are kept whole, with no marker.
        let mut small = exec_event(libc::EACCES);
        small.argv = vec![b"ls".to_vec(), b"-l".to_vec()];
        small.truncate_for_log();
        assert_eq!(small.argv, vec![b"ls".to_vec(), b"-l".to_vec()]);
        // Draining gives the bytes back.
        while events.pop().is_some() {}
        assert_eq!(events.log_bytes, 0);
    }
}
