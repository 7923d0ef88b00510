package sandlock

/*
#include <stdlib.h>
#include <sandlock.h>
*/
import "C"

import (
	"fmt"
	"strings"
	"syscall"
	"unsafe"
)

// EventKind is what an Event is about: one SANDLOCK_EVENT_* bit. Kinds
// combine into a mask with |.
type EventKind uint32

const (
	EventExec    EventKind = C.SANDLOCK_EVENT_EXEC    // Path, Argv
	EventConnect EventKind = C.SANDLOCK_EVENT_CONNECT // Family, Address, Port, Protocol
	EventBind    EventKind = C.SANDLOCK_EVENT_BIND    // Family, Address, Port, Protocol
	EventOpen    EventKind = C.SANDLOCK_EVENT_OPEN    // Path (as given), Flags
	EventFork    EventKind = C.SANDLOCK_EVENT_FORK    // Flags (clone's)
	EventExit    EventKind = C.SANDLOCK_EVENT_EXIT    // a process of the sandbox exited
	EventLimit   EventKind = C.SANDLOCK_EVENT_LIMIT   // Detail names the limit
	EventDenial  EventKind = C.SANDLOCK_EVENT_DENIAL  // a call was denied (after the fact)
	EventAll     EventKind = C.SANDLOCK_EVENT_ALL
)

var kindNames = []struct {
	kind EventKind
	name string
}{
	{EventExec, "exec"}, {EventConnect, "connect"}, {EventBind, "bind"},
	{EventOpen, "open"}, {EventFork, "fork"}, {EventExit, "exit"},
	{EventLimit, "limit"}, {EventDenial, "denial"},
}

// String names one kind ("connect"), or a mask's kinds joined by "|".
func (k EventKind) String() string {
	if k == 0 {
		return "none"
	}
	var names []string
	rest := k
	for _, kn := range kindNames {
		if k&kn.kind != 0 {
			names = append(names, kn.name)
			rest &^= kn.kind
		}
	}
	if rest != 0 {
		names = append(names, fmt.Sprintf("EventKind(%#x)", uint32(rest)))
	}
	return strings.Join(names, "|")
}

// Verdict is what the policy (or an event callback) decided about an
// event: Allow, Deny, Audit, Kill, or a denial with a chosen errno
// (DenyWith).
type Verdict int

const (
	Allow Verdict = C.SANDLOCK_VERDICT_ALLOW
	Deny  Verdict = C.SANDLOCK_VERDICT_DENY  // with EPERM
	Audit Verdict = C.SANDLOCK_VERDICT_AUDIT // allow, and keep the event in the log
	Kill  Verdict = C.SANDLOCK_VERDICT_KILL  // kill the whole sandbox (ExitKilled)
)

// DenyWith denies with errno e (1 to 4095; anything else denies with
// EPERM).
func DenyWith(e syscall.Errno) Verdict { return Verdict(-int(e)) }

// Errno is the errno a denying verdict answers with, 0 for Allow, Audit
// and Kill.
func (v Verdict) Errno() syscall.Errno {
	switch {
	case v == Allow || v == Audit || v == Kill:
		return 0
	case v < 0 && v >= -4095:
		return syscall.Errno(-v)
	}
	return syscall.EPERM
}

func (v Verdict) String() string {
	switch v {
	case Allow:
		return "allow"
	case Deny:
		return "deny"
	case Audit:
		return "audit"
	case Kill:
		return "kill"
	}
	return "deny: " + v.Errno().Error()
}

// Event is one thing a sandbox did or was refused, copied into Go memory.
// Fields that do not apply are zero.
type Event struct {
	Kind      EventKind
	SyscallNr int64  // -1 when the event is no syscall (an exit, a limit)
	Syscall   string // its name ("connect"), "" when none
	Pid       int    // the process
	Tid       int    // its calling thread
	Ppid      int    // the process's parent
	// Denied is the errno the built-in policy answers with (0: it allows).
	Denied syscall.Errno
	// Verdict is what was applied, for events from the log.
	Verdict Verdict
	// Network events: AF_INET, AF_INET6 or AF_UNIX; IPPROTO_TCP, _UDP or
	// _ICMP; the destination address as text (or the unix socket's path)
	// and port.
	Family, Protocol int
	Address          string
	Port             uint16
	Path             string   // exec and open: the path as the call gave it
	Argv             []string // exec: the arguments
	Flags            int64    // open: the open flags; fork: the clone flags
	Detail           string   // limit: its name; denial: why, when known ("fs_deny")
	Dropped          uint64   // log only: events dropped just before this one
}

func (e Event) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v pid %d", e.Kind, e.Pid)
	if e.Syscall != "" {
		fmt.Fprintf(&b, " %s", e.Syscall)
	}
	if e.Address != "" {
		fmt.Fprintf(&b, " %s:%d", e.Address, e.Port)
	}
	if e.Path != "" {
		fmt.Fprintf(&b, " %q", e.Path)
	}
	if e.Denied != 0 {
		fmt.Fprintf(&b, " denied: %v", e.Denied)
	}
	if e.Detail != "" {
		fmt.Fprintf(&b, " (%s)", e.Detail)
	}
	return b.String()
}

// goEvent copies the library's event: its strings are only valid until
// the next call on the sandbox (or the end of a callback).
func goEvent(ev *C.sandlock_event) Event {
	e := Event{
		Kind:      EventKind(ev.kind),
		SyscallNr: int64(ev.syscall_nr),
		Syscall:   goString(ev.syscall),
		Pid:       int(ev.pid),
		Tid:       int(ev.tid),
		Ppid:      int(ev.ppid),
		Denied:    syscall.Errno(ev.denied),
		Verdict:   Verdict(ev.verdict),
		Family:    int(ev.family),
		Protocol:  int(ev.protocol),
		Port:      uint16(ev.port),
		Address:   goString(ev.address),
		Path:      goString(ev.path),
		Flags:     int64(ev.flags),
		Detail:    goString(ev.detail),
		Dropped:   uint64(ev.dropped),
	}
	if ev.argv != nil {
		e.Argv = []string{}
		size := unsafe.Sizeof((*C.char)(nil))
		for i := uintptr(0); ; i++ {
			arg := *(**C.char)(unsafe.Add(unsafe.Pointer(ev.argv), i*size))
			if arg == nil {
				break
			}
			e.Argv = append(e.Argv, C.GoString(arg))
		}
	}
	return e
}

func goString(s *C.char) string {
	if s == nil {
		return ""
	}
	return C.GoString(s)
}

// NextEvent takes the oldest event of the sandbox's log: every denial the
// supervisor made (built-in or by a callback's verdict), audited events,
// limits hit. ok is false when the log is empty. The log works without
// any callback, keeps the last 4096 events and at most 1 MiB of them
// (Event.Dropped counts the rest; an exec's argv and a path are kept up
// to 4 KiB, cut with a "...[sandlock: truncated]" marker), and may be
// read while a Wait is in progress or after it.
func (s *Sandbox) NextEvent() (ev Event, ok bool, err error) {
	var cev C.sandlock_event
	cev.size = C.uint32_t(unsafe.Sizeof(cev))
	err = s.call("next_event", func(ptr *C.sandlock_sandbox) C.int {
		r := C.sandlock_sandbox_next_event(ptr, &cev)
		if r == 1 {
			// Copied under the lock: the strings die with the next call.
			ev, ok = goEvent(&cev), true
		}
		return r
	})
	return ev, ok, err
}

// Events drains the sandbox's log: the events NextEvent would return one
// by one, oldest first.
func (s *Sandbox) Events() ([]Event, error) {
	var events []Event
	for {
		ev, ok, err := s.NextEvent()
		if err != nil || !ok {
			return events, err
		}
		events = append(events, ev)
	}
}
