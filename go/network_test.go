package sandlock_test

import (
	"fmt"
	"io"
	"net"
	"testing"
)

// connect is a shell command that opens a TCP connection and says hello.
func connect(port int) []string {
	script := fmt.Sprintf("exec 3<>/dev/tcp/127.0.0.1/%d && echo hello >&3", port)
	return []string{"bash", "-c", script}
}

func TestNetworkRules(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	greetings := make(chan string, 4)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			b, _ := io.ReadAll(conn)
			conn.Close()
			greetings <- string(b)
		}
	}()

	t.Run("net_allow of the listener's port", func(t *testing.T) {
		p := basePolicy(t)
		must(t, p.NetAllow(fmt.Sprintf("127.0.0.1:%d", port)))
		o := run(t, p, connect(port)...)
		if !o.status.Success() {
			t.Fatalf("allowed connect: %v, stderr %q", o.status, o.stderr)
		}
		if got := <-greetings; got != "hello\n" {
			t.Errorf("listener got %q", got)
		}
	})
	t.Run("net_allow of another port", func(t *testing.T) {
		p := basePolicy(t)
		must(t, p.NetAllow(fmt.Sprintf("127.0.0.1:%d", port+1)))
		o := run(t, p, connect(port)...)
		if o.status.Success() {
			t.Fatalf("connect to a port outside net_allow succeeded")
		}
		contains(t, "stderr", o.stderr, "Permission denied")
	})
	t.Run("no net_allow at all", func(t *testing.T) {
		o := run(t, basePolicy(t), connect(port)...)
		if o.status.Success() {
			t.Fatalf("connect without any network rule succeeded")
		}
		// Without any rule not even a socket can be made.
		contains(t, "stderr", o.stderr, "socket: Operation not permitted")
	})
	// Only the allowed connection reached the listener.
	select {
	case got := <-greetings:
		t.Errorf("an unexpected connection said %q", got)
	default:
	}
}
