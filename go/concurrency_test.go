package sandlock_test

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	sandlock "github.com/sandlock/libsandlock/go"
)

// Spawning and waiting from many goroutines at once, some sharing one
// policy and some with their own: run under -race.
func TestConcurrentSpawnAndWait(t *testing.T) {
	const goroutines, rounds = 16, 3
	fdsBefore := openFds(t)
	shared := basePolicy(t)
	policies := []*sandlock.Policy{shared}
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		p := shared
		if g%2 == 1 {
			p = basePolicy(t)
			policies = append(policies, p)
		}
		wg.Add(1)
		go func(g int, p *sandlock.Policy) {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				code := (g*rounds + r) % 100
				sb, err := p.Spawn([]string{"sh", "-c", "exit " + strconv.Itoa(code)}, nil)
				if err != nil {
					t.Errorf("goroutine %d: spawn: %v", g, err)
					return
				}
				status, err := sb.Wait(bg)
				sb.Close()
				if err != nil || status.Reason != sandlock.ExitNormal || status.Code != code {
					t.Errorf("goroutine %d round %d: %v %v, want exit code %d", g, r, status, err, code)
				}
			}
		}(g, p)
	}
	wg.Wait()
	// A policy keeps its Landlock ruleset fd from its first spawn on.
	for _, p := range policies {
		must(t, p.Close())
	}
	if after := openFds(t); after != fdsBefore {
		t.Errorf("open fds: %d before, %d after", fdsBefore, after)
	}
}

// Hundreds of sandboxes waited on at once park their goroutines in the
// runtime poller: the process does not grow an OS thread for each.
func TestManyWaitsFewThreads(t *testing.T) {
	n := 200
	if testing.Short() {
		n = 50
	}
	fdsBefore := openFds(t)
	p := basePolicy(t)
	threadsBefore := threads(t)
	// Every sandbox is a cat reading the same pipe: closing its writer
	// ends them all.
	r, w := pipe(t)
	sandboxes := make([]*sandlock.Sandbox, n)
	for i := range sandboxes {
		sb, err := p.Spawn([]string{"cat"}, &sandlock.Stdio{Stdin: r})
		if err != nil {
			t.Fatalf("spawn %d: %v", i, err)
		}
		defer sb.Close()
		sandboxes[i] = sb
	}
	r.Close()

	results := make(chan error, n)
	for _, sb := range sandboxes {
		go func(sb *sandlock.Sandbox) {
			status, err := sb.Wait(bg)
			if err == nil && !status.Success() {
				err = fmt.Errorf("status %v", status)
			}
			results <- err
		}(sb)
	}
	waitParked(t, n)
	during := threads(t)
	t.Logf("%d sandboxes waited on by %d parked goroutines: %d OS threads (%d before spawning)",
		n, n, during, threadsBefore)
	// The runtime keeps a few threads of its own (GOMAXPROCS, sysmon,
	// the race detector's); one per sandbox would be over n.
	if during > threadsBefore+n/4 {
		t.Errorf("%d OS threads while %d sandboxes are waited on (%d before)", during, n, threadsBefore)
	}

	w.Close()
	for range sandboxes {
		if err := <-results; err != nil {
			t.Error(err)
		}
	}
	for _, sb := range sandboxes {
		must(t, sb.Close())
	}
	must(t, p.Close())
	if after := openFds(t); after != fdsBefore {
		t.Errorf("open fds: %d before, %d after", fdsBefore, after)
	}
}

// threads is the Threads: line of /proc/self/status.
func threads(t *testing.T) int {
	t.Helper()
	status, err := os.ReadFile("/proc/self/status")
	must(t, err)
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "Threads:") {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "Threads:")))
			must(t, err)
			return n
		}
	}
	t.Fatal("no Threads: line in /proc/self/status")
	return 0
}

// waitParked waits until n goroutines sit in Sandbox.Wait parked on the
// runtime poller ("IO wait" in a goroutine dump).
func waitParked(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute) // a hang guard, not a measure
	for {
		if parked := parkedWaits(); parked >= n {
			return
		} else if time.Now().After(deadline) {
			t.Fatalf("only %d of %d Waits parked in the poller", parked, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func parkedWaits() int {
	buf := make([]byte, 1<<20)
	for {
		if size := runtime.Stack(buf, true); size < len(buf) {
			buf = buf[:size]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		if bytes.Contains(g, []byte("[IO wait")) && bytes.Contains(g, []byte("(*Sandbox).Wait(")) {
			count++
		}
	}
	return count
}
