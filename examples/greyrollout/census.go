package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// versions are the columns of the report.
var versions = []string{"v1", "v2", "v3"}

// header prints the report's column heads.
func header(w io.Writer) {
	fmt.Fprintf(w, "   %-22s %5s %5s %5s   %s\n", "stage", "v1", "v2", "v3", "moved since the stage before")
}

// note prints a line under the last row's "moved" column.
func note(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "%46s%s\n", "", fmt.Sprintf(format, args...))
}

// report prints one stage's row: how many tenants each version answered,
// and who moved from where to where since prev (nil: the first stage).
func report(w io.Writer, stage string, prev, cur census) {
	n := map[string]int{}
	for _, v := range cur {
		n[v]++
	}
	row := fmt.Sprintf("   %-22s %5d %5d %5d   %s", stage, n["v1"], n["v2"], n["v3"], moves(prev, cur))
	fmt.Fprintln(w, strings.TrimRight(row, " "))
	if n["error"] > 0 {
		note(w, "%d calls failed", n["error"])
	}
}

// moves summarises the tenants whose version changed between prev and
// cur, grouped by "from→to", with the first few of each as examples.
func moves(prev, cur census) string {
	if prev == nil {
		return ""
	}
	by := map[string][]string{}
	for t, v := range cur {
		if p := prev[t]; p != v {
			by[p+"→"+v] = append(by[p+"→"+v], t)
		}
	}
	if len(by) == 0 {
		return "nobody"
	}
	var parts []string
	for _, m := range slices.Sorted(maps.Keys(by)) {
		ts := by[m]
		slices.Sort(ts)
		ex := strings.Join(ts[:min(3, len(ts))], ", ")
		if len(ts) > 3 {
			ex += ", …"
		}
		parts = append(parts, fmt.Sprintf("%d %s (%s)", len(ts), m, ex))
	}
	return strings.Join(parts, "; ")
}

// stayed counts the tenants on version in prev that are still there in
// cur, out of all of them: a sticky rollout keeps every one.
func stayed(prev, cur census, version string) (kept, of int) {
	for t, v := range prev {
		if v == version {
			of++
			if cur[t] == version {
				kept++
			}
		}
	}
	return kept, of
}

// differs reports whether any tenant's version differs between a and b.
func differs(a, b census) bool {
	for t, v := range b {
		if a[t] != v {
			return true
		}
	}
	return false
}
