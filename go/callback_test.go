package sandlock_test

import (
	"strings"
	"sync"
	"syscall"
	"testing"

	sandlock "github.com/sandlock/libsandlock/go"
)

// A callback refuses one exec by its arguments; the shell sees EACCES and
// goes on, and the refusal is in the log.
func TestCallbackDeniesExec(t *testing.T) {
	p := basePolicy(t)
	var mu sync.Mutex
	var seen []sandlock.Event
	var liveAfter *sandlock.Live
	must(t, p.OnEvent(sandlock.EventExec, func(ev sandlock.Event, live *sandlock.Live) sandlock.Verdict {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, ev)
		liveAfter = live
		if len(ev.Argv) > 1 && ev.Argv[1] == "forbidden" {
			return sandlock.DenyWith(syscall.EACCES)
		}
		return sandlock.Allow
	}))
	o := run(t, p, "sh", "-c", `/bin/echo allowed; /bin/echo forbidden || echo "refused $?"`)
	if !o.status.Success() || o.stdout != "allowed\nrefused 126\n" {
		t.Fatalf("%v, stdout %q, stderr %q", o.status, o.stdout, o.stderr)
	}
	contains(t, "stderr", o.stderr, "Permission denied")

	mu.Lock()
	defer mu.Unlock()
	var argvs []string
	for _, ev := range seen {
		if ev.Kind != sandlock.EventExec || ev.Pid <= 0 || !strings.HasPrefix(ev.Syscall, "execve") {
			t.Errorf("an exec event: %+v", ev)
		}
		argvs = append(argvs, strings.Join(ev.Argv, " "))
	}
	got := strings.Join(argvs, "; ")
	if !strings.Contains(got, "/bin/echo allowed; /bin/echo forbidden") {
		t.Errorf("the callback saw %q", got)
	}
	// Its Live is for the duration of the call only.
	if liveAfter == nil {
		t.Fatal("no callback call")
	}
	if err := liveAfter.NetClear(); err != sandlock.ErrClosed {
		t.Errorf("Live.NetClear after the callback: %v", err)
	}
}

// The refusal is logged, with the verdict; the callback may change the
// live policy from inside; a panicking callback kills the sandbox.
func TestCallbackLogLiveAndPanic(t *testing.T) {
	p := basePolicy(t)
	var liveErr error
	must(t, p.OnEvent(sandlock.EventExec, func(ev sandlock.Event, live *sandlock.Live) sandlock.Verdict {
		if len(ev.Argv) > 1 && ev.Argv[1] == "boom" {
			panic("boom")
		}
		if len(ev.Argv) > 1 && ev.Argv[1] == "forbidden" {
			liveErr = live.NetAllow("127.0.0.1:1")
			return sandlock.Deny
		}
		return sandlock.Allow
	}))
	sb, err := p.Spawn([]string{"sh", "-c", "/bin/echo forbidden; exit 0"}, &sandlock.Stdio{Stderr: devNull(t)})
	must(t, err)
	defer sb.Close()
	status, err := sb.Wait(bg)
	if err != nil || !status.Success() {
		t.Fatalf("%v %v", status, err)
	}
	// This sandbox has no network rules: the call is refused, but made.
	if liveErr == nil || !strings.Contains(liveErr.Error(), "net_allow") {
		t.Errorf("Live.NetAllow from the callback: %v", liveErr)
	}
	events, err := sb.Events()
	must(t, err)
	found := false
	for _, ev := range events {
		if ev.Kind == sandlock.EventExec && ev.Verdict == sandlock.Deny && len(ev.Argv) == 2 && ev.Argv[1] == "forbidden" {
			found = true
		}
	}
	if !found {
		t.Errorf("no denied exec in the log: %v", events)
	}

	o := run(t, p, "sh", "-c", "/bin/echo boom; sleep 100")
	if o.status.Reason != sandlock.ExitKilled {
		t.Errorf("after a panicking callback: %v", o.status)
	}
	// Removed, it sees nothing.
	must(t, p.OnEvent(0, nil))
	if o := run(t, p, "sh", "-c", "/bin/echo boom"); !o.status.Success() || o.stdout != "boom\n" {
		t.Errorf("without the callback: %v %q", o.status, o.stdout)
	}
}
