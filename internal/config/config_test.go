package config

import (
	"bytes"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	aetherkv "github.com/aether-kv/aether-kv"
)

// env returns a getenv backed by m.
func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// writeConfig writes content to a config file in a temporary directory
// and returns its path.
func writeConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yml")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadDefaults(t *testing.T) {
	t.Chdir(t.TempDir()) // DATA_DIR ./data is relative to the working directory
	for _, tc := range []struct {
		name string
		env  map[string]string
	}{
		{"nil map", nil},
		{"empty values do not override", map[string]string{"DATA_DIR": "", "BATCH_SIZE": "", "SYNC_INTERVAL": ""}},
		{"unrelated variables", map[string]string{"HOME": "/root", "PATH": "/bin"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load("", env(tc.env))
			if err != nil {
				t.Fatalf("Load() error = %v", err)
			}
			want := Config{
				DataDir:      "./data",
				HeaderSize:   21,
				BatchSize:    aetherkv.DefaultBatchSize,
				SyncInterval: aetherkv.DefaultSyncInterval,
				MaxKeySize:   aetherkv.DefaultMaxKeySize,
				MaxValueSize: aetherkv.DefaultMaxValueSize,
				MaxFileSize:  aetherkv.DefaultMaxFileSize,
				MergeRatio:   aetherkv.DefaultMergeRatio,
				Source:       "embedded default",

				Addr:           "127.0.0.1:6380",
				MaxClients:     10000,
				IdleTimeout:    300 * time.Second,
				RequestTimeout: 10 * time.Second,

				RaftTrailingLogs: 10240,
			}
			if got := *c; !reflect.DeepEqual(got, want) {
				t.Errorf("Load() = %+v, want %+v", *c, want)
			}
			if _, err := os.Stat("data"); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("Load() created or touched DATA_DIR: Stat error = %v, want not exist", err)
			}
		})
	}
}

func TestLoadEmptyFileUsesDefaults(t *testing.T) {
	dir := t.TempDir()
	path := writeConfig(t, "# nothing here\n")
	c, err := Load(path, env(map[string]string{"DATA_DIR": dir}))
	if err != nil {
		t.Fatalf("Load() error = %v", err)
	}
	if c.BatchSize != 4096 || c.SyncInterval != 5*time.Second || c.HeaderSize != 21 {
		t.Errorf("Load() = %+v, want defaults", *c)
	}
	if c.Source != path {
		t.Errorf("Load() Source = %q, want %q", c.Source, path)
	}
}

func TestTemplate(t *testing.T) {
	tmpl := Template()
	wantLines := []string{
		"DATA_DIR: ${DATA_DIR:-./data}",
		"HEADER_SIZE: ${HEADER_SIZE:-21}",
		"BATCH_SIZE: ${BATCH_SIZE:-4096}",
		"SYNC_INTERVAL: ${SYNC_INTERVAL:-5}",
		"SYNC_MODE: ${SYNC_MODE:-interval}",
		"MAX_KEY_SIZE: ${MAX_KEY_SIZE:-65536}",
		"MAX_VALUE_SIZE: ${MAX_VALUE_SIZE:-67108864}",
		"MAX_FILE_SIZE: ${MAX_FILE_SIZE:-268435456}",
		"MERGE_RATIO: ${MERGE_RATIO:-0.5}",
		"ADDR: ${ADDR:-127.0.0.1:6380}",
		"PASSWORD: ${PASSWORD:-}",
		"MAX_CLIENTS: ${MAX_CLIENTS:-10000}",
		"IDLE_TIMEOUT: ${IDLE_TIMEOUT:-300}",
		"REQUEST_TIMEOUT: ${REQUEST_TIMEOUT:-10}",
		"METRICS_ADDR: ${METRICS_ADDR:-}",
		"NODE_ID: ${NODE_ID:-}",
		"RAFT_ADDR: ${RAFT_ADDR:-}",
		"RAFT_DIR: ${RAFT_DIR:-}",
		"PEERS: ${PEERS:-}",
		"JOIN: ${JOIN:-}",
		"RAFT_TRAILING_LOGS: ${RAFT_TRAILING_LOGS:-10240}",
	}
	var got []string
	for line := range strings.Lines(string(tmpl)) {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			got = append(got, line)
		}
	}
	if strings.Join(got, "\n") != strings.Join(wantLines, "\n") {
		t.Errorf("Template() settings =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantLines, "\n"))
	}
	tmpl[0] = 'X'
	if again := Template(); bytes.Equal(again, tmpl) {
		t.Errorf("Template() returned the embedded bytes, not a copy")
	}
}

func TestLoadExpansion(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		file string
		env  map[string]string
		want int // BatchSize
	}{
		{"colon default, var set", "BATCH_SIZE: ${B:-1024}", map[string]string{"B": "2048"}, 2048},
		{"colon default, var unset", "BATCH_SIZE: ${B:-1024}", nil, 1024},
		{"colon default, var empty", "BATCH_SIZE: ${B:-1024}", map[string]string{"B": ""}, 1024},
		{"dash default, var set", "BATCH_SIZE: ${B-1024}", map[string]string{"B": "2048"}, 2048},
		{"dash default, var unset", "BATCH_SIZE: ${B-1024}", nil, 1024},
		{"plain reference", "BATCH_SIZE: ${B}", map[string]string{"B": "300"}, 300},
		{"bare reference", "BATCH_SIZE: $B", map[string]string{"B": "301"}, 301},
		{"quoted scalar", `BATCH_SIZE: "${B:-1024}"`, nil, 1024},
		{"single-quoted scalar", `BATCH_SIZE: '${B:-1025}'`, nil, 1025},
		{"concatenation", "BATCH_SIZE: ${A:-1}${B:-2}", map[string]string{"A": "4"}, 42},
		{"question mark, var set", "BATCH_SIZE: ${B:?B is required}", map[string]string{"B": "77"}, 77},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := map[string]string{"DATA_DIR": dir}
			maps.Copy(m, tc.env)
			c, err := Load(writeConfig(t, tc.file), env(m))
			if err != nil {
				t.Fatalf("Load() error = %v", err)
			}
			if c.BatchSize != tc.want {
				t.Errorf("Load() BatchSize = %d, want %d", c.BatchSize, tc.want)
			}
		})
	}
}

func TestLoadDataDirExpansion(t *testing.T) {
	base := t.TempDir()
	for _, tc := range []struct {
		name string
		file string
		env  map[string]string
		want string
	}{
		{"template default, env set", "DATA_DIR: ${DATA_DIR:-./data}", map[string]string{"DATA_DIR": base}, base},
		{"prefix and suffix", "DATA_DIR: ${ROOT}/kv/data", map[string]string{"ROOT": base}, base + "/kv/data"},
		{"dollar escape", "DATA_DIR: ${ROOT}/a$$b", map[string]string{"ROOT": base}, base + "/a$b"},
		{"default with spaces", `DATA_DIR: "${NOPE:-` + base + `/my data}"`, nil, base + "/my data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(writeConfig(t, tc.file), env(tc.env))
			if err != nil {
				t.Fatalf("Load() error = %v", err)
			}
			if c.DataDir != tc.want {
				t.Errorf("Load() DataDir = %q, want %q", c.DataDir, tc.want)
			}
		})
	}
}

func TestLoadEnvOverride(t *testing.T) {
	dir := t.TempDir()
	file := "DATA_DIR: " + dir + "\nBATCH_SIZE: 1024\nSYNC_INTERVAL: 2\nMAX_KEY_SIZE: 100\n"
	for _, tc := range []struct {
		name    string
		env     map[string]string
		check   func(*Config) (got, want any)
		message string
	}{
		{"literal kept without env", nil,
			func(c *Config) (any, any) { return c.BatchSize, 1024 }, "BatchSize"},
		{"env overrides literal", map[string]string{"BATCH_SIZE": "8192"},
			func(c *Config) (any, any) { return c.BatchSize, 8192 }, "BatchSize"},
		{"empty env does not override", map[string]string{"BATCH_SIZE": ""},
			func(c *Config) (any, any) { return c.BatchSize, 1024 }, "BatchSize"},
		{"env overrides key absent from file", map[string]string{"MAX_VALUE_SIZE": "2048"},
			func(c *Config) (any, any) { return c.MaxValueSize, 2048 }, "MaxValueSize"},
		{"fractional seconds", map[string]string{"SYNC_INTERVAL": "0.5"},
			func(c *Config) (any, any) { return c.SyncInterval, 500 * time.Millisecond }, "SyncInterval"},
		{"duration with unit", map[string]string{"SYNC_INTERVAL": "250ms"},
			func(c *Config) (any, any) { return c.SyncInterval, 250 * time.Millisecond }, "SyncInterval"},
		{"zero interval", map[string]string{"SYNC_INTERVAL": "0"},
			func(c *Config) (any, any) { return c.SyncInterval, time.Duration(0) }, "SyncInterval"},
		{"DATA_DIR override", map[string]string{"DATA_DIR": dir + "/sub"},
			func(c *Config) (any, any) { return c.DataDir, dir + "/sub" }, "DataDir"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(writeConfig(t, file), env(tc.env))
			if err != nil {
				t.Fatalf("Load() error = %v", err)
			}
			if got, want := tc.check(c); got != want {
				t.Errorf("Load() %s = %v, want %v", tc.message, got, want)
			}
		})
	}
}

func TestLoadInvalidValues(t *testing.T) {
	dir := t.TempDir()
	regular := filepath.Join(dir, "regular")
	if err := os.WriteFile(regular, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	type tc struct {
		name    string
		file    string // "" means the embedded template
		env     map[string]string
		setting string // named in the message
		value   string // quoted in the message
	}
	cases := []tc{
		{"header size not 21", "", map[string]string{"HEADER_SIZE": "32"}, "HEADER_SIZE", `"32"`},
		{"header size in file", "HEADER_SIZE: 16", nil, "HEADER_SIZE", `"16"`},
		{"batch size not a number", "", map[string]string{"BATCH_SIZE": "abc"}, "BATCH_SIZE", `"abc"`},
		{"batch size zero", "", map[string]string{"BATCH_SIZE": "0"}, "BATCH_SIZE", `"0"`},
		{"batch size negative", "", map[string]string{"BATCH_SIZE": "-1"}, "BATCH_SIZE", `"-1"`},
		{"batch size fractional", "BATCH_SIZE: 1.5", nil, "BATCH_SIZE", `"1.5"`},
		{"batch size too large", "", map[string]string{"BATCH_SIZE": "1073741825"}, "BATCH_SIZE", `"1073741825"`},
		{"batch size overflow", "", map[string]string{"BATCH_SIZE": "99999999999999999999"}, "BATCH_SIZE", `"99999999999999999999"`},
		{"batch size expands to empty", "BATCH_SIZE: ${B-1024}", map[string]string{"B": ""}, "BATCH_SIZE", `""`},
		{"sync interval negative", "", map[string]string{"SYNC_INTERVAL": "-1"}, "SYNC_INTERVAL", `"-1"`},
		{"sync interval negative duration", "", map[string]string{"SYNC_INTERVAL": "-1s"}, "SYNC_INTERVAL", `"-1s"`},
		{"sync interval not a number", "", map[string]string{"SYNC_INTERVAL": "soon"}, "SYNC_INTERVAL", `"soon"`},
		{"sync interval NaN", "", map[string]string{"SYNC_INTERVAL": "NaN"}, "SYNC_INTERVAL", `"NaN"`},
		{"sync interval infinite", "", map[string]string{"SYNC_INTERVAL": "+Inf"}, "SYNC_INTERVAL", `"+Inf"`},
		{"sync interval overflow", "", map[string]string{"SYNC_INTERVAL": "1e12"}, "SYNC_INTERVAL", `"1e12"`},
		{"sync interval rounds to zero", "", map[string]string{"SYNC_INTERVAL": "1e-12"}, "SYNC_INTERVAL", `"1e-12"`},
		{"max key size zero", "", map[string]string{"MAX_KEY_SIZE": "0"}, "MAX_KEY_SIZE", `"0"`},
		{"max key size above limit", "", map[string]string{"MAX_KEY_SIZE": "16777217"}, "MAX_KEY_SIZE", `"16777217"`},
		{"max value size zero", "", map[string]string{"MAX_VALUE_SIZE": "0"}, "MAX_VALUE_SIZE", `"0"`},
		{"max value size above limit", "", map[string]string{"MAX_VALUE_SIZE": "1073741825"}, "MAX_VALUE_SIZE", `"1073741825"`},
		{"max file size zero", "", map[string]string{"MAX_FILE_SIZE": "0"}, "MAX_FILE_SIZE", `"0"`},
		{"max file size not a number", "", map[string]string{"MAX_FILE_SIZE": "1GB"}, "MAX_FILE_SIZE", `"1GB"`},
		{"sync mode unknown", "", map[string]string{"SYNC_MODE": "sometimes"}, "SYNC_MODE", `"sometimes"`},
		{"sync mode never with interval zero", "", map[string]string{"SYNC_MODE": "never", "SYNC_INTERVAL": "0"}, "SYNC_MODE", `"never"`},
		{"merge ratio above one", "", map[string]string{"MERGE_RATIO": "1.5"}, "MERGE_RATIO", `"1.5"`},
		{"merge ratio negative", "", map[string]string{"MERGE_RATIO": "-0.1"}, "MERGE_RATIO", `"-0.1"`},
		{"merge ratio NaN", "", map[string]string{"MERGE_RATIO": "NaN"}, "MERGE_RATIO", `"NaN"`},
		{"addr without port", "", map[string]string{"ADDR": "127.0.0.1"}, "ADDR", `"127.0.0.1"`},
		{"addr port not a number", "", map[string]string{"ADDR": "127.0.0.1:redis"}, "ADDR", `"127.0.0.1:redis"`},
		{"addr port too large", "", map[string]string{"ADDR": "127.0.0.1:65536"}, "ADDR", `"127.0.0.1:65536"`},
		{"addr in file", "ADDR: localhost", nil, "ADDR", `"localhost"`},
		{"addr empty", `ADDR: ""`, nil, "ADDR", `""`},
		{"max clients zero", "", map[string]string{"MAX_CLIENTS": "0"}, "MAX_CLIENTS", `"0"`},
		{"max clients too many", "", map[string]string{"MAX_CLIENTS": "1000001"}, "MAX_CLIENTS", `"1000001"`},
		{"max clients not a number", "", map[string]string{"MAX_CLIENTS": "lots"}, "MAX_CLIENTS", `"lots"`},
		{"idle timeout negative", "", map[string]string{"IDLE_TIMEOUT": "-1"}, "IDLE_TIMEOUT", `"-1"`},
		{"idle timeout not a number", "", map[string]string{"IDLE_TIMEOUT": "forever"}, "IDLE_TIMEOUT", `"forever"`},
		{"request timeout negative", "", map[string]string{"REQUEST_TIMEOUT": "-5s"}, "REQUEST_TIMEOUT", `"-5s"`},
		{"request timeout NaN", "", map[string]string{"REQUEST_TIMEOUT": "NaN"}, "REQUEST_TIMEOUT", `"NaN"`},
		{"metrics addr without port", "", map[string]string{"METRICS_ADDR": "localhost"}, "METRICS_ADDR", `"localhost"`},
		{"data dir empty", `DATA_DIR: ""`, nil, "DATA_DIR", `""`},
		{"data dir null", "DATA_DIR: ~", nil, "DATA_DIR", `""`},
		{"data dir is a regular file", "", map[string]string{"DATA_DIR": regular}, "DATA_DIR", `"` + regular + `"`},
		{"data dir parent is a regular file", "", map[string]string{"DATA_DIR": regular + "/sub"}, "DATA_DIR", `"` + regular + `/sub"`},
	}
	if runtime.GOOS == "linux" {
		// /proc refuses new files even to root.
		cases = append(cases,
			tc{"data dir not writable", "", map[string]string{"DATA_DIR": "/proc"}, "DATA_DIR", `"/proc"`},
			tc{"data dir parent not writable", "", map[string]string{"DATA_DIR": "/proc/aetherkv/data"}, "DATA_DIR", `"/proc/aetherkv/data"`},
		)
	}
	if os.Geteuid() != 0 { // root writes through permission bits
		ro := filepath.Join(dir, "readonly")
		if err := os.Mkdir(ro, 0o500); err != nil {
			t.Fatal(err)
		}
		cases = append(cases,
			tc{"data dir without write permission", "", map[string]string{"DATA_DIR": ro}, "DATA_DIR", `"` + ro + `"`},
			tc{"data dir missing under read-only parent", "", map[string]string{"DATA_DIR": ro + "/a/b"}, "DATA_DIR", `"` + ro + `/a/b"`},
		)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := map[string]string{}
			if !strings.Contains(tc.file, "DATA_DIR") { // keep the file's DATA_DIR
				m["DATA_DIR"] = dir
			}
			maps.Copy(m, tc.env)
			path := ""
			if tc.file != "" {
				path = writeConfig(t, tc.file)
			}
			c, err := loadServe(path, env(m))
			if err == nil {
				t.Fatalf("Load() = %+v, want error naming %s", *c, tc.setting)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Load() error = %v, want errors.Is(err, ErrInvalid)", err)
			}
			if want := "config: " + tc.setting + " " + tc.value + ": want "; !strings.Contains(err.Error(), want) {
				t.Errorf("Load() error = %q, want it to contain %q", err, want)
			}
		})
	}
}

func TestLoadMissingDataDirIsNotCreated(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b", "c")
	c, err := Load("", env(map[string]string{"DATA_DIR": dir}))
	if err != nil {
		t.Fatalf("Load() error = %v", err)
	}
	if c.DataDir != dir {
		t.Errorf("Load() DataDir = %q, want %q", c.DataDir, dir)
	}
	if _, err := os.Stat(filepath.Join(dir, "..", "..")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load() created part of DATA_DIR: Stat error = %v, want not exist", err)
	}
}

func TestLoadWriteProbeLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load("", env(map[string]string{"DATA_DIR": dir})); err != nil {
		t.Fatalf("Load() error = %v", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("Load() left %d entries in DATA_DIR, want 0", len(entries))
	}
}

func TestLoadReportsEveryBadValue(t *testing.T) {
	_, err := Load("", env(map[string]string{
		"DATA_DIR":      t.TempDir(),
		"BATCH_SIZE":    "abc",
		"SYNC_INTERVAL": "-3",
	}))
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("Load() error = %v, want ErrInvalid", err)
	}
	for _, want := range []string{`BATCH_SIZE "abc"`, `SYNC_INTERVAL "-3"`, "environment variable BATCH_SIZE"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Load() error = %q, want it to contain %q", err, want)
		}
	}
}

func TestLoadBadFiles(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name     string
		file     string
		env      map[string]string
		invalid  bool     // errors.Is(err, ErrInvalid)
		contains []string // besides the file's path
	}{
		{"unknown key", "DATA_DIR: " + dir + "\nCOLOR: blue\n", nil, true, []string{`unknown setting "COLOR"`, "line 2"}},
		{"lower-case key", "batch_size: 10\n", nil, true, []string{`"batch_size"`}},
		{"list value", "BATCH_SIZE: [1, 2]\n", nil, true, []string{"BATCH_SIZE"}},
		{"mapping value", "BATCH_SIZE:\n  a: 1\n", nil, true, []string{"BATCH_SIZE"}},
		{"document not a mapping", "- DATA_DIR\n", nil, true, []string{"mapping"}},
		{"malformed YAML", "DATA_DIR: [unclosed\n", nil, true, []string{"yaml"}},
		{"bad indentation", "DATA_DIR: x\n  BATCH_SIZE: 1\n", nil, true, []string{"yaml"}},
		{"duplicate key", "BATCH_SIZE: 1\nBATCH_SIZE: 2\n", nil, true, []string{"BATCH_SIZE"}},
		{"tab indentation", "DATA_DIR:\n\t- x\n", nil, true, []string{"yaml"}},
		{"unclosed reference", "BATCH_SIZE: ${B:-1\n", nil, true, []string{"BATCH_SIZE", "closing brace"}},
		{"empty reference", "BATCH_SIZE: ${}\n", nil, true, []string{"BATCH_SIZE"}},
		{"unsupported operator", "BATCH_SIZE: ${B:=1}\n", nil, true, []string{"BATCH_SIZE", "${B:=1}"}},
		{"nested default", "BATCH_SIZE: ${B:-${C}}\n", nil, true, []string{"BATCH_SIZE"}},
		{"positional reference", "BATCH_SIZE: $1\n", nil, true, []string{"BATCH_SIZE"}},
		{"required variable unset", "BATCH_SIZE: ${B:?B is required}\n", nil, true, []string{"BATCH_SIZE", "B is required"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, tc.file)
			m := map[string]string{"DATA_DIR": dir}
			maps.Copy(m, tc.env)
			_, err := Load(path, env(m))
			if err == nil {
				t.Fatalf("Load() error = nil, want an error")
			}
			if errors.Is(err, ErrInvalid) != tc.invalid {
				t.Errorf("Load() error = %v; errors.Is(err, ErrInvalid) = %v, want %v", err, !tc.invalid, tc.invalid)
			}
			for _, want := range append([]string{path}, tc.contains...) {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Load() error = %q, want it to contain %q", err, want)
				}
			}
		})
	}
}

func TestLoadUnreadableFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing.yml")
	_, err := Load(path, env(nil))
	if err == nil {
		t.Fatal("Load() error = nil, want an error")
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("Load() error = %q, want it to name %q", err, path)
	}
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load() error = %v, want errors.Is(err, os.ErrNotExist)", err)
	}
	if errors.Is(err, ErrInvalid) {
		t.Errorf("Load() error = %v, want it not to match ErrInvalid", err)
	}
}

func TestLoadInjection(t *testing.T) {
	t.Chdir(t.TempDir()) // the injected DATA_DIR is a relative path
	const evil = "x\nBATCH_SIZE: 1"
	for _, tc := range []struct {
		name string
		file string
		env  map[string]string
	}{
		{"through the template and override", "", map[string]string{"DATA_DIR": evil}},
		{"through expansion only", "DATA_DIR: ${EVIL}\nBATCH_SIZE: 4096\n", map[string]string{"EVIL": evil}},
		{"into a quoted scalar", "DATA_DIR: \"${EVIL}\"\nBATCH_SIZE: 4096\n", map[string]string{"EVIL": evil}},
		{"flow syntax", "DATA_DIR: ${EVIL}\n", map[string]string{"EVIL": "{BATCH_SIZE: 1}"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			if tc.file != "" {
				path = writeConfig(t, tc.file)
			}
			c, err := Load(path, env(tc.env))
			if err != nil {
				t.Fatalf("Load() error = %v", err)
			}
			want := tc.env["DATA_DIR"] + tc.env["EVIL"]
			if c.DataDir != want {
				t.Errorf("Load() DataDir = %q, want %q", c.DataDir, want)
			}
			if c.BatchSize != 4096 {
				t.Errorf("Load() BatchSize = %d, want %d", c.BatchSize, 4096)
			}
		})
	}
}

func TestOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want aetherkv.Options
	}{
		{
			"periodic sync",
			Config{DataDir: "d", HeaderSize: 21, BatchSize: 8192, SyncInterval: 2 * time.Second, MaxKeySize: 10, MaxValueSize: 20},
			aetherkv.Options{BatchSize: 8192, SyncInterval: 2 * time.Second, MaxKeySize: 10, MaxValueSize: 20},
		},
		{
			"sync every write",
			Config{DataDir: "d", HeaderSize: 21, BatchSize: 4096, SyncMode: aetherkv.SyncModeAlways, MaxKeySize: 65536, MaxValueSize: 67108864},
			aetherkv.Options{BatchSize: 4096, SyncMode: aetherkv.SyncModeAlways, MaxKeySize: 65536, MaxValueSize: 67108864},
		},
		{
			"fractional interval",
			Config{BatchSize: 1, SyncInterval: 500 * time.Millisecond, MaxKeySize: 1, MaxValueSize: 1},
			aetherkv.Options{BatchSize: 1, SyncInterval: 500 * time.Millisecond, MaxKeySize: 1, MaxValueSize: 1},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.cfg.Options()
			if o.BatchSize != tc.want.BatchSize {
				t.Errorf("Options() BatchSize = %d, want %d", o.BatchSize, tc.want.BatchSize)
			}
			if o.SyncInterval != tc.want.SyncInterval {
				t.Errorf("Options() SyncInterval = %v, want %v", o.SyncInterval, tc.want.SyncInterval)
			}
			if o.SyncMode != tc.want.SyncMode {
				t.Errorf("Options() SyncMode = %v, want %v", o.SyncMode, tc.want.SyncMode)
			}
			if o.MaxKeySize != tc.want.MaxKeySize {
				t.Errorf("Options() MaxKeySize = %d, want %d", o.MaxKeySize, tc.want.MaxKeySize)
			}
			if o.MaxValueSize != tc.want.MaxValueSize {
				t.Errorf("Options() MaxValueSize = %d, want %d", o.MaxValueSize, tc.want.MaxValueSize)
			}
			if err := o.Validate(); err != nil {
				t.Errorf("Options().Validate() = %v, want nil", err)
			}
		})
	}
}

func TestLoadedOptionsValidate(t *testing.T) {
	c, err := Load("", env(map[string]string{
		"DATA_DIR":       t.TempDir(),
		"MAX_KEY_SIZE":   "16777216",
		"MAX_VALUE_SIZE": "1073741824",
		"SYNC_INTERVAL":  "0",
	}))
	if err != nil {
		t.Fatalf("Load() error = %v", err)
	}
	o := c.Options()
	if err := o.Validate(); err != nil {
		t.Errorf("Options().Validate() = %v, want nil", err)
	}
	if o.SyncMode != aetherkv.SyncModeAlways {
		t.Errorf("Options() SyncMode = %v, want always", o.SyncMode)
	}
}

func TestMergeRatioZeroTurnsAutoMergeOff(t *testing.T) {
	c, err := Load("", env(map[string]string{"DATA_DIR": t.TempDir(), "MERGE_RATIO": "0", "MAX_FILE_SIZE": "1048576"}))
	if err != nil {
		t.Fatalf("Load() error = %v", err)
	}
	o := c.Options()
	if o.MergeRatio >= 0 || o.MaxFileSize != 1<<20 {
		t.Errorf("Options() MergeRatio = %v, MaxFileSize = %d; want negative (off) and 1048576", o.MergeRatio, o.MaxFileSize)
	}
	if err := o.Validate(); err != nil {
		t.Errorf("Options().Validate() = %v, want nil", err)
	}
}

func TestSyncMode(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want aetherkv.SyncMode
	}{
		{"default", nil, aetherkv.SyncModeInterval},
		{"interval zero means always", map[string]string{"SYNC_INTERVAL": "0"}, aetherkv.SyncModeAlways},
		{"always", map[string]string{"SYNC_MODE": "always"}, aetherkv.SyncModeAlways},
		{"never", map[string]string{"SYNC_MODE": "NEVER"}, aetherkv.SyncModeNever},
		{"interval", map[string]string{"SYNC_MODE": "interval", "SYNC_INTERVAL": "2"}, aetherkv.SyncModeInterval},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vars := map[string]string{"DATA_DIR": t.TempDir()}
			maps.Copy(vars, tc.env)
			c, err := Load("", env(vars))
			if err != nil {
				t.Fatalf("Load() error = %v", err)
			}
			if c.SyncMode != tc.want || c.Options().SyncMode != tc.want {
				t.Errorf("Load() SyncMode = %v, Options().SyncMode = %v, want %v", c.SyncMode, c.Options().SyncMode, tc.want)
			}
		})
	}
}

func TestLoadServerSettings(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name  string
		env   map[string]string
		check func(*Config) (got, want any)
	}{
		{"addr", map[string]string{"ADDR": "0.0.0.0:7000"}, func(c *Config) (any, any) { return c.Addr, "0.0.0.0:7000" }},
		{"addr ipv6", map[string]string{"ADDR": "[::1]:7000"}, func(c *Config) (any, any) { return c.Addr, "[::1]:7000" }},
		{"addr every interface", map[string]string{"ADDR": ":7000"}, func(c *Config) (any, any) { return c.Addr, ":7000" }},
		{"addr port 0", map[string]string{"ADDR": "127.0.0.1:0"}, func(c *Config) (any, any) { return c.Addr, "127.0.0.1:0" }},
		{"password", map[string]string{"PASSWORD": "s3cret pass"}, func(c *Config) (any, any) { return c.Password, "s3cret pass" }},
		{"max clients", map[string]string{"MAX_CLIENTS": "5"}, func(c *Config) (any, any) { return c.MaxClients, 5 }},
		{"idle timeout off", map[string]string{"IDLE_TIMEOUT": "0"}, func(c *Config) (any, any) { return c.IdleTimeout, time.Duration(0) }},
		{"idle timeout duration", map[string]string{"IDLE_TIMEOUT": "2m"}, func(c *Config) (any, any) { return c.IdleTimeout, 2 * time.Minute }},
		{"request timeout fraction", map[string]string{"REQUEST_TIMEOUT": "0.5"}, func(c *Config) (any, any) { return c.RequestTimeout, 500 * time.Millisecond }},
		{"metrics addr", map[string]string{"METRICS_ADDR": "127.0.0.1:9121"}, func(c *Config) (any, any) { return c.MetricsAddr, "127.0.0.1:9121" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := map[string]string{"DATA_DIR": dir}
			maps.Copy(m, tc.env)
			c, err := Load("", env(m))
			if err != nil {
				t.Fatalf("Load() error = %v", err)
			}
			if got, want := tc.check(c); got != want {
				t.Errorf("Load() = %v, want %v", got, want)
			}
		})
	}
}

func TestLoadPasswordTooLongIsNotShown(t *testing.T) {
	secret := strings.Repeat("p", 16385)
	_, err := loadServe("", env(map[string]string{"DATA_DIR": t.TempDir(), "PASSWORD": secret}))
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("Load() error = %v, want ErrInvalid", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "config: PASSWORD (16385 bytes, not shown): want at most 16384 bytes") {
		t.Errorf("Load() error = %q, want it to name PASSWORD and its limit", msg)
	}
	if strings.Contains(msg, "ppp") {
		t.Errorf("Load() error shows the password: %q", msg)
	}
}

// TestExpandedNullKeepsText: a value reached through ${VAR} was re-parsed
// as YAML, so a variable holding "null", "NULL" or "~" became the empty
// string. For PASSWORD that silently turned authentication off.
func TestExpandedNullKeepsText(t *testing.T) {
	t.Chdir(t.TempDir())
	path := writeConfig(t, "PASSWORD: ${REDIS_PASSWORD}\n")
	for _, pw := range []string{"null", "NULL", "~"} {
		c, err := Load(path, env(map[string]string{"REDIS_PASSWORD": pw}))
		if err != nil {
			t.Fatal(err)
		}
		if c.Password != pw {
			t.Errorf("PASSWORD: ${REDIS_PASSWORD} with REDIS_PASSWORD=%q: Password = %q; want %q", pw, c.Password, pw)
		}
	}
}

// TestDuplicateKeyLine: a key set twice is reported with the lines of the
// user's file (here 6 and 10), not of a re-encoded document.
func TestDuplicateKeyLine(t *testing.T) {
	t.Chdir(t.TempDir())
	path := writeConfig(t, "# comment\n\n\n# another\n\nBATCH_SIZE: 1\n\n\n\nBATCH_SIZE: 2\n")
	_, err := Load(path, env(nil))
	if err == nil {
		t.Fatal("duplicate key accepted")
	}
	if !strings.Contains(err.Error(), "line 10") || !strings.Contains(err.Error(), "line 6") {
		t.Errorf("error = %q; want it to name lines 10 and 6 of the file", err)
	}
}

// TestSyncModeNeverBadInterval: SYNC_INTERVAL=abc with SYNC_MODE=never
// added a second, false error claiming SYNC_INTERVAL is 0.
func TestSyncModeNeverBadInterval(t *testing.T) {
	t.Chdir(t.TempDir())
	_, err := Load("", env(map[string]string{"SYNC_MODE": "never", "SYNC_INTERVAL": "abc"}))
	if err == nil {
		t.Fatal("accepted")
	}
	if strings.Contains(err.Error(), "SYNC_INTERVAL 0") {
		t.Errorf("error = %q; SYNC_INTERVAL is \"abc\", not 0", err)
	}
}

// TestSecondDocumentRefused: a second YAML document in the file was
// silently ignored, bad values and all.
func TestSecondDocumentRefused(t *testing.T) {
	t.Chdir(t.TempDir())
	path := writeConfig(t, "BATCH_SIZE: 8192\n---\nBATCH_SIZE: abc\n")
	if c, err := Load(path, env(nil)); err == nil {
		t.Errorf("file with a second document accepted (BATCH_SIZE %d); its BATCH_SIZE: abc was never read", c.BatchSize)
	}
}

// TestBareDollarUnset: a bare $name whose variable is not set is refused
// (a literal password "Pa$sw0rd" was loaded as "Pa"); $$ is a literal $.
func TestBareDollarUnset(t *testing.T) {
	t.Chdir(t.TempDir())
	_, err := Load(writeConfig(t, "PASSWORD: \"Pa$sw0rd\"\n"), env(nil))
	if err == nil || !strings.Contains(err.Error(), "$sw0rd") || !strings.Contains(err.Error(), "$$") {
		t.Fatalf("Load = %v, want an error naming $sw0rd and suggesting $$", err)
	}
	c, err := Load(writeConfig(t, "PASSWORD: \"Pa$$sw0rd\"\n"), env(nil))
	if err != nil || c.Password != "Pa$sw0rd" {
		t.Fatalf("PASSWORD Pa$$sw0rd: %q, %v; want Pa$sw0rd", c.Password, err)
	}
}

// loadServe loads the configuration as "serve" does: Load, then
// CheckServe.
func loadServe(path string, getenv func(string) (string, bool)) (*Config, error) {
	c, err := Load(path, getenv)
	if err != nil {
		return nil, err
	}
	if err := c.CheckServe(); err != nil {
		return nil, err
	}
	return c, nil
}

// TestServeSettingsOnlyForServe: settings only serve uses, set to values
// serve refuses, do not stop Load (the shell and the other commands run
// with whatever the environment holds under such names as ADDR or PEERS);
// CheckServe refuses them.
func TestServeSettingsOnlyForServe(t *testing.T) {
	for _, e := range []map[string]string{
		{"ADDR": "mail.example.com"},
		{"PEERS": "bob"},
		{"JOIN": "example.com:80"},
		{"MAX_CLIENTS": "lots"},
	} {
		e["DATA_DIR"] = t.TempDir()
		c, err := Load("", env(e))
		if err != nil {
			t.Fatalf("Load() with %v = %v, want no error", e, err)
		}
		if err := c.CheckServe(); !errors.Is(err, ErrInvalid) {
			t.Errorf("CheckServe() with %v = %v, want ErrInvalid", e, err)
		}
	}
}

// TestLoadWithFlags: flags replace the file's and the environment's values
// before they are checked, so that a flag corrects a bad value set
// elsewhere, and are checked as any setting, naming the flag as origin.
func TestLoadWithFlags(t *testing.T) {
	regular := filepath.Join(t.TempDir(), "regular")
	if err := os.WriteFile(regular, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c, err := LoadWithFlags("", env(map[string]string{"DATA_DIR": regular, "ADDR": "bad"}),
		map[string]string{"DATA_DIR": dir, "ADDR": "127.0.0.1:0", "NODE_ID": "n2", "RAFT_ADDR": "127.0.0.1:7002", "JOIN": "127.0.0.1:6381"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CheckServe(); err != nil {
		t.Fatal(err)
	}
	if c.DataDir != dir || c.Addr != "127.0.0.1:0" || c.NodeID != "n2" || c.RaftAddr != "127.0.0.1:7002" || c.Join != "127.0.0.1:6381" {
		t.Errorf("LoadWithFlags() = %+v", c)
	}
	c, err = LoadWithFlags("", env(map[string]string{"DATA_DIR": dir}), map[string]string{"NODE_ID": "n2"})
	if err == nil {
		err = c.CheckServe()
	}
	if err == nil || !strings.Contains(err.Error(), "RAFT_ADDR is not") {
		t.Errorf("LoadWithFlags() of NODE_ID alone: err = %v", err)
	}
	c, err = LoadWithFlags("", env(map[string]string{"DATA_DIR": dir}), map[string]string{"MAX_CLIENTS": "lots"})
	if err == nil {
		err = c.CheckServe()
	}
	if err == nil || !strings.Contains(err.Error(), `MAX_CLIENTS "lots"`) || !strings.Contains(err.Error(), "set by command-line flag") {
		t.Errorf("LoadWithFlags() of a bad value: err = %v, want it to name the flag as origin", err)
	}
	if _, err := LoadWithFlags("", env(map[string]string{"DATA_DIR": dir}), map[string]string{"NO_SUCH": "x"}); err == nil {
		t.Errorf("LoadWithFlags() of an unknown setting: no error")
	}
}
