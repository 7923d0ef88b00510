package sandlock_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The README's Go program builds against this package and prints what the
// README says it prints.
func TestReadmeProgram(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH")
	}
	readme, err := os.ReadFile("../README.md")
	must(t, err)
	section := after(t, string(readme), "## A host in Go\n")
	program := between(t, section, "```go\n", "```\n")
	output := between(t, section, "prints\n\n```\n", "```\n")

	here, err := os.Getwd()
	must(t, err)
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte(program), 0o644))
	mod := "module readme\n\ngo 1.19\n\nrequire github.com/sandlock/libsandlock/go v0.0.0\n\n" +
		"replace github.com/sandlock/libsandlock/go => " + here + "\n"
	must(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod), 0o644))
	cmd := exec.Command(goBin, "run", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go run of the README's program: %v\n%s", err, out)
	}
	if string(out) != output {
		t.Errorf("the README's program printed\n%s\nthe README says\n%s", out, output)
	}
}

func after(t *testing.T, s, marker string) string {
	t.Helper()
	i := strings.Index(s, marker)
	if i < 0 {
		t.Fatalf("no %q in the README", marker)
	}
	return s[i+len(marker):]
}

func between(t *testing.T, s, open, close string) string {
	t.Helper()
	rest := after(t, s, open)
	j := strings.Index(rest, close)
	if j < 0 {
		t.Fatalf("no %q after %q in the README", close, open)
	}
	return rest[:j]
}
