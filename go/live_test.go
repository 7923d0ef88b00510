package sandlock_test

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"

	sandlock "github.com/sandlock/libsandlock/go"
)

// A running sandbox retries a connect to a loopback listener: refused at
// first, let through by NetAllow, refused again after NetClear. Wait runs
// in its own goroutine meanwhile.
func TestLiveNetAllowAndClear(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	var accepted atomic.Int64
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			conn.Close()
		}
	}()

	p := basePolicy(t)
	// Sockets are allowed, this port is not.
	must(t, p.NetAllow(fmt.Sprintf("127.0.0.1:%d", port+1)))
	// One attempt at a time, each reported on stdout in order.
	script := fmt.Sprintf(`while :; do
		if (exec 3<>/dev/tcp/127.0.0.1/%d) 2>/dev/null; then echo ok; else echo fail; fi
		sleep 0.1
	done`, port)
	outR, outW := pipe(t)
	sb, err := p.Spawn([]string{"bash", "-c", script}, &sandlock.Stdio{Stdout: outW})
	outW.Close()
	must(t, err)
	defer sb.Close()
	waited := make(chan sandlock.ExitStatus, 1)
	go func() {
		status, _ := sb.Wait(bg)
		waited <- status
	}()
	next := lineReader(t, outR)
	oks := 0
	count := func(line string) string {
		if line == "ok" {
			oks++
		}
		return line
	}

	for i := 0; i < 3; i++ {
		if line := count(next()); line != "fail" {
			t.Fatalf("attempt %d before NetAllow: %q", i, line)
		}
	}
	if n := accepted.Load(); n != 0 {
		t.Fatalf("%d connections reached the listener before NetAllow", n)
	}
	events, err := sb.Events()
	must(t, err)
	if len(events) == 0 || events[0].Kind != sandlock.EventConnect || int(events[0].Port) != port {
		t.Errorf("the log before NetAllow: %v", events)
	}

	must(t, sb.NetAllow(fmt.Sprintf("127.0.0.1:%d", port)))
	// An attempt already refused may still report; then they pass.
	for count(next()) != "ok" {
	}
	must(t, sb.NetClear())
	// Once one attempt is refused after the clear, every later one is.
	for count(next()) != "fail" {
	}
	for i := 0; i < 3; i++ {
		if line := count(next()); line != "fail" {
			t.Fatalf("attempt %d after NetClear: %q", i, line)
		}
	}
	// Every connection that reached the listener was an "ok", all of
	// them made before the clear.
	for accepted.Load() < int64(oks) {
		if line := count(next()); line != "fail" {
			t.Fatalf("an attempt after NetClear: %q", line)
		}
	}
	if n := accepted.Load(); n != int64(oks) {
		t.Errorf("%d connections accepted, %d attempts passed", n, oks)
	}

	must(t, sb.Kill(syscall.SIGKILL))
	if status := <-waited; status.Reason != sandlock.ExitKilled {
		t.Errorf("status after Kill: %v", status)
	}
}

// The live calls check their input and say when the sandbox cannot take
// them.
func TestLivePolicyErrors(t *testing.T) {
	p := basePolicy(t)
	sb, w := blocked(t, p)
	defer w.Close()
	cases := []struct {
		name  string
		err   error
		errno syscall.Errno
		text  string
	}{
		{"bad CIDR", sb.NetAllow("10.0.0.0/33:80"), syscall.EINVAL, "10.0.0.0/33:80"},
		{"NUL in a spec", sb.NetAllow("127.0.0.1\x00:80"), syscall.EINVAL, "NUL byte"},
		{"fs_deny without open events", sb.FSDeny("/usr"), 0, "fs_deny"},
		{"max_memory without a memory limit", sb.MaxMemory(1 << 30), 0, "max_memory"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var e *sandlock.Error
			if !errors.As(c.err, &e) {
				t.Fatalf("want a *sandlock.Error, got %v", c.err)
			}
			if c.errno != 0 && e.Errno != c.errno {
				t.Errorf("errno %v, want %v (%v)", e.Errno, c.errno, c.err)
			}
			contains(t, "message", c.err.Error(), c.text)
			t.Logf("%v", c.err)
		})
	}
	must(t, sb.Close())
	if err := sb.NetClear(); err != sandlock.ErrClosed {
		t.Errorf("NetClear after Close: %v", err)
	}
}

// A sandbox spawned with an fs_deny rule (so its opens are seen) loses
// another file while it runs.
func TestLiveFSDeny(t *testing.T) {
	dir := t.TempDir()
	secret, other := filepath.Join(dir, "secret"), filepath.Join(dir, "other")
	must(t, os.WriteFile(secret, []byte("s"), 0o600))
	must(t, os.WriteFile(other, []byte("o"), 0o600))
	p := basePolicy(t)
	must(t, p.FSRead(dir))
	must(t, p.FSDeny(other))
	script := `while :; do
		if cat "$1" >/dev/null 2>&1; then echo ok; else echo fail; fi
		sleep 0.1
	done`
	outR, outW := pipe(t)
	sb, err := p.Spawn([]string{"bash", "-c", script, "bash", secret}, &sandlock.Stdio{Stdout: outW})
	outW.Close()
	must(t, err)
	defer sb.Close()
	go sb.Wait(bg)
	next := lineReader(t, outR)
	if line := next(); line != "ok" {
		t.Fatalf("a read before FSDeny: %q", line)
	}
	must(t, sb.FSDeny(secret))
	for next() != "fail" {
	}
	for i := 0; i < 3; i++ {
		if line := next(); line != "fail" {
			t.Fatalf("read %d after FSDeny: %q", i, line)
		}
	}
	events, err := sb.Events()
	must(t, err)
	found := false
	for _, e := range events {
		if e.Kind == sandlock.EventOpen && e.Path == secret && e.Denied == syscall.EACCES && e.Detail == "fs_deny" {
			found = true
		}
	}
	if !found {
		t.Errorf("no denied open of %s in the log: %v", secret, events)
	}
}
