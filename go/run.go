package sandlock

/*
#include <signal.h>
#include <stdint.h>
#include <sandlock.h>

// sandlock_run with this thread's signals blocked, for the reason given
// at sandlock_go_drain (wait.go): its steps are the same.
static int sandlock_go_run(const sandlock_policy *p, const char *const *argv,
                           const uint8_t *in, size_t in_len, uint64_t timeout_ms,
                           sandlock_run_result *out) {
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int r = sandlock_run(p, argv, in, in_len, timeout_ms, out);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}
*/
import "C"

import (
	"syscall"
	"time"
	"unsafe"
)

// Result is how a command run by Policy.Run ended, and what it wrote.
type Result struct {
	ExitStatus
	Stdout, Stderr []byte
}

// Run runs argv under the policy to completion: it writes stdin to the
// command's standard input (then closes it), captures its standard output
// and error whole, and kills it after timeout (0: only the policy's own
// Timeout applies), which Result reports as ExitTimeout.
//
// Run is a convenience: the library's own poll loop supervises the
// command, so the call holds its OS thread for the whole run, and runs
// and spawns from one Policy take turns. For many commands at once use
// Spawn and Sandbox.Wait, which park in Go's poller instead.
func (p *Policy) Run(argv []string, stdin []byte, timeout time.Duration) (*Result, error) {
	ms, err := millis("run", timeout)
	if err != nil {
		return nil, err
	}
	cargv, free, err := cArgv("run", argv)
	if err != nil {
		return nil, err
	}
	defer free()
	var data *C.uint8_t
	if len(stdin) > 0 {
		// Plain bytes, read during the call only: Go memory is fine here.
		data = (*C.uint8_t)(unsafe.Pointer(&stdin[0]))
	}
	var out C.sandlock_run_result
	err = p.call("run", func(pp *C.sandlock_policy) C.int {
		return C.sandlock_go_run(pp, cargv, data, C.size_t(len(stdin)), C.uint64_t(ms), &out)
	})
	if err != nil {
		return nil, err
	}
	defer C.sandlock_run_result_free(&out)
	return &Result{
		ExitStatus: ExitStatus{
			Reason: ExitReason(out.exit_reason),
			Code:   int(out.exit_code),
			Signal: syscall.Signal(out.exit_signal),
		},
		Stdout: goBytes(out.stdout_data, out.stdout_len),
		Stderr: goBytes(out.stderr_data, out.stderr_len),
	}, nil
}

// goBytes copies a library buffer (C.GoBytes takes an int32 length).
func goBytes(data *C.uint8_t, n C.size_t) []byte {
	if n == 0 {
		return []byte{}
	}
	return append([]byte(nil), unsafe.Slice((*byte)(unsafe.Pointer(data)), int(n))...)
}
