package sandlock_test

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
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
	waitParked(t, 1)
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
	waitParked(t, 1)
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
	waitParked(t, 1)
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

// Thousands of trapped calls (every open goes through the supervisor
// under fs_deny), several sandboxes at once, all supervised from the
// poller: no wake-up may be lost, or a sandbox would sit until its timeout.
func TestSupervisedCallsThroughThePoller(t *testing.T) {
	const sandboxes, opens = 4, 2000
	dir := t.TempDir()
	denied := dir + "/denied"
	must(t, os.WriteFile(denied, []byte("no"), 0o600))
	p := basePolicy(t)
	must(t, p.FSRead(dir))
	must(t, p.FSDeny(denied))
	script := `i=0; while [ $i -lt $1 ]; do : < /usr/bin/env || exit 1; i=$((i+1)); done; cat "$2"`
	type result struct {
		status sandlock.ExitStatus
		err    error
		stderr string
	}
	results := make(chan result, sandboxes)
	for i := 0; i < sandboxes; i++ {
		errR, errW := pipe(t)
		sb, err := p.Spawn([]string{"sh", "-c", script, "sh", strconv.Itoa(opens), denied},
			&sandlock.Stdio{Stderr: errW})
		errW.Close()
		must(t, err)
		defer sb.Close()
		stderr := readAll(errR)
		go func() {
			status, err := sb.Wait(bg)
			results <- result{status, err, <-stderr}
		}()
	}
	for i := 0; i < sandboxes; i++ {
		r := <-results
		// The loop ran to its end: exit 1 from the refused cat.
		if r.err != nil || r.status.Reason != sandlock.ExitNormal || r.status.Code != 1 ||
			!strings.Contains(r.stderr, "Permission denied") {
			t.Errorf("%v %v, stderr %q", r.status, r.err, r.stderr)
		}
	}
}
