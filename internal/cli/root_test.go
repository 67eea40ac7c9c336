package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	aetherkv "github.com/aether-kv/aether-kv"
)

// mapEnv returns a getenv that reads m instead of the environment.
func mapEnv(m map[string]string) func(string) (string, bool) {
	return func(key string) (string, bool) {
		v, ok := m[key]
		return v, ok
	}
}

// runCommand runs the aether-kv command with args and input and returns
// its exit status, standard output and standard error.
func runCommand(t *testing.T, ctx context.Context, env map[string]string, input string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := NewRootCommand(strings.NewReader(input), &out, &errOut, mapEnv(env))
	root.SetArgs(args)
	code = Execute(ctx, root)
	return code, out.String(), errOut.String()
}

func TestRootSession(t *testing.T) {
	const input = "PUT user:1 \"John Doe\"\nGET user:1\nDELETE user:1\nGET user:1\nEXIT\n"
	const want = "OK\nJohn Doe\nOK\nError: key not found\nGoodbye!\n"
	tests := []struct {
		name string
		args func(dir string) []string
	}{
		{"root", func(dir string) []string { return []string{"--data-dir", dir} }},
		{"shell", func(dir string) []string { return []string{"shell", "--data-dir", dir} }},
		{"flag first", func(dir string) []string { return []string{"--data-dir=" + dir, "shell"} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args(t.TempDir())
			code, stdout, stderr := runCommand(t, context.Background(), nil, input, args...)
			if code != ExitOK || stdout != want || stderr != "" {
				t.Errorf("aether-kv %q = %d, stdout %q, stderr %q; want %d, %q, \"\"", args, code, stdout, stderr, ExitOK, want)
			}
		})
	}
}

func TestRootPersists(t *testing.T) {
	dir := t.TempDir()
	steps := []struct{ input, want string }{
		{"PUT k \"v w\"\nPUT gone x\nDELETE gone\n", "OK\nOK\nOK\n"},
		{"GET k\nGET gone\n", "v w\nError: key not found\n"},
	}
	for _, step := range steps {
		code, stdout, stderr := runCommand(t, context.Background(), nil, step.input, "--data-dir", dir)
		if code != ExitOK || stdout != step.want {
			t.Fatalf("aether-kv with input %q = %d, stdout %q, stderr %q; want %d, %q", step.input, code, stdout, stderr, ExitOK, step.want)
		}
	}
}

func TestRootDataDirFromConfig(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	configFile := filepath.Join(t.TempDir(), "config.yml")
	if err := os.WriteFile(configFile, []byte("DATA_DIR: ${MY_DIR}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"DATA_DIR", map[string]string{"DATA_DIR": dir}, nil},
		{"config file", map[string]string{"MY_DIR": dir}, []string{"--config", configFile}},
		{"flag beats DATA_DIR", map[string]string{"DATA_DIR": "/nonexistent/x"}, []string{"--data-dir", dir}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCommand(t, context.Background(), tt.env, "PUT k v\n", tt.args...)
			if code != ExitOK || stdout != "OK\n" {
				t.Fatalf("aether-kv %q = %d, stdout %q, stderr %q; want %d, \"OK\\n\"", tt.args, code, stdout, stderr, ExitOK)
			}
			if _, err := os.Stat(filepath.Join(dir, "active.log")); err != nil {
				t.Errorf("data not written to %s: %v", dir, err)
			}
			os.RemoveAll(dir)
		})
	}
}

func TestRootErrors(t *testing.T) {
	locked := t.TempDir()
	db, err := aetherkv.Open(locked, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	badConfig := filepath.Join(t.TempDir(), "bad.yml")
	if err := os.WriteFile(badConfig, []byte("NO_SUCH_KEY: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"unknown flag", []string{"--bogus"}, ExitUsage},
		{"unknown command", []string{"bogus"}, ExitUsage},
		{"shell argument", []string{"shell", "extra"}, ExitUsage},
		{"missing flag value", []string{"--data-dir"}, ExitUsage},
		{"empty data dir", []string{"--data-dir="}, ExitUsage},
		{"missing config file", []string{"--config", filepath.Join(t.TempDir(), "none.yml")}, ExitError},
		{"invalid config file", []string{"--config", badConfig}, ExitError},
		{"locked data dir", []string{"--data-dir", locked}, ExitError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCommand(t, context.Background(), nil, "PUT k v\n", tt.args...)
			if code != tt.want || stdout != "" || !strings.HasPrefix(stderr, "aether-kv: ") || strings.Count(stderr, "\n") != 1 {
				t.Errorf("aether-kv %q = %d, stdout %q, stderr %q; want %d, no output, one line \"aether-kv: ...\"", tt.args, code, stdout, stderr, tt.want)
			}
		})
	}
}

func TestRootLockedMessage(t *testing.T) {
	dir := t.TempDir()
	db, err := aetherkv.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, _, stderr := runCommand(t, context.Background(), nil, "", "--data-dir", dir)
	if !strings.Contains(stderr, aetherkv.ErrLocked.Error()) {
		t.Errorf("stderr = %q, want it to contain %q", stderr, aetherkv.ErrLocked)
	}
}

func TestRootHelp(t *testing.T) {
	code, stdout, stderr := runCommand(t, context.Background(), nil, "", "--help")
	if code != ExitOK || !strings.Contains(stdout, "shell") || !strings.Contains(stdout, "--data-dir") || stderr != "" {
		t.Errorf("aether-kv --help = %d, stdout %q, stderr %q; want %d and help on stdout", code, stdout, stderr, ExitOK)
	}
}

func TestRootCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	code, _, stderr := runCommand(t, ctx, nil, "", "--data-dir", dir)
	if code != ExitOK || stderr != "" {
		t.Errorf("aether-kv with a canceled context = %d, stderr %q; want %d", code, stderr, ExitOK)
	}
}

func TestRootMergeAndStats(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"MAX_FILE_SIZE": "4096", "MERGE_RATIO": "0"}
	var input strings.Builder
	for i := range 300 {
		input.WriteString("PUT key" + string(rune('a'+i%5)) + " value-" + strings.Repeat("x", i%50) + "\n")
	}
	if code, _, stderr := runCommand(t, context.Background(), env, input.String(), "--data-dir", dir); code != ExitOK {
		t.Fatalf("loading: exit %d, %s", code, stderr)
	}
	code, stdout, stderr := runCommand(t, context.Background(), env, "", "merge", "--data-dir", dir)
	if code != ExitOK || !strings.Contains(stdout, "merged "+dir+": 5 keys") {
		t.Fatalf("aether-kv merge = %d, stdout %q, stderr %q; want a summary naming 5 keys", code, stdout, stderr)
	}
	code, stdout, _ = runCommand(t, context.Background(), env, "", "stats", "--data-dir", dir)
	if code != ExitOK || !strings.HasPrefix(stdout, "keys=5 ") || !strings.Contains(stdout, " dead_bytes=0 ") {
		t.Fatalf("aether-kv stats = %d, %q; want keys=5 and no dead bytes after the merge", code, stdout)
	}
	code, stdout, _ = runCommand(t, context.Background(), env, "GET keya\n", "--data-dir", dir)
	if code != ExitOK || !strings.HasPrefix(stdout, "value-") {
		t.Fatalf("GET after merge = %d, %q", code, stdout)
	}
}

func TestRootMPUT(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runCommand(t, context.Background(), nil,
		"MPUT a 1 b \"two words\"\nGET a\nGET b\nKEYS\nMPUT c 3 \"\" 4\nGET c\n", "--data-dir", dir)
	want := "OK\n1\ntwo words\na b\nError: batch operation 1: aetherkv: key is empty\nError: key not found\n"
	if code != ExitOK || stdout != want {
		t.Fatalf("MPUT session = %d, %q (stderr %q), want %q", code, stdout, stderr, want)
	}
}

func TestRootTTL(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runCommand(t, context.Background(), nil,
		"PUT a 1 EX 100\nTTL a\nPUT b 2\nTTL b\nTTL c\nPUT d 4 EX 0.05\nPUT e 5 EX -1\nPUT e 5 PX 3\n", "--data-dir", dir)
	want := "OK\n100\nOK\n-1\n-2\nOK\n" +
		"Error: usage: PUT <key> <value> [EX <seconds>]: EX wants a positive number of seconds below 9223372036\n" +
		"Error: usage: PUT <key> <value> [EX <seconds>]: want EX, not \"PX\"\n"
	if code != ExitOK || stdout != want {
		t.Fatalf("TTL session = %d, %q (stderr %q), want %q", code, stdout, stderr, want)
	}
	time.Sleep(100 * time.Millisecond)
	if _, stdout, _ := runCommand(t, context.Background(), nil, "GET d\nGET a\n", "--data-dir", dir); stdout != "Error: key not found\n1\n" {
		t.Fatalf("after expiry and a restart: %q", stdout)
	}
}
