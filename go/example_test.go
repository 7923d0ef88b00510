package sandlock_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"os"
	"syscall"
	"time"

	sandlock "github.com/sandlock/libsandlock/go"
)

// The README's Go program, as a tested example (readme_test.go runs the
// README's copy and compares its output with the one below).
func Example() {
	p := sandlock.NewPolicy()
	defer p.Close()
	// Programs and their libraries, read-only; nothing else of the files.
	for _, path := range []string{"/usr", "/lib", "/lib64", "/bin", "/etc/ld.so.cache"} {
		if err := p.FSRead(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			log.Fatal(err)
		}
	}
	if err := p.Timeout(10 * time.Second); err != nil {
		log.Fatal(err)
	}

	// Spawn, then wait in Go's poller (cancelling ctx would kill it).
	sb, err := p.Spawn([]string{"sh", "-c", "echo hello from the sandbox; cat /etc/passwd"},
		&sandlock.Stdio{Stdout: os.Stdout, Stderr: os.Stdout})
	if err != nil {
		log.Fatal(err)
	}
	defer sb.Close()
	status, err := sb.Wait(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(status)

	// Or run to completion, the output captured.
	r, err := p.Run([]string{"tr", "a-z", "A-Z"}, []byte("shout\n"), time.Second)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s%v\n", r.Stdout, r.ExitStatus)

	// Bad input is an error that names it and wraps the errno.
	err = p.NetAllow("10.0.0.0/33:80")
	fmt.Println(errors.Is(err, syscall.EINVAL), err)

	// Output:
	// hello from the sandbox
	// cat: /etc/passwd: Permission denied
	// exit code 1
	// SHOUT
	// exit code 0
	// true sandlock: net_allow: "10.0.0.0/33:80": prefix length 33 is over 32
}
