package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
)

// machineFacts describe where a comparison ran.
type machineFacts struct {
	host, cpu, kernel, goVersion string
	cores                        int
	memory                       string // MemTotal
	fs                           string // file system of the data directories
	loadStart                    string // /proc/loadavg when the run began
	aetherCommit                 string // the main module's commit, and whether it had changes
}

// readMachine reads the facts from /proc and the environment; dir is where
// the stores' data directories are made.
func readMachine(dir string) machineFacts {
	host, _ := os.Hostname()
	return machineFacts{
		host:         host,
		cpu:          procField("/proc/cpuinfo", "model name"),
		kernel:       strings.TrimSpace(readText("/proc/sys/kernel/osrelease")),
		goVersion:    runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH,
		cores:        runtime.NumCPU(),
		memory:       procField("/proc/meminfo", "MemTotal"),
		fs:           fileSystem(dir),
		loadStart:    loadAvg(),
		aetherCommit: aetherCommit(),
	}
}

func (m machineFacts) summary() string {
	return fmt.Sprintf("%s, %d cores, %s, Linux %s, %s, data on %s", m.cpu, m.cores, m.memory, m.kernel, m.goVersion, m.fs)
}

func readText(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// procField returns the value of the first "name: value" line of a /proc
// file.
func procField(path, name string) string {
	for line := range strings.SplitSeq(readText(path), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func loadAvg() string {
	f := strings.Fields(readText("/proc/loadavg"))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// fileSystem names the file system that holds dir: type, device and mount
// point, from the longest matching mount point in /proc/self/mounts.
func fileSystem(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "unknown"
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	best, bestLen := "unknown", -1
	for line := range strings.SplitSeq(readText("/proc/self/mounts"), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		dev, mnt, typ, opts := f[0], f[1], f[2], f[3]
		if (abs == mnt || strings.HasPrefix(abs, strings.TrimSuffix(mnt, "/")+"/")) && len(mnt) > bestLen {
			best, bestLen = fmt.Sprintf("%s (%s on %s, %s)", typ, dev, mnt, opts), len(mnt)
		}
	}
	return best
}

// aetherCommit returns the commit of the main module (the parent of the
// current directory when run as documented) and whether its files outside
// bench/ had uncommitted changes.
func aetherCommit() string {
	out, err := exec.Command("git", "-C", "..", "log", "-1", "--format=%h %s").Output()
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(string(out))
	if len(c) > 70 {
		c = c[:70] + "…"
	}
	st, err := exec.Command("git", "-C", "..", "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)bench").Output()
	if err == nil && len(strings.TrimSpace(string(st))) > 0 {
		c += fmt.Sprintf(" + uncommitted changes in %d files", len(strings.Split(strings.TrimSpace(string(st)), "\n")))
	}
	return c
}

// moduleVersions returns the version of each store's module built into
// this program.
func moduleVersions() map[string]string {
	v := map[string]string{}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	for _, d := range bi.Deps {
		ver := d.Version
		if d.Replace != nil {
			ver = "replaced by " + d.Replace.Path
		}
		v[d.Path] = ver
	}
	return v
}
