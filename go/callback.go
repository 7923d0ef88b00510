package sandlock

/*
#include <stdint.h>
#include <sandlock.h>

// Defined in callback_export.go (a file with //export may only declare).
extern int sandlockGoEvent(sandlock_event *event, sandlock_sandbox *sb, uintptr_t handle);

static int sandlock_go_trampoline(const sandlock_event *event, sandlock_sandbox *sb, void *userdata) {
	return sandlockGoEvent((sandlock_event *)event, sb, (uintptr_t)userdata);
}

// The handle travels as the callback's userdata: an integer, not a Go
// pointer, so C may keep it.
static int sandlock_go_on_event(sandlock_policy *p, uint32_t mask, uintptr_t handle) {
	if (handle == 0)
		return sandlock_policy_on_event(p, 0, NULL, NULL);
	return sandlock_policy_on_event(p, mask, sandlock_go_trampoline, (void *)handle);
}
*/
import "C"

import (
	"runtime/cgo"
	"sync/atomic"
)

// EventFunc decides about one event. It runs inside Sandbox.Wait (or
// Policy.Run), on the goroutine that steps the sandbox, with the whole
// sandbox waiting for it when the event is an exec or an open: keep it
// short. live changes the sandbox's live policy, during the call only.
// A panic in it kills the sandbox.
type EventFunc func(ev Event, live *Live) Verdict

// callback is a registered EventFunc, shared by the policy and the
// sandboxes spawned while it was set; the last to let go deletes its
// handle.
type callback struct {
	fn     EventFunc
	handle cgo.Handle
	refs   atomic.Int32
}

func newCallback(fn EventFunc) *callback {
	cb := &callback{fn: fn}
	cb.handle = cgo.NewHandle(cb)
	cb.refs.Store(1)
	return cb
}

func (cb *callback) hold() *callback {
	if cb != nil {
		cb.refs.Add(1)
	}
	return cb
}

func (cb *callback) release() {
	if cb != nil && cb.refs.Add(-1) == 0 {
		cb.handle.Delete()
	}
}

// OnEvent calls fn for the events in mask of every sandbox spawned from
// the policy from now on (and of its Runs). The sandbox then traps what
// those kinds need: EventExec traps execs, EventOpen the calls that name
// files, and both are shown with the sandbox stopped, so the call that
// runs is the one fn saw. A nil fn or a 0 mask removes the callback.
func (p *Policy) OnEvent(mask EventKind, fn EventFunc) error {
	var cb *callback
	var handle C.uintptr_t
	if fn != nil && mask != 0 {
		cb = newCallback(fn)
		handle = C.uintptr_t(cb.handle)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ptr == nil {
		cb.release()
		return ErrClosed
	}
	if err := check("on_event", int(C.sandlock_go_on_event(p.ptr, C.uint32_t(mask), handle)), p.message); err != nil {
		cb.release()
		return err
	}
	p.cb.release()
	p.cb = cb
	return nil
}

// Live is the sandbox an EventFunc is called for: its live policy, for
// the duration of the call. After the call returns, its methods return
// ErrClosed.
type Live struct {
	ptr *C.sandlock_sandbox
}

func (l *Live) live(c liveCall) error {
	if c.err != nil {
		return c.err
	}
	defer c.free()
	if l.ptr == nil {
		return ErrClosed
	}
	return check(c.op, int(c.fn(l.ptr, c.arg)), func() string {
		return C.GoString(C.sandlock_sandbox_error(l.ptr))
	})
}

// NetAllow is Sandbox.NetAllow from inside a callback.
func (l *Live) NetAllow(spec string) error { return l.live(netAllow(spec)) }

// NetClear is Sandbox.NetClear from inside a callback.
func (l *Live) NetClear() error { return l.live(netClear()) }

// MaxProcesses is Sandbox.MaxProcesses from inside a callback.
func (l *Live) MaxProcesses(n uint32) error { return l.live(maxProcesses(n)) }

// MaxMemory is Sandbox.MaxMemory from inside a callback.
func (l *Live) MaxMemory(bytes uint64) error { return l.live(maxMemory(bytes)) }

// FSDeny is Sandbox.FSDeny from inside a callback.
func (l *Live) FSDeny(path string) error { return l.live(fsDeny(path)) }
