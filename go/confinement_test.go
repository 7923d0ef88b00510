package sandlock_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	sandlock "github.com/sandlock/libsandlock/go"
)

func TestConfinementFiles(t *testing.T) {
	dir := t.TempDir()
	allowed := filepath.Join(dir, "allowed")
	must(t, os.Mkdir(allowed, 0o755))
	secret := filepath.Join(dir, "secret.txt")
	must(t, os.WriteFile(secret, []byte("top secret\n"), 0o644))
	p := basePolicy(t)
	must(t, p.FSWrite(allowed))

	t.Run("read outside fs_read is denied", func(t *testing.T) {
		o := run(t, p, "cat", secret)
		if o.status.Success() || strings.Contains(o.stdout, "top secret") {
			t.Fatalf("cat of a file outside the policy: %v, stdout %q", o.status, o.stdout)
		}
		contains(t, "stderr", o.stderr, "Permission denied")
	})
	t.Run("write inside fs_write is allowed", func(t *testing.T) {
		out := filepath.Join(allowed, "out")
		o := run(t, p, "sh", "-c", `echo written > "$1" && cat "$1"`, "sh", out)
		if !o.status.Success() || o.stdout != "written\n" {
			t.Fatalf("write inside the policy: %v, stdout %q, stderr %q", o.status, o.stdout, o.stderr)
		}
		got, err := os.ReadFile(out)
		must(t, err)
		if string(got) != "written\n" {
			t.Errorf("the host reads %q", got)
		}
	})
	t.Run("write outside fs_write is denied", func(t *testing.T) {
		escape := filepath.Join(dir, "escape")
		o := run(t, p, "sh", "-c", `echo escaped > "$1"`, "sh", escape)
		if o.status.Success() {
			t.Fatalf("write outside the policy succeeded")
		}
		contains(t, "stderr", o.stderr, "Permission denied")
		if _, err := os.Stat(escape); !os.IsNotExist(err) {
			t.Errorf("%s exists on the host (stat: %v)", escape, err)
		}
	})
}

func TestExitStatuses(t *testing.T) {
	p := basePolicy(t)
	if o := run(t, p, "sh", "-c", "exit 7"); o.status.Reason != sandlock.ExitNormal || o.status.Code != 7 {
		t.Errorf("exit 7: %+v", o.status)
	}
	o := run(t, p, "sh", "-c", "kill -TERM $$")
	if o.status.Reason != sandlock.ExitSignaled || o.status.Signal != syscall.SIGTERM || o.status.Code != -1 {
		t.Errorf("kill -TERM $$: %+v", o.status)
	}
	if got := o.status.String(); got != "signal: terminated" {
		t.Errorf("status string %q", got)
	}
}
