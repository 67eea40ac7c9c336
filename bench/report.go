package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// aetherName is the adapter the ratio column is about.
const aetherName = "aether"

// table returns the results as a markdown table: a row per figure, a
// column per store, each cell the median of the runs, and Aether's ratio to
// the best peer.
func (r *runner) table() string {
	var b strings.Builder
	hasAether := slices.ContainsFunc(r.s.stores, func(a adapter) bool { return a.name == aetherName })
	b.WriteString("| workload |")
	sep := "|---|"
	for _, a := range r.s.stores {
		fmt.Fprintf(&b, " %s |", a.name)
		sep += "--:|"
	}
	if hasAether {
		b.WriteString(" Aether / best peer |")
		sep += "--:|"
	}
	b.WriteString("\n" + sep + "\n")
	for _, row := range tableRows(r.s.keys, r.s.reopenKeys) {
		if r.samples[row.id] == nil && r.failures[row.id] == nil {
			continue // not selected
		}
		fmt.Fprintf(&b, "| %s |", row.label)
		for _, a := range r.s.stores {
			fmt.Fprintf(&b, " %s |", r.cell(row, a.name))
		}
		if hasAether {
			fmt.Fprintf(&b, " %s |", r.ratioCell(row))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// cell formats one median, with a warning sign if a durable figure is
// more than the fsync rate allows.
func (r *runner) cell(row row, store string) string {
	v, ok := r.median(row.id, store)
	if !ok {
		if _, failed := r.failures[row.id][store]; failed {
			return "failed"
		}
		return "—"
	}
	s := row.format(v)
	if r.notSyncing(row.id, store) != "" {
		s += " ⚠"
	}
	return s
}

// notSyncing says why a store's durable figure cannot be true, or "". The
// fsync count of the traced run decides when there is one: more puts per
// fsync than writers, or no fsync at all, means puts were acknowledged
// unsynced. Without a count, a rate above the writers × the fsync rate
// measured on this machine (with a 25% margin) does.
func (r *runner) notSyncing(id, store string) string {
	threads := map[string]int{rowDurable1: 1, rowDurable64: 64, rowPerFsync64: 64}[id]
	if threads == 0 {
		return ""
	}
	if c, ok := r.fsyncs[store][threads]; ok && c.err == "" {
		return c.unsynced(threads)
	}
	v, ok := r.median(id, store)
	if !ok || id == rowPerFsync64 {
		return ""
	}
	if ceiling := float64(threads) * r.fsyncRate() * 1.25; v > ceiling {
		return fmt.Sprintf("%s durable puts/s with %d writers is more than %d × the %s fsyncs/s measured",
			rate(v), threads, threads, rate(r.fsyncRate()))
	}
	return ""
}

// best returns the best median among Aether's peers for a row, and which
// peer it is.
func (r *runner) best(row row, among func(adapter) bool) (float64, string, bool) {
	var bestV float64
	var bestName string
	for _, a := range r.s.stores {
		if a.name == aetherName || (among != nil && !among(a)) {
			continue
		}
		v, ok := r.median(row.id, a.name)
		if !ok || r.notSyncing(row.id, a.name) != "" {
			continue
		}
		if bestName == "" || (row.higher && v > bestV) || (!row.higher && v < bestV) {
			bestV, bestName = v, a.name
		}
	}
	return bestV, bestName, bestName != ""
}

func (r *runner) ratioCell(row row) string {
	av, ok := r.median(row.id, aetherName)
	if !ok || row.noRatio {
		return "—"
	}
	var among func(adapter) bool
	if row.bitcaskOnly {
		among = func(a adapter) bool { return a.family == familyBitcask }
	}
	bv, name, ok := r.best(row, among)
	if !ok || bv == 0 {
		return "—"
	}
	return sig3(av/bv) + "x " + name
}

// report returns the whole results file.
func (r *runner) report() string {
	var b strings.Builder
	m := r.machine
	fmt.Fprintf(&b, "# Aether KV and its peers, side by side: %s on %s\n\n", r.started.Format("2006-01-02"), m.host)
	fmt.Fprintf(&b, "```\n%s\n```\n\n", r.s.command)
	fmt.Fprintf(&b, "Medians of %d runs of each store/workload pair, each run in a fresh process; "+
		"%s keys for puts, gets and space, %s for reopen and heap, %v per durable run. "+
		"The run took %s. Other work shared the machine: load average %s at the start, %s at the end.\n\n",
		r.s.reps, count(r.s.keys), count(r.s.reopenKeys), r.s.durable,
		r.finished.Sub(r.started).Round(time.Second), m.loadStart, loadAvg())
	b.WriteString("## Machine\n\n")
	fmt.Fprintf(&b, "- CPU: %s, %d cores\n- Memory: %s\n- Kernel: Linux %s\n- Go: %s\n- Data directories: %s\n",
		m.cpu, m.cores, m.memory, m.kernel, m.goVersion, m.fs)
	for _, p := range r.probes {
		fmt.Fprintf(&b, "- fsync probe at the %s of the run: a 100-byte append + fsync %v; a 100-byte overwrite "+
			"in a preallocated file + fdatasync %v\n", p.when, p.appendLat, p.overwriteLat)
	}
	fmt.Fprintf(&b, "- So one writer makes at most about %s durable puts/s (the fastest median above), and 64 writers "+
		"sharing every fsync at most about %s\n", rate(r.fsyncRate()), rate(64*r.fsyncRate()))
	fmt.Fprintf(&b, "- Aether KV: %s\n", m.aetherCommit)
	vers := moduleVersions()
	for _, a := range r.s.stores {
		if a.name != aetherName {
			fmt.Fprintf(&b, "- %s: %s %s\n", a.name, a.module, vers[a.module])
		}
	}
	b.WriteString("\n## Results\n\n")
	b.WriteString(r.table())
	b.WriteString("\n" + howToRead + "\n")
	b.WriteString(r.targets())
	b.WriteString(r.durability())
	b.WriteString("\n## Adapters\n\n")
	for _, a := range r.s.stores {
		fmt.Fprintf(&b, "- **%s** (%s): %s\n", a.name, a.family, a.about)
	}
	b.WriteString(r.failureList())
	b.WriteString(r.runs())
	return b.String()
}

// howToRead explains the table.
const howToRead = "How to read it: each cell is the median over the runs. ↑ marks figures where higher " +
	"is better (operations per second), ↓ those where lower is better (seconds, bytes). The last column " +
	"is Aether's median divided by the best peer's, naming that peer: above 1 is better for ↑ rows, below 1 " +
	"for ↓ rows. For heap, the best peer is sought among the Bitcask family only (rosedb, nutsdb, " +
	"bitcask), as the issue asks: badger, pebble and bbolt keep their index on disk (pebble's memtables and " +
	"cache are outside the Go heap). ⚠ marks a durable figure above what the measured fsync rate allows; such " +
	"a figure is left out of the best-peer choice. A dash means not measured (no such operation), " +
	"\"failed\" a run that failed (see Failures). Merge times have no ratio: the stores do different " +
	"work (nutsdb does nothing with a single data file; bbolt copies its whole file).\n"

// durability returns the section that checks durable puts against the
// fsync rate and the counted fsyncs.
func (r *runner) durability() string {
	if r.samples[rowDurable1] == nil && r.samples[rowDurable64] == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n## Durability check\n\n")
	fmt.Fprintf(&b, "A durable put is acknowledged only after an fsync covers it. One writer can therefore "+
		"make at most one put per fsync (about %s/s here), and 64 writers at most 64 (about %s/s). "+
		"One extra run per store was traced with `strace -c` counting fsync, fdatasync and msync calls of "+
		"all its threads (background flushes and compactions included, so the puts per fsync are a lower bound; "+
		"the traced runs are slower).\n\n", rate(r.fsyncRate()), rate(64*r.fsyncRate()))
	b.WriteString("| store | puts/s, 1 writer | traced: puts / fsyncs | puts/s, 64 writers | traced: puts / fsyncs | verdict |\n")
	b.WriteString("|---|--:|--:|--:|--:|---|\n")
	for _, a := range r.s.stores {
		fmt.Fprintf(&b, "| %s |", a.name)
		var notes []string
		for _, t := range []struct {
			threads int
			id      string
		}{{1, rowDurable1}, {64, rowDurable64}} {
			v, ok := r.median(t.id, a.name)
			if ok {
				fmt.Fprintf(&b, " %s |", rate(v))
			} else {
				b.WriteString(" — |")
			}
			c, ok := r.fsyncs[a.name][t.threads]
			switch {
			case !ok:
				b.WriteString(" — |")
			case c.err != "":
				b.WriteString(" failed |")
				notes = append(notes, fmt.Sprintf("trace of %d writers failed: %s", t.threads, c.err))
			default:
				fmt.Fprintf(&b, " %d / %d = %.1f |", c.puts, c.syncs, c.perSync())
			}
			if why := r.notSyncing(t.id, a.name); why != "" {
				notes = append(notes, why)
			} else if v, ok := r.median(t.id, a.name); ok && v > float64(t.threads)*r.fsyncRate()*1.25 {
				notes = append(notes, fmt.Sprintf("faster than %d × the fsync rate probed, but the count shows "+
					"every put synced: fsyncs were cheaper during its runs than during the probes", t.threads))
			}
		}
		if len(notes) == 0 {
			notes = append(notes, "consistent with an fsync before every acknowledgement")
		}
		fmt.Fprintf(&b, " %s |\n", strings.Join(notes, "; "))
	}
	return b.String()
}

// failureList returns the section listing every failed run.
func (r *runner) failureList() string {
	var b strings.Builder
	for _, id := range sortedKeys(r.failures) {
		for _, store := range sortedKeys(r.failures[id]) {
			fmt.Fprintf(&b, "- %s, %s: %s\n", store, id, oneLine(r.failures[id][store]))
		}
	}
	for _, a := range r.s.stores {
		if p, ok := r.prep[a.name]; ok && p.err != nil {
			fmt.Fprintf(&b, "- %s, loading the keys for the get workloads: %s\n", a.name, oneLine(p.err.Error()))
		}
	}
	if b.Len() == 0 {
		return "\n## Failures\n\nNone.\n"
	}
	return "\n## Failures\n\n" + b.String()
}

// runs returns every run's value, so that the spread behind each median
// can be seen.
func (r *runner) runs() string {
	var b strings.Builder
	b.WriteString("\n## Every run\n\n| figure | store | runs |\n|---|---|---|\n")
	rows := tableRows(r.s.keys, r.s.reopenKeys)
	rows = append(rows, row{id: rowIndexRead, label: "reading Aether's hint files after the merge (s)", format: seconds})
	for _, row := range rows {
		for _, a := range r.s.stores {
			vs := r.samples[row.id][a.name]
			if len(vs) == 0 {
				continue
			}
			parts := make([]string, len(vs))
			for i, v := range vs {
				parts[i] = row.format(v)
			}
			fmt.Fprintf(&b, "| %s | %s | %s |\n", row.label, a.name, strings.Join(parts, ", "))
		}
	}
	return b.String()
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
