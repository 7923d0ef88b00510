package sandlock

import (
	"errors"
	"strings"
	"syscall"
)

// Error is a failure reported by libsandlock (or caught before a call
// reached it, such as a string holding a NUL byte). It wraps the errno, so
// errors.Is(err, syscall.EINVAL) and errors.Is(err, fs.ErrNotExist) work.
type Error struct {
	Op    string        // the call that failed: "fs_read", "spawn", ...
	Errno syscall.Errno // why, as the library returned it
	Msg   string        // the library's message, which names the input; may be ""
}

func (e *Error) Error() string {
	if e.Msg == "" {
		return "sandlock: " + e.Op + ": " + e.Errno.Error()
	}
	// The library's messages start with the operation already.
	if strings.HasPrefix(e.Msg, e.Op+":") || strings.HasPrefix(e.Msg, e.Op+" ") {
		return "sandlock: " + e.Msg
	}
	return "sandlock: " + e.Op + ": " + e.Msg
}

// Unwrap returns the errno.
func (e *Error) Unwrap() error { return e.Errno }

// ErrClosed is returned by calls on a Policy or Sandbox after Close.
var ErrClosed = errors.New("sandlock: use of a closed handle")

// check turns a library return value into an error: r < 0 is -errno, and
// message is called only then, for the library's text.
func check(op string, r int, message func() string) error {
	if r >= 0 {
		return nil
	}
	return &Error{Op: op, Errno: syscall.Errno(-r), Msg: message()}
}

// invalid is an EINVAL found on the Go side, before calling the library.
func invalid(op, msg string) error {
	return &Error{Op: op, Errno: syscall.EINVAL, Msg: op + ": " + msg}
}
