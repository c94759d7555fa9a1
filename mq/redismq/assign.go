package redismq

import (
	"cmp"
	"hash/fnv"
	"slices"
)

// assign returns, for each of n partitions, the index in members of the
// member that owns it. Every member computes it from the same sorted
// member list, so they agree without talking.
//
// It is rendezvous hashing with bounded loads: every (member, partition)
// pair has a score (a hash of both); pairs are taken best first, and a
// pair assigns its partition if the partition is still free and the member
// below its fair share (n/len(members), rounded down or, for n%len(members)
// of them, up). Rendezvous keeps assignment
// sticky: a member joining takes the partitions it scores best on, about
// n/len(members), and few others move; a member leaving frees mostly its
// own. Plain p%M moved most partitions on every change, and each move is a
// hand-over.
func assign(members []string, n int) []int {
	owner := make([]int, n)
	for p := range owner {
		owner[p] = -1
	}
	if len(members) == 0 {
		return owner
	}
	type pair struct {
		score     uint64
		p, member int
	}
	pairs := make([]pair, 0, n*len(members))
	for p := range n {
		for i, m := range members {
			pairs = append(pairs, pair{rank(m, p), p, i})
		}
	}
	slices.SortFunc(pairs, func(a, b pair) int { return cmp.Compare(b.score, a.score) })
	// Fair shares: every member gets floor partitions, and extra of them
	// one more.
	floor, extra := n/len(members), n%len(members)
	load := make([]int, len(members))
	for _, pr := range pairs {
		if owner[pr.p] >= 0 {
			continue
		}
		switch l := load[pr.member]; {
		case l < floor:
		case l == floor && extra > 0:
			extra--
		default:
			continue
		}
		owner[pr.p] = pr.member
		load[pr.member]++
	}
	return owner
}

// rank is member m's score for partition p.
func rank(m string, p int) uint64 {
	h := fnv.New64a()
	h.Write([]byte(m))
	h.Write([]byte{0, byte(p >> 8), byte(p)})
	// FNV's low bits mix poorly for inputs that differ in the last bytes;
	// a final avalanche (from splitmix64) spreads them.
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
