package sandlock_test

import (
	"errors"
	"io/fs"
	"strings"
	"syscall"
	"testing"
	"time"

	sandlock "github.com/sandlock/libsandlock/go"
)

func TestBadInput(t *testing.T) {
	p := basePolicy(t)
	empty := sandlock.NewPolicy()
	defer empty.Close()
	cases := []struct {
		name  string
		err   error
		errno syscall.Errno
		text  string // the message must name the input
	}{
		{"missing fs_read path", p.FSRead("/nonexistent/sandlock-go-test"), syscall.ENOENT, "/nonexistent/sandlock-go-test"},
		{"bad CIDR", p.NetAllow("10.0.0.0/33:80"), syscall.EINVAL, "10.0.0.0/33:80"},
		{"unknown syscall", p.SyscallDeny("no_such_call"), syscall.EINVAL, "no_such_call"},
		{"bad ports", p.NetBind("80-"), syscall.EINVAL, "80-"},
		{"max_cpu over 100", p.MaxCPU(101), syscall.EINVAL, "101"},
		{"NUL in a path", p.FSRead("/usr\x00/etc"), syscall.EINVAL, `"/usr\x00/etc" contains a NUL byte`},
		{"NUL in an env value", p.EnvSet("A", "b\x00c"), syscall.EINVAL, "NUL byte"},
		{"negative timeout", p.Timeout(-time.Second), syscall.EINVAL, "-1s"},
		{"empty argv", spawnErr(p, nil), syscall.EINVAL, "argv is empty"},
		{"NUL in argv", spawnErr(p, []string{"true", "a\x00b"}), syscall.EINVAL, "argv[1]"},
		{"missing program", spawnErr(p, []string{"/nonexistent/prog"}), syscall.ENOENT, `execve "/nonexistent/prog"`},
		{"program not allowed", spawnErr(empty, []string{"/bin/true"}), syscall.EACCES, "/bin/true"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var e *sandlock.Error
			if !errors.As(c.err, &e) {
				t.Fatalf("want a *sandlock.Error, got %v", c.err)
			}
			if !errors.Is(c.err, c.errno) {
				t.Errorf("errno %v, want %v (%v)", e.Errno, c.errno, c.err)
			}
			if !strings.Contains(c.err.Error(), c.text) {
				t.Errorf("message %q does not name %q", c.err.Error(), c.text)
			}
			if !strings.HasPrefix(c.err.Error(), "sandlock: ") {
				t.Errorf("message %q lacks the package prefix", c.err.Error())
			}
		})
	}
	// errno wrapping reaches the io/fs sentinels too.
	if err := p.FSRead("/nonexistent/x"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(%v, fs.ErrNotExist) is false", err)
	}
	// A failure is not sticky: the policy still works.
	if o := run(t, p, "true"); !o.status.Success() {
		t.Errorf("true after failed calls: %v", o.status)
	}
}

func spawnErr(p *sandlock.Policy, argv []string) error {
	sb, err := p.Spawn(argv, nil)
	if err == nil {
		sb.Close()
		return errors.New("spawn succeeded")
	}
	return err
}

func TestClosedHandles(t *testing.T) {
	p := basePolicy(t)
	sb, err := p.Spawn([]string{"true"}, nil)
	must(t, err)
	must(t, p.Close())
	must(t, p.Close())
	if err := p.FSRead("/usr"); err != sandlock.ErrClosed {
		t.Errorf("FSRead on a closed policy: %v", err)
	}
	if _, err := p.Spawn([]string{"true"}, nil); err != sandlock.ErrClosed {
		t.Errorf("Spawn from a closed policy: %v", err)
	}
	// The sandbox outlives its policy.
	status, err := sb.Wait(bg)
	if err != nil || !status.Success() {
		t.Errorf("wait: %v %v", status, err)
	}
	must(t, sb.Close())
	must(t, sb.Close())
	if _, err := sb.Wait(bg); err != sandlock.ErrClosed {
		t.Errorf("Wait on a closed sandbox: %v", err)
	}
	if err := sb.Kill(syscall.SIGKILL); err != sandlock.ErrClosed {
		t.Errorf("Kill on a closed sandbox: %v", err)
	}
}
