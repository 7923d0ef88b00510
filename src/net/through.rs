//! Unix connects and sends made by the opener (src/fs/opener.rs), a process
//! of the sandbox, rather than by the supervisor: what the kernel records
//! of the caller (`SO_PEERCRED` at connect, `SCM_CREDENTIALS` a receiver
//! asks for with `SO_PASSCRED`, `SO_PASSPIDFD`) is then the sandbox's pid
//! and credentials, never the host's. The address was copied and checked
//! by the handler ([`super::handler`]); the socket file it names is pinned
//! (an `O_PATH` fd) and handed to the opener with the caller's socket, so
//! a rename after the check changes nothing. These calls never block the
//! opener: a full backlog (connect) or buffer (send) comes back as EAGAIN,
//! and a blocking caller's call is parked and asked again.

use super::handler::{raise_sigpipe, retry_timer, Message, Pending, PendingCall};
use crate::fs::opener::{Call, DirectAnswer};
use crate::seccomp::notify::{Answer, Notification};
use crate::sys::memory;
use std::os::fd::{AsRawFd, OwnedFd};

/// A checked unix call for the opener to make.
pub enum Through {
    Connect(UnixConnect),
    Send(Box<UnixSend>),
}

/// connect() of the caller's socket (our duplicate) to the socket file
/// `target`.
pub struct UnixConnect {
    pub n: Notification,
    pub socket: OwnedFd,
    pub target: OwnedFd,
    /// The caller's socket blocks: a full backlog is waited out.
    pub blocking: bool,
}

/// sendto/sendmsg of a copied message, or the first entry of a sendmmsg
/// (which then returns 1, as it may: its caller sends the rest with
/// further calls).
pub struct UnixSend {
    pub n: Notification,
    pub socket: OwnedFd,
    pub message: Message,
    /// The sendmmsg entry whose `msg_len` is written once it is sent.
    pub entry: Option<u64>,
}

impl UnixSend {
    /// When the opener may answer the call itself: once what it sends
    /// ends the call (all that is left, for a blocking stream; any count
    /// otherwise), unless the supervisor has more to do (a sendmmsg entry's
    /// msg_len to write).
    fn direct_answer(&self) -> Option<DirectAnswer> {
        if self.entry.is_some() {
            return None;
        }
        let m = &self.message;
        let least = match m.stream && m.blocking {
            true => (m.data.len() - m.sent) as i64,
            false => 0,
        };
        Some(DirectAnswer {
            id: self.n.id,
            least,
            plus: m.sent as i64,
        })
    }

    /// What is left to send, or of a stream, its next part.
    fn next_part(&self, most_sent: usize) -> &[u8] {
        let rest = &self.message.data[self.message.sent..];
        match self.message.stream {
            true => &rest[..rest.len().min(most_sent)],
            false => rest,
        }
    }
}

/// What a reply leads to.
pub enum After {
    Answer(Answer),
    /// A blocking caller met a full backlog or buffer: park, ask again.
    Retry(Through),
}

impl Through {
    pub fn call(&self) -> &Notification {
        match self {
            Through::Connect(c) => &c.n,
            Through::Send(s) => &s.n,
        }
    }

    /// The data the next request carries.
    pub fn data_len(&self, most_sent: usize) -> usize {
        match self {
            Through::Connect(_) => 0,
            Through::Send(s) => s.next_part(most_sent).len(),
        }
    }

    /// The request for the opener (a send's next part: a stream send goes
    /// in parts of at most `most_sent`; fds go with the first).
    pub fn ask(&self, most_sent: usize) -> Call<'_> {
        match self {
            // A connect that succeeded is over: the opener answers it.
            Through::Connect(c) => Call::Connect {
                socket: c.socket.as_raw_fd(),
                target: c.target.as_raw_fd(),
                answer: Some(DirectAnswer {
                    id: c.n.id,
                    least: 0,
                    plus: 0,
                }),
            },
            Through::Send(s) => {
                let m = &s.message;
                Call::Send {
                    socket: s.socket.as_raw_fd(),
                    target: m.target.as_ref().map(AsRawFd::as_raw_fd),
                    data: s.next_part(most_sent),
                    passed: if m.sent == 0 { &m.passed_fds } else { &[] },
                    flags: m.flags,
                    answer: s.direct_answer(),
                }
            }
        }
    }

    /// The call moved on by the opener's reply (a value or an errno).
    pub fn replied(self, reply: Result<i64, i32>) -> After {
        match self {
            Through::Connect(c) => match reply {
                Ok(_) => After::Answer(Answer::Value(0)),
                Err(libc::EAGAIN) if c.blocking => After::Retry(Through::Connect(c)),
                Err(e) => After::Answer(Answer::Errno(e)),
            },
            Through::Send(mut s) => {
                let m = &mut s.message;
                match reply {
                    // More than is left was never sent: a reply the kernel
                    // cannot have given fails the call, not the host.
                    Ok(sent)
                        if usize::try_from(sent).map_or(true, |n| n > m.data.len() - m.sent) =>
                    {
                        return After::Answer(Answer::Errno(libc::EIO));
                    }
                    Ok(sent) => {
                        m.sent += sent as usize;
                        if m.stream && m.blocking && m.sent < m.data.len() {
                            return After::Retry(Through::Send(s));
                        }
                    }
                    Err(libc::EAGAIN) if m.blocking => return After::Retry(Through::Send(s)),
                    Err(_) if m.sent > 0 => {}
                    Err(libc::EPIPE) => {
                        if m.sigpipe {
                            raise_sigpipe(s.n.tid());
                        }
                        return After::Answer(Answer::Errno(libc::EPIPE));
                    }
                    Err(e) => return After::Answer(Answer::Errno(e)),
                }
                match s.entry {
                    Some(entry) => {
                        let len = (m.sent as u32).to_ne_bytes();
                        let at = super::handler::mmsg_len_at(entry);
                        let _ = memory::write(s.n.tid(), at, &len);
                        After::Answer(Answer::Value(1))
                    }
                    None => After::Answer(Answer::Value(m.sent as i64)),
                }
            }
        }
    }
}

/// Parks a call that met a full backlog or buffer: a stream send until
/// its socket is writable; a connect or a datagram on a timer ticking
/// every 10 ms (the kernel signals no room in another socket's queue).
pub fn park(through: Through) -> Result<Pending, (Notification, i32)> {
    let n = *through.call();
    let (fd, events) = match &through {
        Through::Send(s) if s.message.stream => {
            let dup = s
                .socket
                .try_clone()
                .map_err(|e| (n, e.raw_os_error().unwrap_or(libc::EIO)))?;
            (dup, libc::EPOLLOUT as u32)
        }
        _ => (retry_timer().map_err(|e| (n, e))?, libc::EPOLLIN as u32),
    };
    Ok(Pending {
        id: n.id,
        tid: n.tid(),
        fd,
        events,
        what: PendingCall::ThroughOpener(through),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;

    fn call() -> Notification {
        Notification {
            id: 7,
            pid: std::process::id(),
            nr: libc::SYS_sendmsg,
            args: [0; 6],
        }
    }

    fn socket() -> OwnedFd {
        UnixStream::pair().unwrap().0.into()
    }

    fn send(len: usize, stream: bool, blocking: bool) -> Through {
        Through::Send(Box::new(UnixSend {
            n: call(),
            socket: socket(),
            message: Message::for_test(vec![1; len], stream, blocking),
            entry: None,
        }))
    }

    fn answer(after: After) -> Option<Answer> {
        match after {
            After::Answer(answer) => Some(answer),
            After::Retry(_) => None,
        }
    }

    #[test]
    fn a_connect_ends_or_waits_out_a_full_backlog() {
        let connect = |blocking| {
            Through::Connect(UnixConnect {
                n: call(),
                socket: socket(),
                target: socket(),
                blocking,
            })
        };
        assert_eq!(answer(connect(true).replied(Ok(0))), Some(Answer::Value(0)));
        assert_eq!(answer(connect(true).replied(Err(libc::EAGAIN))), None);
        assert_eq!(
            answer(connect(false).replied(Err(libc::EAGAIN))),
            Some(Answer::Errno(libc::EAGAIN))
        );
        assert_eq!(
            answer(connect(true).replied(Err(libc::ECONNREFUSED))),
            Some(Answer::Errno(libc::ECONNREFUSED))
        );
    }

    /// A blocking stream send goes on until every byte went; anything
    /// else ends with what went (or the errno when nothing did).
    #[test]
    fn a_send_goes_on_only_while_its_caller_would_block() {
        let After::Retry(rest) = send(100, true, true).replied(Ok(40)) else {
            panic!("a blocking stream send stopped after part of it");
        };
        assert_eq!(rest.data_len(1000), 60);
        assert_eq!(answer(rest.replied(Ok(60))), Some(Answer::Value(100)));
        assert_eq!(
            answer(send(100, true, false).replied(Ok(40))),
            Some(Answer::Value(40))
        );
        assert_eq!(
            answer(send(100, false, true).replied(Ok(100))),
            Some(Answer::Value(100))
        );
        assert_eq!(
            answer(send(100, false, true).replied(Err(libc::EAGAIN))),
            None
        );
        assert_eq!(
            answer(send(100, false, false).replied(Err(libc::EAGAIN))),
            Some(Answer::Errno(libc::EAGAIN))
        );
        assert_eq!(
            answer(send(100, true, true).replied(Err(libc::EPIPE))),
            Some(Answer::Errno(libc::EPIPE))
        );
        let After::Retry(rest) = send(100, true, true).replied(Ok(30)) else {
            panic!("stopped");
        };
        assert_eq!(
            answer(rest.replied(Err(libc::ECONNRESET))),
            Some(Answer::Value(30))
        );
    }

    /// The opener answers only what ends the call: a blocking stream send
    /// once all that is left goes, anything else at once; never a
    /// sendmmsg entry (its msg_len is the supervisor's to write).
    #[test]
    fn the_opener_answers_only_what_ends_the_call() {
        let ask = |through: &Through| match through.ask(16) {
            Call::Send { answer, data, .. } => (answer.map(|a| (a.least, a.plus)), data.len()),
            _ => panic!("not a send"),
        };
        assert_eq!(ask(&send(10, true, true)), (Some((10, 0)), 10));
        // Longer than a part: the first part cannot end it.
        assert_eq!(ask(&send(40, true, true)), (Some((40, 0)), 16));
        let After::Retry(rest) = send(40, true, true).replied(Ok(30)) else {
            panic!("stopped");
        };
        assert_eq!(ask(&rest), (Some((10, 30)), 10));
        assert_eq!(ask(&send(40, false, true)), (Some((0, 0)), 40));
        let Through::Send(mut entry) = send(10, false, true) else {
            unreachable!()
        };
        entry.entry = Some(0x1000);
        assert_eq!(ask(&Through::Send(entry)), (None, 10));
    }
}
