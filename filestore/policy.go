package filestore

import (
	"fmt"
	"io/fs"
	"slices"
)

// Priority is what an upload cares about most; Policy rules match on it.
type Priority string

// Priorities.
const (
	PriorityNormal     Priority = ""
	PriorityLatency    Priority = "latency"
	PriorityDurability Priority = "durability"
	PriorityArchive    Priority = "archive"
)

func (p Priority) valid() error {
	switch p {
	case PriorityNormal, PriorityLatency, PriorityDurability, PriorityArchive:
		return nil
	}
	return fmt.Errorf("unknown priority %q (want latency, durability, archive or empty)", string(p))
}

// Policy chooses the backends an upload may go to, most preferred first,
// by the names they have in ServiceOptions.Backends. The Service tries
// them in order and fails over to the next when one fails or its breaker
// is open. The zero Policy sends every upload to the backends in the
// order ServiceOptions.Backends lists them. NewService refuses a policy
// that names a backend not configured, saying which.
type Policy struct {
	// Rules are tried in order: the first that matches an upload gives
	// its backends.
	Rules []Rule
	// Otherwise are the backends of an upload no rule matches; empty
	// means every backend, in the order ServiceOptions.Backends lists
	// them.
	Otherwise []string
}

// Rule matches uploads by size and priority.
type Rule struct {
	// MinSize and MaxSize bound UploadOptions.Size: the rule matches
	// MinSize <= Size < MaxSize; MaxSize 0 sets no upper bound. An
	// upload of unknown size (0) matches as 0 bytes.
	MinSize, MaxSize int64
	// Priorities the rule matches; empty matches every priority.
	Priorities []Priority
	// Backends are the names the upload may go to, most preferred first.
	Backends []string
}

func (r *Rule) matches(o UploadOptions) bool {
	return o.Size >= r.MinSize && (r.MaxSize == 0 || o.Size < r.MaxSize) &&
		(len(r.Priorities) == 0 || slices.Contains(r.Priorities, o.Priority))
}

// Choose returns the names of the backends an upload with options o may
// go to, most preferred first: the first matching rule's, else
// Otherwise. Nil means every backend, in the order configured.
func (p Policy) Choose(o UploadOptions) []string { return slices.Clone(p.choose(o)) }

func (p Policy) choose(o UploadOptions) []string {
	for i := range p.Rules {
		if p.Rules[i].matches(o) {
			return p.Rules[i].Backends
		}
	}
	if len(p.Otherwise) == 0 {
		return nil // every backend, however the empty list was spelt
	}
	return p.Otherwise
}

// clone is a deep copy of p: NewService keeps one, so that a caller
// changing its Policy afterwards cannot bring in names it did not check.
func (p Policy) clone() Policy {
	c := Policy{Otherwise: slices.Clone(p.Otherwise)}
	for _, r := range p.Rules {
		r.Priorities, r.Backends = slices.Clone(r.Priorities), slices.Clone(r.Backends)
		c.Rules = append(c.Rules, r)
	}
	return c
}

// check reports, naming it, the first rule that could never match or
// names no backend, and the first name that configured does not know.
func (p Policy) check(configured map[string]*backend) error {
	known := func(where string, names []string) error {
		for _, n := range names {
			b, ok := configured[n]
			switch {
			case !ok:
				return fmt.Errorf("%w: ServiceOptions.Policy.%s names backend %q, which ServiceOptions.Backends does not have", fs.ErrInvalid, where, n)
			case b.name != n:
				return fmt.Errorf("%w: ServiceOptions.Policy.%s names backend %q, an alias of %q: name %q", fs.ErrInvalid, where, n, b.name, b.name)
			}
		}
		return nil
	}
	for i, r := range p.Rules {
		where := fmt.Sprintf("Rules[%d]", i)
		switch {
		case len(r.Backends) == 0:
			return fmt.Errorf("%w: ServiceOptions.Policy.%s names no backend", fs.ErrInvalid, where)
		case r.MinSize < 0 || r.MaxSize < 0 || r.MaxSize != 0 && r.MaxSize <= r.MinSize:
			return fmt.Errorf("%w: ServiceOptions.Policy.%s matches no size (MinSize %d, MaxSize %d)", fs.ErrInvalid, where, r.MinSize, r.MaxSize)
		}
		for _, pr := range r.Priorities {
			if err := pr.valid(); err != nil {
				return fmt.Errorf("%w: ServiceOptions.Policy.%s: %v", fs.ErrInvalid, where, err)
			}
		}
		if err := known(where+".Backends", r.Backends); err != nil {
			return err
		}
	}
	return known("Otherwise", p.Otherwise)
}

// LargeFile is the size from which TieredPolicy treats a file as large:
// 100 MB.
const LargeFile = 100_000_000

// Tiers names backends by the role TieredPolicy gives them; a role left
// empty is skipped.
type Tiers struct {
	Fast    string   // low latency (NFS): small files whose priority is latency
	Durable string   // replicated (HDFS): other small files, large ones whose priority is durability
	Archive string   // cheap and large (S3): other large files
	Last    []string // tried after the others, in this order (local disk)
}

// TieredPolicy is a rule table by size and priority: a file under
// LargeFile goes to the Fast backend when latency matters, else to the
// Durable one; a file of LargeFile or more goes to the Durable backend
// when durability matters, else to the Archive one. An unknown size
// counts as small. Each rule goes on to the other tiers, so that an
// upload fails over, and ends with Last. It is the table the Service
// applied, by the fixed names nfs, hdfs, s3 and local, before backends
// were named by their users:
//
//	TieredPolicy(Tiers{Fast: "nfs", Durable: "hdfs", Archive: "s3", Last: []string{"local"}})
func TieredPolicy(t Tiers) Policy {
	list := func(names ...string) []string {
		var out []string
		for _, n := range append(names, t.Last...) {
			if n != "" && !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
		return out
	}
	return Policy{Rules: []Rule{
		{MaxSize: LargeFile, Priorities: []Priority{PriorityLatency}, Backends: list(t.Fast, t.Durable, t.Archive)},
		{MaxSize: LargeFile, Backends: list(t.Durable, t.Fast, t.Archive)},
		{MinSize: LargeFile, Priorities: []Priority{PriorityDurability}, Backends: list(t.Durable, t.Archive, t.Fast)},
		{MinSize: LargeFile, Backends: list(t.Archive, t.Durable, t.Fast)},
	}}
}

// candidates are the backends the policy allows an upload, in its order.
func (svc *Service) candidates(o UploadOptions) []*backend {
	names := svc.o.Policy.choose(o)
	if names == nil {
		return svc.list
	}
	out := make([]*backend, 0, len(names))
	for _, name := range names {
		if b := svc.backends[name]; !slices.Contains(out, b) {
			out = append(out, b)
		}
	}
	return out
}
