package cli

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDataDirFlagBeatsBadDataDir: --data-dir replaces DATA_DIR before
// DATA_DIR is checked, so a bad configured DATA_DIR (here a file) does not
// stop a run that names its own directory.
func TestDataDirFlagBeatsBadDataDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	code, stdout, stderr := runCommand(t, context.Background(), map[string]string{"DATA_DIR": file}, "PUT k v\n", "--data-dir", dir)
	if code != ExitOK || stdout != "OK\n" {
		t.Fatalf("DATA_DIR=<file> aether-kv --data-dir DIR = %d, stdout %q, stderr %q; want 0, \"OK\\n\"", code, stdout, stderr)
	}
}

// TestDataDirFlagBeatsDefaultDataDir: the same with no environment at all:
// a file called "data" in the working directory (the built-in DATA_DIR
// ./data) broke every --data-dir run.
func TestDataDirFlagBeatsDefaultDataDir(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.WriteFile("data", []byte("notes"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, args := range [][]string{{"--data-dir", dir}, {"stats", "--data-dir", dir}, {"check", "--data-dir", dir}} {
		code, _, stderr := runCommand(t, context.Background(), nil, "PUT k v\n", args...)
		if code != ExitOK {
			t.Errorf("aether-kv %q with ./data a file = %d, stderr %q; want 0", args, code, stderr)
		}
	}
}

// TestShellIgnoresServeSettings: the shell uses none of serve's settings,
// so a generic variable such as ADDR (or PEERS, JOIN) in the environment,
// holding something serve would refuse, must not stop it.
func TestShellIgnoresServeSettings(t *testing.T) {
	for _, env := range []map[string]string{
		{"ADDR": "mail.example.com"},
		{"PEERS": "bob"},
		{"JOIN": "example.com:80"},
	} {
		code, stdout, stderr := runCommand(t, context.Background(), env, "PUT k v\n", "--data-dir", t.TempDir())
		if code != ExitOK || stdout != "OK\n" {
			t.Errorf("%v aether-kv (shell) = %d, stdout %q, stderr %q; want 0, \"OK\\n\"", env, code, stdout, stderr)
		}
	}
}

// TestPutEXLarge: PUT ... EX accepted seconds below 1e10, but from ~9.22e9
// on the duration overflowed and the reply was the false "time to live
// must be positive"; and below that, a deadline past 2262 (what Unix
// nanoseconds hold) was taken as one in the past: OK, and the key gone.
// Now such a key lives until 2262, and seconds past the longest duration
// are refused with the bound.
func TestPutEXLarge(t *testing.T) {
	code, stdout, stderr := runCommand(t, context.Background(), nil, "PUT k v EX 9000000000\nTTL k\nGET k\nPUT k v EX 9999999999\n", "--data-dir", t.TempDir())
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if code != ExitOK || len(lines) != 4 || lines[0] != "OK" || lines[2] != "v" {
		t.Fatalf("= %d, stdout %q, stderr %q; want OK, a TTL, v, an error", code, stdout, stderr)
	}
	if n, _ := strconv.ParseInt(lines[1], 10, 64); n < 7_000_000_000 {
		t.Errorf("TTL k = %q after EX 9000000000, want the seconds to 2262", lines[1])
	}
	if !strings.Contains(lines[3], "below 9223372036") {
		t.Errorf("PUT k v EX 9999999999 = %q, want an error naming the bound", lines[3])
	}
}

// TestServeAddrFlagBeatsBadADDR: serve's --addr corrects a bad ADDR in the
// environment (ADDR was checked, and refused, before the flag applied).
func TestServeAddrFlagBeatsBadADDR(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	code, _, stderr := runCommand(t, ctx, map[string]string{"ADDR": "bad"}, "", "serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir())
	if code != ExitOK || strings.Contains(stderr, "config:") {
		t.Errorf("ADDR=bad aether-kv serve --addr 127.0.0.1:0 = %d, stderr %q; want 0", code, stderr)
	}
}

// TestTornTailWarned: the shell opened the store with no logger, so the
// bytes Open cut from a torn log went unmentioned. The warning goes to
// standard error; standard output stays the replies.
func TestTornTailWarned(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := runCommand(t, context.Background(), nil, "PUT a 1\nPUT b 2\n", "--data-dir", dir); code != ExitOK {
		t.Fatalf("PUT = %d, stderr %q", code, stderr)
	}
	if err := os.Remove(filepath.Join(dir, "KEYDIR")); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "active.log"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("torn!!!")) // part of a record a crash cut short
	f.Close()
	code, stdout, stderr := runCommand(t, context.Background(), nil, "GET b\n", "--data-dir", dir)
	if code != ExitOK || stdout != "2\n" {
		t.Fatalf("GET b = %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "level=WARN") || !strings.Contains(stderr, "torn") {
		t.Errorf("stderr = %q, want a warning about the torn tail", stderr)
	}
}
