package sandlock

/*
#include <sandlock.h>
*/
import "C"

import (
	"fmt"
	"syscall"
)

// ExitReason says how a sandbox ended.
type ExitReason int

const (
	Running      ExitReason = C.SANDLOCK_EXIT_RUNNING
	ExitNormal   ExitReason = C.SANDLOCK_EXIT_NORMAL   // the main process exited; Code is valid
	ExitSignaled ExitReason = C.SANDLOCK_EXIT_SIGNALED // a signal killed it; Signal is valid
	ExitTimeout  ExitReason = C.SANDLOCK_EXIT_TIMEOUT  // the policy's Timeout elapsed
	ExitMemory   ExitReason = C.SANDLOCK_EXIT_MEMORY   // MaxMemory was exceeded
	ExitKilled   ExitReason = C.SANDLOCK_EXIT_KILLED   // Kill, or a cancelled Wait
)

func (r ExitReason) String() string {
	switch r {
	case Running:
		return "running"
	case ExitNormal:
		return "exited"
	case ExitSignaled:
		return "signaled"
	case ExitTimeout:
		return "timed out"
	case ExitMemory:
		return "over its memory limit"
	case ExitKilled:
		return "killed"
	}
	return fmt.Sprintf("ExitReason(%d)", int(r))
}

// ExitStatus is how a sandbox ended.
type ExitStatus struct {
	Reason ExitReason
	Code   int            // the main process's exit code; -1 unless ExitNormal
	Signal syscall.Signal // the signal that killed it; 0 unless ExitSignaled
}

// Success reports a normal exit with code 0.
func (e ExitStatus) Success() bool { return e.Reason == ExitNormal && e.Code == 0 }

func (e ExitStatus) String() string {
	switch e.Reason {
	case ExitNormal:
		return fmt.Sprintf("exit code %d", e.Code)
	case ExitSignaled:
		return "signal: " + e.Signal.String()
	}
	return e.Reason.String()
}

// exitStatus reads the status of an exited sandbox.
func exitStatus(ptr *C.sandlock_sandbox) ExitStatus {
	return ExitStatus{
		Reason: ExitReason(C.sandlock_sandbox_exit_reason(ptr)),
		Code:   int(C.sandlock_sandbox_exit_code(ptr)),
		Signal: syscall.Signal(C.sandlock_sandbox_exit_signal(ptr)),
	}
}
