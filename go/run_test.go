package sandlock_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	sandlock "github.com/sandlock/libsandlock/go"
)

func TestRun(t *testing.T) {
	p := basePolicy(t)
	t.Run("stdin in, stdout and stderr out", func(t *testing.T) {
		r, err := p.Run([]string{"sh", "-c", "tr a-z A-Z; echo done >&2; exit 3"}, []byte("hello\n"), 0)
		must(t, err)
		if r.Reason != sandlock.ExitNormal || r.Code != 3 {
			t.Errorf("status %v", r.ExitStatus)
		}
		if string(r.Stdout) != "HELLO\n" || string(r.Stderr) != "done\n" {
			t.Errorf("stdout %q, stderr %q", r.Stdout, r.Stderr)
		}
	})
	t.Run("a megabyte each way", func(t *testing.T) {
		in := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
		r, err := p.Run([]string{"cat"}, in, 0)
		must(t, err)
		if !r.Success() || !bytes.Equal(r.Stdout, in) || len(r.Stderr) != 0 {
			t.Errorf("cat of %d bytes: %v, %d bytes out, stderr %q", len(in), r.ExitStatus, len(r.Stdout), r.Stderr)
		}
	})
	t.Run("no output is an empty slice", func(t *testing.T) {
		r, err := p.Run([]string{"true"}, nil, 0)
		must(t, err)
		if !r.Success() || r.Stdout == nil || len(r.Stdout) != 0 {
			t.Errorf("true: %v, stdout %#v", r.ExitStatus, r.Stdout)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		r, err := p.Run([]string{"sh", "-c", "exec sleep 1000"}, nil, 50*time.Millisecond)
		must(t, err)
		if r.Reason != sandlock.ExitTimeout {
			t.Errorf("status %v, want timed out", r.ExitStatus)
		}
	})
	t.Run("confined like Spawn", func(t *testing.T) {
		secret := filepath.Join(t.TempDir(), "secret")
		must(t, os.WriteFile(secret, []byte("top secret"), 0o600))
		r, err := p.Run([]string{"cat", secret}, nil, 0)
		must(t, err)
		if r.Success() || strings.Contains(string(r.Stdout), "top secret") {
			t.Errorf("cat of a file outside the policy: %v, stdout %q", r.ExitStatus, r.Stdout)
		}
		contains(t, "stderr", string(r.Stderr), "Permission denied")
	})
	t.Run("bad input", func(t *testing.T) {
		if _, err := p.Run(nil, nil, 0); !errors.Is(err, syscall.EINVAL) {
			t.Errorf("empty argv: %v", err)
		}
		if _, err := p.Run([]string{"true"}, nil, -time.Second); !errors.Is(err, syscall.EINVAL) {
			t.Errorf("negative timeout: %v", err)
		}
		_, err := p.Run([]string{"/nonexistent/prog"}, nil, 0)
		if !errors.Is(err, syscall.ENOENT) || !strings.Contains(err.Error(), "/nonexistent/prog") {
			t.Errorf("missing program: %v", err)
		}
	})
}
