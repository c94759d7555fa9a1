package privilege

import (
	"cmp"
	"slices"
	"strings"

	"cel.dev/cel-go/cel"
)

// compiledPolicy is an active policy with its condition compiled.
type compiledPolicy struct {
	Policy
	prg   cel.Program // nil: no condition
	order int         // position in priority order, for merging buckets
}

// policyIndex holds the active policies of one store version, bucketed by
// resource pattern so that a check looks only at the policies whose
// resource target can match: an exact pattern is a map lookup, a prefix
// pattern ("orders/*", "*", or no resource target at all) one lookup per
// distinct prefix length. Subject and action targets are tested on the few
// candidates that remain, before any condition runs.
type policyIndex struct {
	version    uint64
	exact      map[string][]*compiledPolicy
	prefix     map[string][]*compiledPolicy
	prefixLens []int                  // distinct key lengths of prefix, ascending
	programs   map[string]cel.Program // condition → program, reused by the next index
}

// buildIndex compiles ps (highest priority first) into an index for
// version v, reusing the programs of prev for unchanged conditions so a
// grant write does not recompile every policy.
func buildIndex(v uint64, ps []Policy, prev *policyIndex) (*policyIndex, error) {
	idx := &policyIndex{
		version:  v,
		exact:    make(map[string][]*compiledPolicy),
		prefix:   make(map[string][]*compiledPolicy),
		programs: make(map[string]cel.Program),
	}
	sortPolicies(ps)
	lens := map[int]bool{}
	for i, p := range ps {
		cp := &compiledPolicy{Policy: p, order: i}
		if p.Condition != "" {
			prg, ok := idx.programs[p.Condition]
			if !ok && prev != nil {
				prg, ok = prev.programs[p.Condition]
			}
			if !ok {
				var err error
				// The store validated it on write; a failure here means a
				// store holding what it should have refused.
				if prg, err = compileCondition(p.Condition); err != nil {
					return nil, err
				}
			}
			idx.programs[p.Condition] = prg
			cp.prg = prg
		}
		resources := p.Target.Resources
		if len(resources) == 0 {
			resources = []string{"*"}
		}
		for _, r := range slices.Compact(slices.Sorted(slices.Values(resources))) {
			if pre, ok := strings.CutSuffix(r, "*"); ok {
				idx.prefix[pre] = append(idx.prefix[pre], cp)
				lens[len(pre)] = true
			} else {
				idx.exact[r] = append(idx.exact[r], cp)
			}
		}
	}
	for n := range lens {
		idx.prefixLens = append(idx.prefixLens, n)
	}
	slices.Sort(idx.prefixLens)
	return idx, nil
}

// candidates returns the policies whose resource target matches resource,
// in priority order, each once.
func (idx *policyIndex) candidates(resource string) []*compiledPolicy {
	var out []*compiledPolicy
	out = append(out, idx.exact[resource]...)
	for _, n := range idx.prefixLens {
		if n > len(resource) {
			break
		}
		out = append(out, idx.prefix[resource[:n]]...)
	}
	slices.SortFunc(out, func(a, b *compiledPolicy) int { return cmp.Compare(a.order, b.order) })
	// A policy with two matching resource patterns is listed twice.
	return slices.Compact(out)
}
