package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckCommand(t *testing.T) {
	dir := t.TempDir()
	var input strings.Builder
	for i := range 50 {
		input.WriteString("PUT key" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + " value-" + strings.Repeat("v", i) + "\n")
	}
	if code, _, stderr := runCommand(t, context.Background(), nil, input.String(), "--data-dir", dir); code != ExitOK {
		t.Fatalf("loading: exit %d, %s", code, stderr)
	}
	code, stdout, _ := runCommand(t, context.Background(), nil, "", "check", "--data-dir", dir)
	if code != ExitOK || !strings.Contains(stdout, "50 valid records") || !strings.HasSuffix(strings.TrimSpace(stdout), "OK") {
		t.Fatalf("check of a clean store = %d, %q", code, stdout)
	}

	log := filepath.Join(dir, "active.log")
	b, _ := os.ReadFile(log)
	b[len(b)/2] ^= 0x40 // inside some record in the middle
	os.WriteFile(log, b, 0o600)
	code, stdout, stderr := runCommand(t, context.Background(), nil, "", "check", "--data-dir", dir)
	if code != ExitError || !strings.Contains(stdout, "DAMAGED at offset") || !strings.Contains(stderr, "check --repair") {
		t.Fatalf("check of a damaged store = %d, stdout %q, stderr %q; want exit 1, the offset, and advice", code, stdout, stderr)
	}
	code, stdout, _ = runCommand(t, context.Background(), nil, "", "check", "--repair", "--data-dir", dir)
	if code != ExitOK || !strings.Contains(stdout, "repair: active.log: kept 49 records") || !strings.Contains(stdout, "originals are kept in") {
		t.Fatalf("check --repair = %d, %q", code, stdout)
	}
	code, stdout, _ = runCommand(t, context.Background(), nil, "", "check", "--data-dir", dir)
	if code != ExitOK || !strings.Contains(stdout, "49 valid records") {
		t.Fatalf("check after repair = %d, %q", code, stdout)
	}
}

func TestBackupCommand(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := runCommand(t, context.Background(), nil, "PUT a 1\nPUT b 2\n", "--data-dir", dir); code != ExitOK {
		t.Fatalf("loading: exit %d, %s", code, stderr)
	}
	dest := filepath.Join(t.TempDir(), "copy")
	code, stdout, stderr := runCommand(t, context.Background(), nil, "", "backup", dest, "--data-dir", dir)
	if code != ExitOK || !strings.Contains(stdout, "backup of "+dir+" in "+dest) {
		t.Fatalf("backup = %d, %q, %q", code, stdout, stderr)
	}
	code, stdout, _ = runCommand(t, context.Background(), nil, "GET a\nGET b\n", "--data-dir", dest)
	if code != ExitOK || stdout != "1\n2\n" {
		t.Fatalf("reading the backup = %d, %q", code, stdout)
	}
	if code, _, _ := runCommand(t, context.Background(), nil, "", "backup", "--data-dir", dir); code != ExitUsage {
		t.Fatalf("backup without DEST = %d, want %d", code, ExitUsage)
	}
}
