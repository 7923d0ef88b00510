package sandlock_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	sandlock "github.com/sandlock/libsandlock/go"
)

// A denied connect and a denied open land in the log, read while Wait
// runs in another goroutine (under -race) and after it.
func TestEventLogDenials(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	must(t, os.WriteFile(secret, []byte("no"), 0o600))

	p := basePolicy(t)
	must(t, p.NetAllow(fmt.Sprintf("127.0.0.1:%d", port+1)))
	must(t, p.FSRead(dir))
	must(t, p.FSDeny(secret))
	script := fmt.Sprintf(`exec 3<>/dev/tcp/127.0.0.1/%d; cat "$1"; exit 0`, port)
	sb, err := p.Spawn([]string{"bash", "-c", script, "bash", secret}, &sandlock.Stdio{Stderr: devNull(t)})
	must(t, err)
	defer sb.Close()
	waited := make(chan error, 1)
	go func() {
		status, err := sb.Wait(bg)
		if err == nil && !status.Success() {
			err = fmt.Errorf("status %v", status)
		}
		waited <- err
	}()
	// Read the log while Wait steps the sandbox, then the rest after.
	var events []sandlock.Event
	for running := true; running; {
		select {
		case err := <-waited:
			must(t, err)
			running = false
		default:
		}
		more, err := sb.Events()
		must(t, err)
		events = append(events, more...)
	}
	more, err := sb.Events()
	must(t, err)
	events = append(events, more...)

	var connect, open *sandlock.Event
	for i := range events {
		e := &events[i]
		t.Logf("logged: %v", e)
		switch {
		case e.Kind == sandlock.EventConnect && connect == nil:
			connect = e
		case e.Kind == sandlock.EventOpen && e.Path == secret && open == nil:
			open = e
		}
	}
	if connect == nil {
		t.Fatalf("no connect in the log")
	}
	if connect.Address != "127.0.0.1" || int(connect.Port) != port || connect.Family != syscall.AF_INET ||
		connect.Protocol != syscall.IPPROTO_TCP || connect.Syscall != "connect" || connect.Denied == 0 ||
		connect.Verdict.Errno() != connect.Denied || connect.Pid <= 0 {
		t.Errorf("the denied connect: %+v", *connect)
	}
	if open == nil {
		t.Fatalf("no open of %s in the log", secret)
	}
	if open.Detail != "fs_deny" || open.Denied != syscall.EACCES || open.Verdict != sandlock.DenyWith(syscall.EACCES) ||
		open.Pid <= 0 || !strings.HasPrefix(open.Syscall, "open") {
		t.Errorf("the denied open: %+v", *open)
	}
	if got := open.Kind.String(); got != "open" {
		t.Errorf("kind string %q", got)
	}
	// Read to its end, the log stays empty; a closed sandbox has none.
	if _, ok, err := sb.NextEvent(); ok || err != nil {
		t.Errorf("NextEvent on a drained log: %v %v", ok, err)
	}
	must(t, sb.Close())
	if _, _, err := sb.NextEvent(); err != sandlock.ErrClosed {
		t.Errorf("NextEvent after Close: %v", err)
	}
}

func TestEventKindAndVerdictStrings(t *testing.T) {
	kinds := map[sandlock.EventKind]string{
		sandlock.EventConnect:                     "connect",
		sandlock.EventExec | sandlock.EventDenial: "exec|denial",
		sandlock.EventAll:                         "exec|connect|bind|open|fork|exit|limit|denial",
		0:                                         "none",
		sandlock.EventKind(1 << 9):                "EventKind(0x200)",
	}
	for k, want := range kinds {
		if got := k.String(); got != want {
			t.Errorf("EventKind(%#x): %q, want %q", uint32(k), got, want)
		}
	}
	verdicts := map[sandlock.Verdict]string{
		sandlock.Allow:                    "allow",
		sandlock.Deny:                     "deny",
		sandlock.Audit:                    "audit",
		sandlock.Kill:                     "kill",
		sandlock.DenyWith(syscall.EACCES): "deny: permission denied",
	}
	for v, want := range verdicts {
		if got := v.String(); got != want {
			t.Errorf("Verdict(%d): %q, want %q", int(v), got, want)
		}
	}
	if e := sandlock.Deny.Errno(); e != syscall.EPERM {
		t.Errorf("Deny's errno %v", e)
	}
}

func devNull(t *testing.T) *os.File {
	t.Helper()
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	must(t, err)
	t.Cleanup(func() { f.Close() })
	return f
}
