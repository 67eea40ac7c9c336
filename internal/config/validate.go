package config

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	aetherkv "github.com/aether-kv/aether-kv"
	"github.com/aether-kv/aether-kv/internal/format"
)

// ErrInvalid is wrapped by every error that reports bad configuration
// content: YAML syntax, an unknown key, a bad ${...} reference or a value
// out of range. Test for it with errors.Is.
var ErrInvalid = errors.New("config: invalid configuration")

// MaxBatchSize is the largest BATCH_SIZE accepted, in bytes.
const MaxBatchSize = 1 << 30

// invalidError marks err as bad configuration content: it reads as err and
// matches ErrInvalid.
type invalidError struct{ err error }

func (e *invalidError) Error() string        { return e.err.Error() }
func (e *invalidError) Unwrap() error        { return e.err }
func (e *invalidError) Is(target error) bool { return target == ErrInvalid }

// invalid wraps err so that errors.Is(err, ErrInvalid) holds.
func invalid(err error) error { return &invalidError{err: err} }

// badValue reports that setting key holds a value it does not accept:
//
//	config: BATCH_SIZE "abc": want a positive integer number of bytes (set by environment variable BATCH_SIZE)
//
// cause, when not nil, is wrapped and printed after want.
func badValue(key string, s setting, want string, cause error) error {
	if cause != nil {
		return invalid(fmt.Errorf("config: %s %q: want %s (%s): %w", key, s.value, want, s.origin, cause))
	}
	return invalid(fmt.Errorf("config: %s %q: want %s (%s)", key, s.value, want, s.origin))
}

// resolve parses and checks every setting. It reports every bad value, not
// only the first.
func resolve(settings map[string]setting) (*Config, error) {
	var c Config
	var errs []error
	check := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	check(checkDataDir(settings[keyDataDir], &c.DataDir))
	check(parseInt(keyHeaderSize, settings[keyHeaderSize], format.HeaderSize, format.HeaderSize,
		fmt.Sprintf("%d: the record header size is fixed by the on-disk format", format.HeaderSize), &c.HeaderSize))
	check(parseInt(keyBatchSize, settings[keyBatchSize], 1, MaxBatchSize,
		fmt.Sprintf("a positive integer number of bytes, at most %d", MaxBatchSize), &c.BatchSize))
	check(parseSyncInterval(settings[keySyncInterval], &c.SyncInterval))
	check(parseInt(keyMaxKeySize, settings[keyMaxKeySize], 1, aetherkv.MaxKeySizeLimit,
		fmt.Sprintf("an integer number of bytes from 1 to %d", aetherkv.MaxKeySizeLimit), &c.MaxKeySize))
	check(parseInt(keyMaxValueSize, settings[keyMaxValueSize], 1, aetherkv.MaxValueSizeLimit,
		fmt.Sprintf("an integer number of bytes from 1 to %d", aetherkv.MaxValueSizeLimit), &c.MaxValueSize))
	var fileSize int
	check(parseInt(keyMaxFileSize, settings[keyMaxFileSize], 1, aetherkv.MaxFileSizeLimit,
		fmt.Sprintf("an integer number of bytes from 1 to %d", int64(aetherkv.MaxFileSizeLimit)), &fileSize))
	c.MaxFileSize = int64(fileSize)
	check(parseRatio(settings[keyMergeRatio], &c.MergeRatio))
	check(parseSyncMode(settings[keySyncMode], settings[keySyncInterval], &c))
	c.serveErr = errors.Join(resolveServer(settings, &c), resolveCluster(settings, &c))
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &c, nil
}

// parseInt sets *dst to the decimal integer in s when it lies in [lo, hi].
func parseInt(key string, s setting, lo, hi int, want string, dst *int) error {
	n, err := strconv.ParseInt(strings.TrimSpace(s.value), 10, 64)
	if err != nil || n < int64(lo) || n > int64(hi) {
		return badValue(key, s, want, nil)
	}
	*dst = int(n)
	return nil
}

// parseSyncMode sets c.SyncMode from s. A SYNC_INTERVAL of 0 in interval
// mode is the seed-style way of asking for always; in never mode it is a
// contradiction.
func parseSyncMode(s, interval setting, c *Config) error {
	if parseSyncInterval(interval, new(time.Duration)) != nil {
		interval.value = "" // already reported; do not add a false "SYNC_INTERVAL 0"
	}
	const want = "interval, always or never"
	switch strings.ToLower(strings.TrimSpace(s.value)) {
	case "interval":
		c.SyncMode = aetherkv.SyncModeInterval
		if c.SyncInterval == 0 {
			c.SyncMode = aetherkv.SyncModeAlways
		}
	case "always":
		c.SyncMode = aetherkv.SyncModeAlways
	case "never":
		c.SyncMode = aetherkv.SyncModeNever
		if c.SyncInterval == 0 && strings.TrimSpace(interval.value) != "" {
			return badValue(keySyncMode, s, want+"; never cannot go with SYNC_INTERVAL 0, which asks for a sync on every write", nil)
		}
	default:
		return badValue(keySyncMode, s, want, nil)
	}
	return nil
}

// parseRatio sets *dst to the fraction in s, from 0 to 1.
func parseRatio(s setting, dst *float64) error {
	f, err := strconv.ParseFloat(strings.TrimSpace(s.value), 64)
	if err != nil || !(f >= 0 && f <= 1) {
		return badValue(keyMergeRatio, s, "a fraction from 0 to 1 such as 0.5; 0 turns automatic merges off", nil)
	}
	*dst = f
	return nil
}

// parseSyncInterval sets *dst from a number of seconds ("5", "0.5") or a
// Go duration ("500ms"). Zero is allowed: it means sync every write.
func parseSyncInterval(s setting, dst *time.Duration) error {
	return parseSeconds(keySyncInterval, s, "a number of seconds >= 0 such as 5 or 0.5, or a duration such as 500ms; 0 syncs every write", dst)
}

// parseSeconds sets *dst from a number of seconds ("5", "0.5") or a Go
// duration ("500ms"), zero or more.
func parseSeconds(key string, s setting, want string, dst *time.Duration) error {
	v := strings.TrimSpace(s.value)
	var d time.Duration
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		ns := f * float64(time.Second)
		if math.IsNaN(f) || f < 0 || ns >= math.MaxInt64 {
			return badValue(key, s, want, nil)
		}
		d = time.Duration(math.Round(ns))
		if d == 0 && f > 0 {
			return badValue(key, s, want+"; it rounds to 0 nanoseconds", nil)
		}
	} else {
		d, err = time.ParseDuration(v)
		if err != nil || d < 0 {
			return badValue(key, s, want, nil)
		}
	}
	*dst = d
	return nil
}

// checkDataDir sets *dst to the directory in s when it is a writable
// directory, or does not exist yet and its nearest existing parent is a
// writable directory. It creates nothing that it leaves behind.
func checkDataDir(s setting, dst *string) error {
	const want = "a writable directory, or a path that can be created in one"
	dir := s.value
	if strings.TrimSpace(dir) == "" {
		return badValue(keyDataDir, s, "a non-empty directory path", nil)
	}
	fi, err := os.Stat(dir)
	switch {
	case err == nil && !fi.IsDir():
		return badValue(keyDataDir, s, "a directory, not a file", nil)
	case err == nil:
		if err := probeWrite(dir); err != nil {
			return badValue(keyDataDir, s, want, err)
		}
	case errors.Is(err, fs.ErrNotExist):
		if err := checkParent(dir); err != nil {
			return badValue(keyDataDir, s, want, err)
		}
	default:
		return badValue(keyDataDir, s, want, err)
	}
	*dst = dir
	return nil
}

// checkParent checks that the nearest existing ancestor of the missing
// path dir is a writable directory.
func checkParent(dir string) error {
	p := filepath.Clean(dir)
	for {
		parent := filepath.Dir(p)
		if parent == p {
			return fmt.Errorf("no existing parent directory of %s", dir)
		}
		fi, err := os.Stat(parent)
		switch {
		case err == nil && !fi.IsDir():
			return fmt.Errorf("parent %s is a file", parent)
		case err == nil:
			return probeWrite(parent)
		case !errors.Is(err, fs.ErrNotExist):
			return err
		}
		p = parent
	}
}

// probeWrite checks that dir is writable by creating and removing a
// temporary file in it.
func probeWrite(dir string) error {
	f, err := os.CreateTemp(dir, ".aetherkv-probe-*")
	if err != nil {
		return fmt.Errorf("directory not writable: %w", err)
	}
	name := f.Name()
	cerr := f.Close()
	if err := os.Remove(name); err != nil {
		return fmt.Errorf("remove write probe: %w", err)
	}
	if cerr != nil {
		return fmt.Errorf("close write probe: %w", cerr)
	}
	return nil
}
