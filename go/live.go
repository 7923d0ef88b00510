package sandlock

/*
#include <stdlib.h>
#include <sandlock.h>
*/
import "C"

import "unsafe"

// The live policy: changes to a running sandbox, effective for the calls
// it makes from then on (calls in progress finish as they started). The
// same calls are made on a Sandbox (under its lock) and on a Live inside
// an event callback (which runs under that lock already).

// liveCall is one such call, its string argument (if any) copied to C.
type liveCall struct {
	op  string
	arg *C.char
	fn  func(ptr *C.sandlock_sandbox, arg *C.char) C.int
	err error // a bad argument, found before the call
}

func withString(op, s string, fn func(*C.sandlock_sandbox, *C.char) C.int) liveCall {
	arg, err := cString(op, s)
	return liveCall{op: op, arg: arg, fn: fn, err: err}
}

func (c liveCall) free() {
	if c.arg != nil {
		C.free(unsafe.Pointer(c.arg))
	}
}

func netAllow(spec string) liveCall {
	return withString("net_allow", spec, func(ptr *C.sandlock_sandbox, arg *C.char) C.int {
		return C.sandlock_sandbox_net_allow(ptr, arg)
	})
}

func netClear() liveCall {
	return liveCall{op: "net_clear", fn: func(ptr *C.sandlock_sandbox, _ *C.char) C.int {
		return C.sandlock_sandbox_net_clear(ptr)
	}}
}

func maxProcesses(n uint32) liveCall {
	return liveCall{op: "max_processes", fn: func(ptr *C.sandlock_sandbox, _ *C.char) C.int {
		return C.sandlock_sandbox_max_processes(ptr, C.uint32_t(n))
	}}
}

func maxMemory(bytes uint64) liveCall {
	return liveCall{op: "max_memory", fn: func(ptr *C.sandlock_sandbox, _ *C.char) C.int {
		return C.sandlock_sandbox_max_memory(ptr, C.uint64_t(bytes))
	}}
}

func fsDeny(path string) liveCall {
	return withString("fs_deny", path, func(ptr *C.sandlock_sandbox, arg *C.char) C.int {
		return C.sandlock_sandbox_fs_deny(ptr, arg)
	})
}

// live makes the call on the sandbox under its lock.
func (s *Sandbox) live(c liveCall) error {
	if c.err != nil {
		return c.err
	}
	defer c.free()
	return s.call(c.op, func(ptr *C.sandlock_sandbox) C.int { return c.fn(ptr, c.arg) })
}

// NetAllow lets the running sandbox also reach spec (Policy.NetAllow's
// grammar, with an address or CIDR: hostnames are resolved at spawn
// only), within the socket kinds it was spawned with.
func (s *Sandbox) NetAllow(spec string) error { return s.live(netAllow(spec)) }

// NetClear leaves the running sandbox no destination at all (an empty
// set, not the spawn policy's); NetAllow adds to it again.
func (s *Sandbox) NetClear() error { return s.live(netClear()) }

// MaxProcesses changes the running sandbox's process limit (0: none). It
// needs a sandbox spawned with a process, memory or CPU limit, or with
// fork or exit events, whose forks are counted.
func (s *Sandbox) MaxProcesses(n uint32) error { return s.live(maxProcesses(n)) }

// MaxMemory changes the running sandbox's memory limit (0: none). It
// needs a sandbox spawned with Policy.MaxMemory.
func (s *Sandbox) MaxMemory(bytes uint64) error { return s.live(maxMemory(bytes)) }

// FSDeny makes path (a file or a tree) unreachable from now on for the
// running sandbox's opens and execs (EACCES), whatever name leads there.
// It needs a sandbox spawned with open events or a Policy.FSDeny rule,
// whose opens the supervisor sees.
func (s *Sandbox) FSDeny(path string) error { return s.live(fsDeny(path)) }
