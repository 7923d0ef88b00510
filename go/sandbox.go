package sandlock

/*
#include <stdlib.h>
#include <sandlock.h>
*/
import "C"

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// Stdio names the files a sandboxed command gets as its standard input,
// output and error. A nil field inherits the host's own.
type Stdio struct {
	Stdin, Stdout, Stderr *os.File
}

// Sandbox is a spawned command and every process it starts. Wait for it,
// then Close it; Close kills whatever is still running.
type Sandbox struct {
	pid int

	// mu serializes the calls on ptr: the library's handle is not for two
	// threads at once.
	mu      sync.Mutex
	ptr     *C.sandlock_sandbox
	file    *os.File // a dup of the library's fd, in Go's poller
	closing bool
	exited  bool
	status  ExitStatus
	cb      *callback // the policy's OnEvent when spawned: kept for C
}

// Spawn starts argv under the policy and returns once the command is
// confined and its execve has succeeded; a failure in the child (program
// not found, not allowed) comes back here. argv[0] without a '/' is
// searched in the sandbox's PATH. stdio may be nil (inherit all three).
//
// Spawns from one Policy run one at a time; the call blocks its OS thread
// for the few milliseconds a spawn takes.
func (p *Policy) Spawn(argv []string, stdio *Stdio) (*Sandbox, error) {
	cargv, free, err := cArgv("spawn", argv)
	if err != nil {
		return nil, err
	}
	defer free()
	opts := C.sandlock_spawn_opts{
		size:      C.uint32_t(unsafe.Sizeof(C.sandlock_spawn_opts{})),
		stdin_fd:  -1,
		stdout_fd: -1,
		stderr_fd: -1,
	}
	if stdio != nil {
		opts.stdin_fd = fdOf(stdio.Stdin)
		opts.stdout_fd = fdOf(stdio.Stdout)
		opts.stderr_fd = fdOf(stdio.Stderr)
	}
	var ptr *C.sandlock_sandbox
	var cb *callback
	err = p.call("spawn", func(pp *C.sandlock_policy) C.int {
		r := C.sandlock_spawn(pp, cargv, &opts, &ptr)
		if r == 0 {
			cb = p.cb.hold()
		}
		return r
	})
	// The files must stay open until the child has its own copies.
	runtime.KeepAlive(stdio)
	if err != nil {
		return nil, err
	}
	s, err := adopt(ptr)
	if err != nil {
		cb.release()
		return nil, err
	}
	s.cb = cb
	return s, nil
}

func fdOf(f *os.File) C.int {
	if f == nil {
		return -1
	}
	return C.int(f.Fd())
}

// cArgv copies argv into a NULL-terminated C array: C may not keep Go
// pointers, and an array of Go strings would be Go pointers to Go pointers.
func cArgv(op string, argv []string) (**C.char, func(), error) {
	if len(argv) == 0 {
		return nil, nil, invalid(op, "argv is empty")
	}
	for i, arg := range argv {
		if err := noNUL(fmt.Sprintf("%s: argv[%d]", op, i), arg); err != nil {
			return nil, nil, err
		}
	}
	array := (**C.char)(C.calloc(C.size_t(len(argv)+1), C.size_t(unsafe.Sizeof((*C.char)(nil)))))
	if array == nil {
		panic("sandlock: out of memory")
	}
	slots := unsafe.Slice(array, len(argv)+1)
	for i, arg := range argv {
		slots[i] = C.CString(arg)
	}
	free := func() {
		for _, s := range slots {
			C.free(unsafe.Pointer(s))
		}
		C.free(unsafe.Pointer(array))
	}
	return array, free, nil
}

// adopt wraps a spawned sandbox, with a non-blocking dup of its fd in Go's
// poller (the library keeps and closes its own).
func adopt(ptr *C.sandlock_sandbox) (*Sandbox, error) {
	s := &Sandbox{ptr: ptr, pid: int(C.sandlock_sandbox_pid(ptr))}
	file, err := pollable(int(C.sandlock_sandbox_fd(ptr)))
	if err != nil {
		C.sandlock_sandbox_free(ptr)
		return nil, err
	}
	s.file = file
	runtime.SetFinalizer(s, (*Sandbox).Close)
	return s, nil
}

// pollable dups fd and hands the copy to Go's runtime poller. The fd is an
// epoll set, which can sit inside the runtime's own epoll set; O_NONBLOCK
// (shared with the library's copy) changes nothing for it, since the
// library reads it with epoll_wait and a zero timeout.
func pollable(fd int) (*os.File, error) {
	dup, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_DUPFD_CLOEXEC, 0)
	if errno != 0 {
		return nil, &Error{Op: "spawn", Errno: errno, Msg: "spawn: dup of the sandbox fd: " + errno.Error()}
	}
	if err := syscall.SetNonblock(int(dup), true); err != nil {
		syscall.Close(int(dup))
		return nil, &Error{Op: "spawn", Errno: err.(syscall.Errno), Msg: "spawn: O_NONBLOCK on the sandbox fd: " + err.Error()}
	}
	file := os.NewFile(dup, "sandlock")
	// Deadlines work only on files in the poller: this says it took it.
	if err := file.SetReadDeadline(time.Time{}); err != nil {
		file.Close()
		return nil, &Error{Op: "spawn", Errno: syscall.EIO, Msg: "spawn: the sandbox fd is not pollable by Go: " + err.Error()}
	}
	return file, nil
}

// Pid is the process id of the sandbox's main process.
func (s *Sandbox) Pid() int { return s.pid }

// sandboxCall runs one library call on the sandbox under its lock.
func (s *Sandbox) call(op string, fn func(*C.sandlock_sandbox) C.int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ptr == nil || s.closing {
		return ErrClosed
	}
	return check(op, int(fn(s.ptr)), s.message)
}

// message is the library's text for the sandbox's last failure; s.mu is
// held.
func (s *Sandbox) message() string { return C.GoString(C.sandlock_sandbox_error(s.ptr)) }

// Kill sends sig to every process of the sandbox. Wait then reports
// ExitKilled if they die of it.
func (s *Sandbox) Kill(sig syscall.Signal) error {
	return s.call("kill", func(ptr *C.sandlock_sandbox) C.int {
		return C.sandlock_sandbox_kill(ptr, C.int(sig))
	})
}

// Close kills and reaps whatever is left of the sandbox and frees it. A
// Wait in progress returns ErrClosed. Close again is a no-op.
func (s *Sandbox) Close() error {
	s.mu.Lock()
	if s.ptr == nil || s.closing {
		s.mu.Unlock()
		return nil
	}
	s.closing = true
	file := s.file
	s.mu.Unlock()
	// Not under s.mu: closing waits for a Wait still in the poller to let
	// go of the fd, and that Wait may be about to take s.mu.
	file.Close()
	s.mu.Lock()
	C.sandlock_sandbox_free(s.ptr)
	s.ptr = nil
	s.cb.release()
	s.cb = nil
	s.mu.Unlock()
	runtime.SetFinalizer(s, nil)
	return nil
}
