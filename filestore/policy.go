package filestore

import (
	"fmt"
	"maps"
	"slices"
)

// Priority is what an upload cares about most; it steers DefaultPolicy.
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

// Policy returns the backends an upload may go to, by name, most
// preferred first; the Service tries them in order (skipping names not
// configured, and failing over to the next when one is down).
type Policy func(o UploadOptions) []string

// Backend names DefaultPolicy refers to.
const (
	BackendNFS   = "nfs"
	BackendHDFS  = "hdfs"
	BackendS3    = "s3"
	BackendLocal = "local"
)

// LargeFile is the size from which DefaultPolicy treats a file as large:
// 100 MB.
const LargeFile = 100_000_000

// DefaultPolicy is the rule table: a file under 100 MB goes to NFS when
// latency matters, else to HDFS; a file of 100 MB or more goes to HDFS
// when durability matters, else to S3 (archive). An unknown size counts
// as small. Each list continues with the other backends, so that an
// upload fails over, and ends with local disk.
func DefaultPolicy(o UploadOptions) []string {
	small := o.Size < LargeFile
	switch {
	case small && o.Priority == PriorityLatency:
		return []string{BackendNFS, BackendHDFS, BackendS3, BackendLocal}
	case small:
		return []string{BackendHDFS, BackendNFS, BackendS3, BackendLocal}
	case o.Priority == PriorityDurability:
		return []string{BackendHDFS, BackendS3, BackendNFS, BackendLocal}
	default:
		return []string{BackendS3, BackendHDFS, BackendNFS, BackendLocal}
	}
}

// candidates are the configured backends the policy allows, in its order;
// if it names none that is configured, every configured one, by name.
func (svc *Service) candidates(o UploadOptions) []*backend {
	var out []*backend
	for _, name := range svc.o.Policy(o) {
		if b, ok := svc.backends[name]; ok && !slices.Contains(out, b) {
			out = append(out, b)
		}
	}
	if len(out) == 0 {
		for _, name := range slices.Sorted(maps.Keys(svc.backends)) {
			out = append(out, svc.backends[name])
		}
	}
	return out
}
