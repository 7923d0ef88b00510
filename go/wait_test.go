package sandlock_test

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"
	"time"

	sandlock "github.com/sandlock/libsandlock/go"
)

var bg = context.Background()

// blocked spawns cat reading a pipe nobody writes to: it runs until
// killed or until the returned writer is closed.
func blocked(t *testing.T, p *sandlock.Policy) (*sandlock.Sandbox, *os.File) {
	t.Helper()
	r, w := pipe(t)
	sb, err := p.Spawn([]string{"cat"}, &sandlock.Stdio{Stdin: r})
	must(t, err)
	r.Close()
	t.Cleanup(func() { sb.Close() })
	return sb, w
}

func TestWaitCancelKills(t *testing.T) {
	sb, _ := blocked(t, basePolicy(t))
	ctx, cancel := context.WithCancel(bg)
	result := make(chan error, 1)
	var status sandlock.ExitStatus
	go func() {
		var err error
		status, err = sb.Wait(ctx)
		result <- err
	}()
	cancel()
	if err := <-result; !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait after cancel: %v", err)
	}
	if status.Reason != sandlock.ExitKilled {
		t.Errorf("status %v, want killed", status)
	}
	if err := syscall.Kill(sb.Pid(), 0); err != syscall.ESRCH {
		t.Errorf("the main process %d is still there: %v", sb.Pid(), err)
	}
	// Waiting again reports the same end, without error.
	again, err := sb.Wait(bg)
	if err != nil || again != status {
		t.Errorf("second Wait: %v %v", again, err)
	}
}

func TestWaitAlreadyCancelled(t *testing.T) {
	sb, _ := blocked(t, basePolicy(t))
	ctx, cancel := context.WithCancel(bg)
	cancel()
	status, err := sb.Wait(ctx)
	if !errors.Is(err, context.Canceled) || status.Reason != sandlock.ExitKilled {
		t.Errorf("Wait with a done context: %v %v", status, err)
	}
}

func TestPolicyTimeout(t *testing.T) {
	p := basePolicy(t)
	must(t, p.Timeout(50*time.Millisecond))
	sb, _ := blocked(t, p)
	status, err := sb.Wait(bg)
	if err != nil || status.Reason != sandlock.ExitTimeout {
		t.Errorf("Wait past the policy's timeout: %v %v", status, err)
	}
}

func TestKillFromAnotherGoroutine(t *testing.T) {
	sb, _ := blocked(t, basePolicy(t))
	result := make(chan sandlock.ExitStatus, 1)
	go func() {
		status, err := sb.Wait(bg)
		if err != nil {
			t.Errorf("wait: %v", err)
		}
		result <- status
	}()
	must(t, sb.Kill(syscall.SIGKILL))
	if status := <-result; status.Reason != sandlock.ExitKilled {
		t.Errorf("status after Kill: %v", status)
	}
}

func TestCloseDuringWait(t *testing.T) {
	sb, _ := blocked(t, basePolicy(t))
	pid := sb.Pid()
	result := make(chan error, 1)
	go func() {
		_, err := sb.Wait(bg)
		result <- err
	}()
	must(t, sb.Close())
	if err := <-result; err != sandlock.ErrClosed {
		t.Errorf("Wait interrupted by Close: %v", err)
	}
	if err := syscall.Kill(pid, 0); err != syscall.ESRCH {
		t.Errorf("Close left process %d: %v", pid, err)
	}
}

func TestStdinEOFEndsTheCommand(t *testing.T) {
	sb, w := blocked(t, basePolicy(t))
	w.Close()
	status, err := sb.Wait(bg)
	if err != nil || !status.Success() {
		t.Errorf("cat after EOF: %v %v", status, err)
	}
}
