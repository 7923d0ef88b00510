package sandlock

/*
#include <stdlib.h>
#include <sandlock.h>
*/
import "C"

import "unsafe"

// The live policy: changes to a running sandbox, effective for the calls
// it makes from then on (calls in progress finish as they started).

// callString is call with one string argument.
func (s *Sandbox) callString(op, str string, fn func(*C.sandlock_sandbox, *C.char) C.int) error {
	cs, err := cString(op, str)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cs))
	return s.call(op, func(ptr *C.sandlock_sandbox) C.int { return fn(ptr, cs) })
}

// NetAllow lets the running sandbox also reach spec (Policy.NetAllow's
// grammar, with an address or CIDR: hostnames are resolved at spawn
// only), within the socket kinds it was spawned with.
func (s *Sandbox) NetAllow(spec string) error {
	return s.callString("net_allow", spec, func(ptr *C.sandlock_sandbox, cs *C.char) C.int {
		return C.sandlock_sandbox_net_allow(ptr, cs)
	})
}

// NetClear leaves the running sandbox no destination at all (an empty
// set, not the spawn policy's); NetAllow adds to it again.
func (s *Sandbox) NetClear() error {
	return s.call("net_clear", func(ptr *C.sandlock_sandbox) C.int {
		return C.sandlock_sandbox_net_clear(ptr)
	})
}

// MaxProcesses changes the running sandbox's process limit (0: none). It
// needs a sandbox spawned with a process, memory or CPU limit, or with
// fork or exit events, whose forks are counted.
func (s *Sandbox) MaxProcesses(n uint32) error {
	return s.call("max_processes", func(ptr *C.sandlock_sandbox) C.int {
		return C.sandlock_sandbox_max_processes(ptr, C.uint32_t(n))
	})
}

// MaxMemory changes the running sandbox's memory limit (0: none). It
// needs a sandbox spawned with Policy.MaxMemory.
func (s *Sandbox) MaxMemory(bytes uint64) error {
	return s.call("max_memory", func(ptr *C.sandlock_sandbox) C.int {
		return C.sandlock_sandbox_max_memory(ptr, C.uint64_t(bytes))
	})
}

// FSDeny makes path (a file or a tree) unreachable from now on for the
// running sandbox's opens and execs (EACCES), whatever name leads there.
// It needs a sandbox spawned with open events or a Policy.FSDeny rule,
// whose opens the supervisor sees.
func (s *Sandbox) FSDeny(path string) error {
	return s.callString("fs_deny", path, func(ptr *C.sandlock_sandbox, cs *C.char) C.int {
		return C.sandlock_sandbox_fs_deny(ptr, cs)
	})
}
