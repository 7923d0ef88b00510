package sandlock

/*
#cgo pkg-config: sandlock
#include <stdlib.h>
#include <sandlock.h>
*/
import "C"

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// Policy describes what a sandbox may do. A new Policy allows nothing:
// no file, no network; the host's environment. Each setter checks its input
// at once and returns an *Error naming it.
type Policy struct {
	// mu serializes every call on ptr: setters change the policy, and a
	// spawn's failure message is kept on it until the next call.
	mu  sync.Mutex
	ptr *C.sandlock_policy
	cb  *callback // OnEvent's, if set
}

// NewPolicy returns an empty policy. Close it when done (sandboxes spawned
// from it live on).
func NewPolicy() *Policy {
	ptr := C.sandlock_policy_new()
	if ptr == nil {
		panic("sandlock: out of memory")
	}
	p := &Policy{ptr: ptr}
	runtime.SetFinalizer(p, (*Policy).Close)
	return p
}

// Close frees the policy. Further calls return ErrClosed; Close again is a
// no-op.
func (p *Policy) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ptr != nil {
		C.sandlock_policy_free(p.ptr)
		p.ptr = nil
		p.cb.release()
		p.cb = nil
		runtime.SetFinalizer(p, nil)
	}
	return nil
}

// Version is the library's version, "MAJOR.MINOR.PATCH".
func Version() string { return C.GoString(C.sandlock_version()) }

// call runs one library call on the policy under its lock and turns a
// negative return into an *Error with the policy's message.
func (p *Policy) call(op string, fn func(*C.sandlock_policy) C.int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ptr == nil {
		return ErrClosed
	}
	return check(op, int(fn(p.ptr)), p.message)
}

// message is the library's text for the last failure; p.mu is held.
func (p *Policy) message() string { return C.GoString(C.sandlock_policy_error(p.ptr)) }

// cString copies s into C memory (free it with C.free). A NUL byte would
// silently cut the string short in C, so it is refused here.
func cString(op, s string) (*C.char, error) {
	if err := noNUL(op, s); err != nil {
		return nil, err
	}
	return C.CString(s), nil
}

func noNUL(op, s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return invalid(op, fmt.Sprintf("%q contains a NUL byte", s))
	}
	return nil
}

// callString is call with one string argument.
func (p *Policy) callString(op, s string, fn func(*C.sandlock_policy, *C.char) C.int) error {
	cs, err := cString(op, s)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cs))
	return p.call(op, func(ptr *C.sandlock_policy) C.int { return fn(ptr, cs) })
}

func cBool(on bool) C.int {
	if on {
		return 1
	}
	return 0
}

// FSRead allows reading and executing beneath path (a directory or a
// file, which must exist).
func (p *Policy) FSRead(path string) error {
	return p.callString("fs_read", path, func(ptr *C.sandlock_policy, s *C.char) C.int {
		return C.sandlock_policy_fs_read(ptr, s)
	})
}

// FSWrite allows everything beneath path: read, write, create, remove,
// rename, truncate, execute.
func (p *Policy) FSWrite(path string) error {
	return p.callString("fs_write", path, func(ptr *C.sandlock_policy, s *C.char) C.int {
		return C.sandlock_policy_fs_write(ptr, s)
	})
}

// FSDeny makes path (a file or a tree) unreachable even inside an allowed
// tree, whatever name leads there.
func (p *Policy) FSDeny(path string) error {
	return p.callString("fs_deny", path, func(ptr *C.sandlock_policy, s *C.char) C.int {
		return C.sandlock_policy_fs_deny(ptr, s)
	})
}

// NetAllow allows one network endpoint, "[tcp|udp|icmp://]target[:ports]",
// for example "127.0.0.1:8080", "example.org:443", "udp://10.0.0.0/8:53".
// Without any NetAllow or NetDeny rule the sandbox has no network.
func (p *Policy) NetAllow(spec string) error {
	return p.callString("net_allow", spec, func(ptr *C.sandlock_policy, s *C.char) C.int {
		return C.sandlock_policy_net_allow(ptr, s)
	})
}

// NetDeny switches to default-allow networking minus this address or
// CIDR. It cannot be combined with NetAllow.
func (p *Policy) NetDeny(cidr string) error {
	return p.callString("net_deny", cidr, func(ptr *C.sandlock_policy, s *C.char) C.int {
		return C.sandlock_policy_net_deny(ptr, s)
	})
}

// NetBind allows binding (serving on) ports: "8080", "8080,9000-9005", "*".
func (p *Policy) NetBind(ports string) error {
	return p.callString("net_bind", ports, func(ptr *C.sandlock_policy, s *C.char) C.int {
		return C.sandlock_policy_net_bind(ptr, s)
	})
}

// SyscallDeny denies one more system call by its x86_64 name (EPERM).
func (p *Policy) SyscallDeny(name string) error {
	return p.callString("syscall_deny", name, func(ptr *C.sandlock_policy, s *C.char) C.int {
		return C.sandlock_policy_syscall_deny(ptr, s)
	})
}

// Hostname sets the node name the sandbox sees.
func (p *Policy) Hostname(name string) error {
	return p.callString("hostname", name, func(ptr *C.sandlock_policy, s *C.char) C.int {
		return C.sandlock_policy_hostname(ptr, s)
	})
}

// Cwd sets the command's working directory (it must exist).
func (p *Policy) Cwd(path string) error {
	return p.callString("cwd", path, func(ptr *C.sandlock_policy, s *C.char) C.int {
		return C.sandlock_policy_cwd(ptr, s)
	})
}

// EnvClear starts the sandbox with an empty environment.
func (p *Policy) EnvClear() error {
	return p.call("env_clear", func(ptr *C.sandlock_policy) C.int {
		return C.sandlock_policy_env_clear(ptr)
	})
}

// EnvSet sets (or replaces) one variable of the sandbox's environment.
func (p *Policy) EnvSet(name, value string) error {
	cname, err := cString("env_set", name)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cname))
	return p.callString("env_set", value, func(ptr *C.sandlock_policy, cvalue *C.char) C.int {
		return C.sandlock_policy_env_set(ptr, cname, cvalue)
	})
}

// PrivateProc makes /proc show the sandbox's own processes only.
func (p *Policy) PrivateProc(on bool) error {
	return p.call("private_proc", func(ptr *C.sandlock_policy) C.int {
		return C.sandlock_policy_private_proc(ptr, cBool(on))
	})
}

// NoASLR turns address-space randomization off for the sandbox.
func (p *Policy) NoASLR(on bool) error {
	return p.call("no_aslr", func(ptr *C.sandlock_policy) C.int {
		return C.sandlock_policy_no_aslr(ptr, cBool(on))
	})
}

// RandomSeed makes getrandom and /dev/urandom a stream drawn from seed.
func (p *Policy) RandomSeed(seed uint64) error {
	return p.call("random_seed", func(ptr *C.sandlock_policy) C.int {
		return C.sandlock_policy_random_seed(ptr, C.uint64_t(seed))
	})
}

// NumCPUs limits the sandbox to the host's first n CPUs (0: all).
func (p *Policy) NumCPUs(n uint32) error {
	return p.call("num_cpus", func(ptr *C.sandlock_policy) C.int {
		return C.sandlock_policy_num_cpus(ptr, C.uint32_t(n))
	})
}

// MaxProcesses caps the sandbox's live processes (0: no limit); past it
// fork fails with EAGAIN.
func (p *Policy) MaxProcesses(n uint32) error {
	return p.call("max_processes", func(ptr *C.sandlock_policy) C.int {
		return C.sandlock_policy_max_processes(ptr, C.uint32_t(n))
	})
}

// MaxMemory caps the resident memory of the whole sandbox (0: no limit);
// past it the sandbox is killed (ExitMemory).
func (p *Policy) MaxMemory(bytes uint64) error {
	return p.call("max_memory", func(ptr *C.sandlock_policy) C.int {
		return C.sandlock_policy_max_memory(ptr, C.uint64_t(bytes))
	})
}

// MaxCPU gives the sandbox percent (1 to 100) of one CPU.
func (p *Policy) MaxCPU(percent uint32) error {
	return p.call("max_cpu", func(ptr *C.sandlock_policy) C.int {
		return C.sandlock_policy_max_cpu(ptr, C.uint32_t(percent))
	})
}

// MaxOpenFiles sets the sandbox's RLIMIT_NOFILE (0: the host's).
func (p *Policy) MaxOpenFiles(n uint32) error {
	return p.call("max_open_files", func(ptr *C.sandlock_policy) C.int {
		return C.sandlock_policy_max_open_files(ptr, C.uint32_t(n))
	})
}

// Timeout kills the sandbox after d of wall-clock time (ExitTimeout).
// 0 means none; d is rounded up to whole milliseconds.
func (p *Policy) Timeout(d time.Duration) error {
	ms, err := millis("timeout", d)
	if err != nil {
		return err
	}
	return p.call("timeout", func(ptr *C.sandlock_policy) C.int {
		return C.sandlock_policy_timeout_ms(ptr, C.uint64_t(ms))
	})
}

// millis is d in whole milliseconds, rounded up so a short timeout does
// not become "none".
func millis(op string, d time.Duration) (uint64, error) {
	if d < 0 {
		return 0, invalid(op, fmt.Sprintf("%v is negative", d))
	}
	return uint64((d + time.Millisecond - 1) / time.Millisecond), nil
}
