package sandlock_test

import (
	"bufio"
	"context"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	sandlock "github.com/sandlock/libsandlock/go"
)

var pollerUp sync.Once

// systemPaths are what a dynamically linked program needs to start.
var systemPaths = []string{"/usr", "/lib", "/lib64", "/bin", "/etc/ld.so.cache"}

// basePolicy can run the system's programs and nothing else; its timeout
// only stops a broken test from hanging.
func basePolicy(t *testing.T) *sandlock.Policy {
	t.Helper()
	p := sandlock.NewPolicy()
	t.Cleanup(func() { p.Close() })
	for _, path := range systemPaths {
		if _, err := os.Stat(path); err == nil {
			must(t, p.FSRead(path))
		}
	}
	must(t, p.FSWrite("/dev/null"))
	must(t, p.Timeout(60*time.Second))
	return p
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

type outcome struct {
	status         sandlock.ExitStatus
	stdout, stderr string
}

// run spawns argv under p with its output captured and waits for it.
func run(t *testing.T, p *sandlock.Policy, argv ...string) outcome {
	t.Helper()
	outR, outW := pipe(t)
	errR, errW := pipe(t)
	sb, err := p.Spawn(argv, &sandlock.Stdio{Stdout: outW, Stderr: errW})
	outW.Close()
	errW.Close()
	if err != nil {
		t.Fatalf("spawn %q: %v", argv, err)
	}
	defer sb.Close()
	stdout, stderr := readAll(outR), readAll(errR)
	status, err := sb.Wait(context.Background())
	if err != nil {
		t.Fatalf("wait %q: %v", argv, err)
	}
	return outcome{status, <-stdout, <-stderr}
}

func pipe(t *testing.T) (*os.File, *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	must(t, err)
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

// readAll reads r to its end in the background.
func readAll(r io.Reader) <-chan string {
	c := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(r)
		c <- string(b)
	}()
	return c
}

func contains(t *testing.T, what, s, want string) {
	t.Helper()
	if !strings.Contains(s, want) {
		t.Errorf("%s %q does not contain %q", what, s, want)
	}
}

// openFds counts this process's open descriptors, once the runtime's
// poller (which keeps a few of its own) is up.
func openFds(t *testing.T) int {
	t.Helper()
	pollerUp.Do(func() {
		r, w, err := os.Pipe()
		must(t, err)
		r.Close()
		w.Close()
	})
	entries, err := os.ReadDir("/proc/self/fd")
	must(t, err)
	return len(entries)
}

// lineReader returns a function giving the next line of r, failing the
// test when the output ends first.
func lineReader(t *testing.T, r io.Reader) func() string {
	lines := bufio.NewScanner(r)
	return func() string {
		t.Helper()
		if !lines.Scan() {
			t.Fatalf("the sandbox's output ended: %v", lines.Err())
		}
		return lines.Text()
	}
}
