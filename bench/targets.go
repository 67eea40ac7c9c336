package main

import (
	"fmt"
	"strings"
)

// targets returns the section that holds this run's medians against the
// targets of issue 4, each a ratio to the best peer in the same run.
func (r *runner) targets() string {
	if _, ok := findAdapter(r.s.stores, aetherName); !ok {
		return ""
	}
	var lines []string
	note := func(target, measured, verdict string) {
		lines = append(lines, fmt.Sprintf("| %s | %s | %s |", target, measured, verdict))
	}
	add := func(target, measured string, met bool, ok bool) {
		if !ok {
			return
		}
		verdict := "no"
		if met {
			verdict = "yes"
		}
		note(target, measured, verdict)
	}
	rows := map[string]row{}
	for _, rw := range tableRows(r.s.keys, r.s.reopenKeys) {
		rows[rw.id] = rw
	}
	bitcask := func(a adapter) bool { return a.family == familyBitcask }
	vsBest := func(id string, goal float64, target string) {
		av, ok1 := r.median(id, aetherName)
		bv, name, ok2 := r.best(rows[id], nil)
		add(target, fmt.Sprintf("%.2fx %s (%s vs %s)", av/bv, name, rate(av), rate(bv)), av >= goal*bv, ok1 && ok2)
	}
	vsBest(rowPut1, 3, "buffered puts, 1 writer: ≥ 3x the best peer")
	vsBest(rowPut4, 3, "buffered puts, 4 writers: ≥ 3x the best peer")
	vsBest(rowGet1, 3, "random gets, 1 reader: ≥ 3x the best peer")
	vsBest(rowGet2, 3, "random gets, 2 readers: ≥ 3x the best peer")

	if av, ok := r.median(rowDurable64, aetherName); ok {
		if pv, ok := r.median(rowDurable64, "pebble"); ok {
			add("durable puts, 64 writers: ≥ 1.5x pebble", fmt.Sprintf("%.2fx (%s vs %s)", av/pv, rate(av), rate(pv)), av >= 1.5*pv, true)
		}
		bv, name, ok := r.best(rows[rowDurable64], bitcask)
		add("durable puts, 64 writers: ≥ 10x every Bitcask-family peer",
			fmt.Sprintf("%.1fx the best of them, %s (%s vs %s)", av/bv, name, rate(av), rate(bv)), av >= 10*bv, ok)
		if why := r.notSyncing(rowDurable64, aetherName); why != "" {
			add("durable puts, 64 writers: every acknowledged put synced", why, false, true)
		} else if c, ok := r.fsyncs[aetherName][64]; ok && c.err == "" {
			add("durable puts, 64 writers: every acknowledged put synced",
				fmt.Sprintf("%.1f puts per fsync counted (at most 64 possible)", c.perSync()), c.perSync() <= 64.64, true)
		}
	}

	rk := count(r.s.reopenKeys)
	if v, ok := r.median(rowReopenMerged, aetherName); ok {
		add("reopen "+rk+" keys from hint files (after a merge): ≤ 0.3 s", seconds(v), v <= 0.3, true)
		if h, ok := r.median(rowIndexRead, aetherName); ok {
			add("reopen from hint files: within 2x of reading them", fmt.Sprintf("%.1fx (%s vs %s)", v/h, seconds(v), seconds(h)), v <= 2*h, true)
		}
	}
	if v, ok := r.median(rowReopen, aetherName); ok {
		note("reopen "+rk+" keys before any merge (for reference)", seconds(v), "—")
	}
	for _, id := range []string{rowHeapLoad, rowHeapReopen} {
		av, ok1 := r.median(id, aetherName)
		bv, name, ok2 := r.best(rows[id], bitcask)
		what := "after loading"
		if id == rowHeapReopen {
			what = "after reopening"
		}
		add("heap "+what+": ≤ half the leanest Bitcask-family peer", fmt.Sprintf("%.2fx %s (%.0f vs %.0f B/key)", av/bv, name, av, bv), av <= bv/2, ok1 && ok2)
		add("heap "+what+": ≤ 55 B per 16-byte key (goal)", fmt.Sprintf("%.0f B/key", av), av <= 55, ok1)
	}
	if len(lines) == 0 {
		return ""
	}
	return "\n## Targets of issue 4\n\n| target | this run | met |\n|---|---|---|\n" + strings.Join(lines, "\n") +
		"\n\nNot measured by this command: GC pause and CPU at 10M keys, and the workloads at 10M keys " +
		"(`go run . compare -stores aether -keys 10000000 -reopen-keys 10000000` runs the latter).\n"
}

// findAdapter returns the adapter called name among as.
func findAdapter(as []adapter, name string) (adapter, bool) {
	for _, a := range as {
		if a.name == name {
			return a, true
		}
	}
	return adapter{}, false
}
