package sandlock

/*
#include <signal.h>
#include <sandlock.h>

// Steps until nothing is left to do now, with every signal blocked on this
// thread meanwhile. Go installs handlers for every signal (SIGCHLD, SIGURG
// for preemption, ...), and a handled signal interrupts the kernel's
// seccomp listener calls with EINTR. The library retries those (it once
// treated them as fatal for the sandbox: found by this package's tests);
// blocking them here as well keeps a step from being interrupted at all.
// Blocked, they are delivered when the step is done.
static int sandlock_go_drain(sandlock_sandbox *sb) {
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int r;
	while ((r = sandlock_supervise_step(sb)) == SANDLOCK_STEP_MORE) {
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}
*/
import "C"

import (
	"context"
	"errors"
	"os"
	"sync"
	"syscall"
	"time"
)

// Wait supervises the sandbox until every process of it is gone and
// returns how it ended. The goroutine is parked in Go's runtime poller
// between events, not in a blocking call, so waiting on many sandboxes at
// once costs goroutines, not OS threads.
//
// When ctx is done first, the sandbox is killed (SIGKILL), reaped, and
// Wait returns its status (ExitKilled) with ctx.Err(). After the sandbox
// has ended, Wait returns the same status again.
func (s *Sandbox) Wait(ctx context.Context) (ExitStatus, error) {
	s.mu.Lock()
	if s.ptr == nil || s.closing {
		s.mu.Unlock()
		return ExitStatus{}, ErrClosed
	}
	if s.exited {
		defer s.mu.Unlock()
		return s.status, nil
	}
	file := s.file
	s.mu.Unlock()

	conn, err := file.SyscallConn()
	if err != nil {
		return ExitStatus{}, err
	}
	alarm := newAlarm(ctx, file)
	defer alarm.stop()
	killed := false
	for {
		if err := alarm.arm(s.timeoutMs()); err != nil {
			return ExitStatus{}, err
		}
		var done bool
		var stepErr error
		// The callback runs with the fd's read lock held; returning false
		// parks the goroutine until the fd is readable (or the deadline
		// passes), then calls it again.
		err := conn.Read(func(uintptr) bool {
			done, stepErr = s.drain()
			return done || stepErr != nil || alarm.rang()
		})
		switch {
		case stepErr != nil:
			return ExitStatus{}, stepErr
		case done:
			s.mu.Lock()
			status := s.status
			s.mu.Unlock()
			if killed {
				return status, ctx.Err()
			}
			return status, nil
		case err != nil && s.isClosing():
			return ExitStatus{}, ErrClosed
		case err != nil && !errors.Is(err, os.ErrDeadlineExceeded):
			return ExitStatus{}, err
		}
		if alarm.rang() && !killed {
			if err := s.Kill(syscall.SIGKILL); err != nil {
				return ExitStatus{}, err
			}
			killed = true
			alarm.silence()
		}
	}
}

// drain steps the sandbox until nothing is left to do now; true once it
// has exited.
func (s *Sandbox) drain() (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ptr == nil || s.closing {
		return false, ErrClosed
	}
	switch r := C.sandlock_go_drain(s.ptr); {
	case r == C.SANDLOCK_STEP_EXITED:
		s.exited = true
		s.status = exitStatus(s.ptr)
		return true, nil
	case r < 0:
		return false, check("supervise_step", int(r), s.message)
	}
	return false, nil
}

func (s *Sandbox) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ptr == nil || s.closing
}

// timeoutMs is how long the library lets the host wait before stepping
// again, -1 for no limit.
func (s *Sandbox) timeoutMs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ptr == nil {
		return -1
	}
	return int(C.sandlock_sandbox_timeout_ms(s.ptr))
}

// alarm wakes a parked Wait through the fd's read deadline: for the
// library's timeout, and (once) when ctx is done. One lock orders the two
// so a cancellation is never overwritten by a later timeout.
type alarm struct {
	file *os.File

	mu       sync.Mutex
	ringing  bool // ctx is done and Wait has not acted on it yet
	silenced bool // Wait has acted on it

	quit chan struct{}
	done sync.WaitGroup
}

// longAgo is a deadline in the past: the poller wakes at once.
var longAgo = time.Unix(1, 0)

func newAlarm(ctx context.Context, file *os.File) *alarm {
	a := &alarm{file: file, quit: make(chan struct{})}
	if ctx.Done() == nil {
		return a
	}
	a.done.Add(1)
	go func() {
		defer a.done.Done()
		select {
		case <-ctx.Done():
			a.mu.Lock()
			a.ringing = true
			a.file.SetReadDeadline(longAgo)
			a.mu.Unlock()
		case <-a.quit:
		}
	}()
	return a
}

// arm sets the deadline for the next park: the library's timeout, or
// none; a pending cancellation keeps its past deadline.
func (a *alarm) arm(timeoutMs int) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ringing && !a.silenced {
		return nil
	}
	deadline := time.Time{}
	if timeoutMs >= 0 {
		deadline = time.Now().Add(time.Duration(timeoutMs) * time.Millisecond)
	}
	return a.file.SetReadDeadline(deadline)
}

func (a *alarm) rang() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.ringing && !a.silenced
}

func (a *alarm) silence() {
	a.mu.Lock()
	a.silenced = true
	a.mu.Unlock()
}

// stop ends the watcher and waits for it, so it cannot touch the deadline
// of a later Wait.
func (a *alarm) stop() {
	close(a.quit)
	a.done.Wait()
}
