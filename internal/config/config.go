// Package config loads the configuration of the aether-kv program: a YAML
// file whose scalar values may reference environment variables, followed by
// environment overrides and validation.
package config

import (
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	aetherkv "github.com/aether-kv/aether-kv"
	"go.yaml.in/yaml/v3"
)

//go:embed config.yml
var template []byte

// EmbeddedSource is the Source of a Config loaded from the embedded template.
const EmbeddedSource = "embedded default"

// Config is the resolved configuration of the aether-kv program.
type Config struct {
	DataDir      string            // DATA_DIR
	HeaderSize   int               // HEADER_SIZE, must be 21
	BatchSize    int               // BATCH_SIZE, bytes, positive integer
	SyncInterval time.Duration     // SYNC_INTERVAL in seconds (may be fractional, e.g. 0.5); 0 means fsync before acknowledging every write
	SyncMode     aetherkv.SyncMode // SYNC_MODE: interval, always or never
	MaxKeySize   int               // MAX_KEY_SIZE bytes, 1..aetherkv.MaxKeySizeLimit
	MaxValueSize int               // MAX_VALUE_SIZE bytes, 1..aetherkv.MaxValueSizeLimit
	MaxFileSize  int64             // MAX_FILE_SIZE bytes, 1..aetherkv.MaxFileSizeLimit
	MergeRatio   float64           // MERGE_RATIO, dead fraction of a closed file that starts a merge; 0 turns automatic merges off
	Source       string            // the file read, or "embedded default"

	// The settings of "aether-kv serve".
	Addr           string        // ADDR, host:port to listen on
	Password       string        // PASSWORD, "" for none
	MaxClients     int           // MAX_CLIENTS, connections served at once
	IdleTimeout    time.Duration // IDLE_TIMEOUT in seconds; 0 means never
	RequestTimeout time.Duration // REQUEST_TIMEOUT in seconds; 0 means no limit
	MetricsAddr    string        // METRICS_ADDR, host:port of /metrics; "" for none

	// The cluster settings of "aether-kv serve"; NodeID "" for a single server.
	NodeID   string // NODE_ID, unique in the cluster
	RaftAddr string // RAFT_ADDR, host:port of the raft transport
	RaftDir  string // RAFT_DIR; "" for DATA_DIR/raft
	Peers    []Peer // PEERS, the initial members, to start a new cluster
	Join     string // JOIN, the address of a running node to join through
	// RAFT_TRAILING_LOGS, log entries kept after a snapshot, for
	// followers that fall behind to catch up without a snapshot.
	RaftTrailingLogs int

	// serveErr is what is wrong with the settings only "serve" uses; see
	// CheckServe.
	serveErr error
}

// CheckServe returns what is wrong with the settings only "aether-kv
// serve" uses (ADDR, PASSWORD, the timeouts, the cluster's), or nil. Load
// does not refuse them, so that the shell and the other commands, which
// never use them, run whatever the environment holds under such generic
// names as ADDR or PEERS.
func (c *Config) CheckServe() error { return c.serveErr }

// Setting names, as written in the file and in the environment.
const (
	keyDataDir      = "DATA_DIR"
	keyHeaderSize   = "HEADER_SIZE"
	keyBatchSize    = "BATCH_SIZE"
	keySyncInterval = "SYNC_INTERVAL"
	keyMaxKeySize   = "MAX_KEY_SIZE"
	keyMaxValueSize = "MAX_VALUE_SIZE"
	keyMaxFileSize  = "MAX_FILE_SIZE"
	keySyncMode     = "SYNC_MODE"
	keyMergeRatio   = "MERGE_RATIO"

	keyAddr           = "ADDR"
	keyPassword       = "PASSWORD"
	keyMaxClients     = "MAX_CLIENTS"
	keyIdleTimeout    = "IDLE_TIMEOUT"
	keyRequestTimeout = "REQUEST_TIMEOUT"
	keyMetricsAddr    = "METRICS_ADDR"

	keyNodeID   = "NODE_ID"
	keyRaftAddr = "RAFT_ADDR"
	keyRaftDir  = "RAFT_DIR"
	keyPeers    = "PEERS"
	keyJoin     = "JOIN"

	keyRaftTrailingLogs = "RAFT_TRAILING_LOGS"
)

// keys lists every setting in the order they are validated and reported.
var keys = []string{keyDataDir, keyHeaderSize, keyBatchSize, keySyncInterval, keyMaxKeySize, keyMaxValueSize, keyMaxFileSize, keyMergeRatio, keySyncMode,
	keyAddr, keyPassword, keyMaxClients, keyIdleTimeout, keyRequestTimeout, keyMetricsAddr,
	keyNodeID, keyRaftAddr, keyRaftDir, keyPeers, keyJoin, keyRaftTrailingLogs}

// defaults are the values of settings absent from the file and the
// environment; they match the embedded template.
var defaults = map[string]string{
	keyDataDir:      "./data",
	keyHeaderSize:   "21",
	keyBatchSize:    "4096",
	keySyncInterval: "5",
	keyMaxKeySize:   "65536",
	keyMaxValueSize: "67108864",
	keyMaxFileSize:  "268435456",
	keyMergeRatio:   "0.5",
	keySyncMode:     "interval",

	keyAddr:           "127.0.0.1:6380",
	keyPassword:       "",
	keyMaxClients:     "10000",
	keyIdleTimeout:    "300",
	keyRequestTimeout: "10",
	keyMetricsAddr:    "",

	keyNodeID:   "",
	keyRaftAddr: "",
	keyRaftDir:  "",
	keyPeers:    "",
	keyJoin:     "",

	keyRaftTrailingLogs: "10240",
}

// fileValues is the shape of the file, decoded with KnownFields so that an
// unknown key is an error.
type fileValues struct {
	DataDir      string `yaml:"DATA_DIR"`
	HeaderSize   string `yaml:"HEADER_SIZE"`
	BatchSize    string `yaml:"BATCH_SIZE"`
	SyncInterval string `yaml:"SYNC_INTERVAL"`
	MaxKeySize   string `yaml:"MAX_KEY_SIZE"`
	MaxValueSize string `yaml:"MAX_VALUE_SIZE"`
	MaxFileSize  string `yaml:"MAX_FILE_SIZE"`
	MergeRatio   string `yaml:"MERGE_RATIO"`
	SyncMode     string `yaml:"SYNC_MODE"`

	Addr           string `yaml:"ADDR"`
	Password       string `yaml:"PASSWORD"`
	MaxClients     string `yaml:"MAX_CLIENTS"`
	IdleTimeout    string `yaml:"IDLE_TIMEOUT"`
	RequestTimeout string `yaml:"REQUEST_TIMEOUT"`
	MetricsAddr    string `yaml:"METRICS_ADDR"`

	NodeID   string `yaml:"NODE_ID"`
	RaftAddr string `yaml:"RAFT_ADDR"`
	RaftDir  string `yaml:"RAFT_DIR"`
	Peers    string `yaml:"PEERS"`
	Join     string `yaml:"JOIN"`

	RaftTrailingLogs string `yaml:"RAFT_TRAILING_LOGS"`
}

// setting is the raw text of one setting and where it came from.
type setting struct {
	value  string
	origin string // e.g. "set in config.yml line 3"
}

// Template returns the embedded config.yml bytes.
func Template() []byte {
	return bytes.Clone(template)
}

// Load reads the YAML file at path (the embedded template when path is ""),
// expands ${VAR}, ${VAR:-default}, ${VAR-default} in scalar values using getenv,
// then applies environment overrides (an env var named like a key, e.g. BATCH_SIZE=8192,
// overrides that key's value even when the file holds a literal), then validates.
//
// A nil getenv means os.LookupEnv. An environment variable that is set but
// empty does not override. Keys absent from the file take the defaults of
// the embedded template. Errors about the content of the configuration
// (YAML syntax, unknown keys, bad references, bad values) wrap ErrInvalid;
// an error reading the file does not.
func Load(path string, getenv func(string) (string, bool)) (*Config, error) {
	return LoadWithFlags(path, getenv, nil)
}

// LoadWithFlags is Load with command-line flags (setting name, such as
// DATA_DIR, to value) applied over the file and the environment before
// anything is checked: a flag corrects a bad value set elsewhere.
func LoadWithFlags(path string, getenv func(string) (string, bool), flags map[string]string) (*Config, error) {
	if getenv == nil {
		getenv = os.LookupEnv
	}
	src, name, data := EmbeddedSource, "embedded config.yml", template
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: read config file: %w", err)
		}
		src, name, data = path, path, b
	}
	settings, err := parse(name, data, getenv)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if v, ok := getenv(k); ok && v != "" {
			settings[k] = setting{value: v, origin: "set by environment variable " + k}
		}
	}
	for k, v := range flags {
		if _, ok := settings[k]; !ok {
			return nil, fmt.Errorf("config: no setting %s", k)
		}
		settings[k] = setting{value: v, origin: "set by command-line flag"}
	}
	c, err := resolve(settings)
	if err != nil {
		return nil, err
	}
	c.Source = src
	return c, nil
}

// parse decodes data, read from the file called src, expands references
// in its scalar values and returns every setting, with defaults for those
// absent.
func parse(src string, data []byte, getenv func(string) (string, bool)) (map[string]setting, error) {
	settings := make(map[string]setting, len(keys))
	for _, k := range keys {
		settings[k] = setting{value: defaults[k], origin: "built-in default"}
	}
	var doc yaml.Node
	docs := yaml.NewDecoder(bytes.NewReader(data))
	if err := docs.Decode(&doc); err != nil && err != io.EOF {
		return nil, invalid(fmt.Errorf("config: %s: %w", src, err))
	}
	var next yaml.Node
	if err := docs.Decode(&next); err != io.EOF {
		return nil, invalid(fmt.Errorf("config: %s line %d: a second YAML document: the configuration is one mapping", src, next.Line))
	}
	if len(doc.Content) == 0 { // empty file: every setting takes its default
		return settings, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, invalid(fmt.Errorf("config: %s line %d: want a mapping of settings such as \"DATA_DIR: ./data\"; known settings are %s", src, root.Line, strings.Join(keys, ", ")))
	}
	seen := make(map[string]int, len(keys)) // key -> line
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if _, ok := defaults[k.Value]; !ok || k.Kind != yaml.ScalarNode {
			return nil, invalid(fmt.Errorf("config: %s line %d: unknown setting %q; known settings are %s", src, k.Line, k.Value, strings.Join(keys, ", ")))
		}
		if line, dup := seen[k.Value]; dup {
			return nil, invalid(fmt.Errorf("config: %s line %d: %s already set at line %d", src, k.Line, k.Value, line))
		}
		if v.Kind != yaml.ScalarNode {
			return nil, invalid(fmt.Errorf("config: %s line %d: %s: want a single value, not a list or mapping", src, v.Line, k.Value))
		}
		if err := expandNode(v, getenv); err != nil {
			return nil, invalid(fmt.Errorf("config: %s line %d: %s: %w", src, v.Line, k.Value, err))
		}
		seen[k.Value] = v.Line
	}
	// Re-encode the expanded tree and decode it strictly: a plain scalar
	// whose tag was reset re-resolves (e.g. to an int or to null), and
	// KnownFields catches any key the loop above let through.
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return nil, invalid(fmt.Errorf("config: %s: %w", src, err))
	}
	var fv fileValues
	dec := yaml.NewDecoder(bytes.NewReader(out))
	dec.KnownFields(true)
	if err := dec.Decode(&fv); err != nil {
		return nil, invalid(fmt.Errorf("config: %s: %w", src, err))
	}
	values := map[string]string{
		keyDataDir:      fv.DataDir,
		keyHeaderSize:   fv.HeaderSize,
		keyBatchSize:    fv.BatchSize,
		keySyncInterval: fv.SyncInterval,
		keyMaxKeySize:   fv.MaxKeySize,
		keyMaxValueSize: fv.MaxValueSize,
		keyMaxFileSize:  fv.MaxFileSize,
		keyMergeRatio:   fv.MergeRatio,
		keySyncMode:     fv.SyncMode,

		keyAddr:           fv.Addr,
		keyPassword:       fv.Password,
		keyMaxClients:     fv.MaxClients,
		keyIdleTimeout:    fv.IdleTimeout,
		keyRequestTimeout: fv.RequestTimeout,
		keyMetricsAddr:    fv.MetricsAddr,

		keyNodeID:   fv.NodeID,
		keyRaftAddr: fv.RaftAddr,
		keyRaftDir:  fv.RaftDir,
		keyPeers:    fv.Peers,
		keyJoin:     fv.Join,

		keyRaftTrailingLogs: fv.RaftTrailingLogs,
	}
	for k, line := range seen {
		settings[k] = setting{value: values[k], origin: fmt.Sprintf("set in %s line %d", src, line)}
	}
	return settings, nil
}

// Options converts the configuration into options for aetherkv.Open. A
// SYNC_INTERVAL of 0 has already made SyncMode always; a MergeRatio of 0
// turns automatic merges off.
func (c *Config) Options() *aetherkv.Options {
	ratio := c.MergeRatio
	if ratio == 0 {
		ratio = -1
	}
	return &aetherkv.Options{
		BatchSize:    c.BatchSize,
		SyncInterval: c.SyncInterval,
		SyncMode:     c.SyncMode,
		MaxKeySize:   c.MaxKeySize,
		MaxValueSize: c.MaxValueSize,
		MaxFileSize:  c.MaxFileSize,
		MergeRatio:   ratio,
	}
}
