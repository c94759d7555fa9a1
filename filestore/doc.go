// Package filestore is one file API over local disk, memory, S3, NFS and
// HDFS: Store, opened from a URL with the backend registered
// by a blank import, in the manner of database/sql and gocloud.dev/blob.
//
//	import _ "github.com/groundwork-go/groundwork/filestore/localstore"
//
//	s, err := filestore.Open(ctx, "file:///srv/files")
//	info, err := s.Put(ctx, "invoices/2026/42.pdf", r, &filestore.PutOptions{ContentType: "application/pdf"})
//	w, err := s.NewWriter(ctx, "exports/totals.csv", nil) // io.WriteCloser: stored whole on Close
//	rd, err := s.Open(ctx, "invoices/2026/42.pdf") // io.ReadSeekCloser + io.ReaderAt
//	for info, err := range s.List(ctx, "invoices/2026/") { ... }
//	data, err := fs.ReadFile(s.FS(), "invoices/2026/42.pdf") // any io/fs code
//
// # URLs
//
//	mem://                                   memstore: in-process, for tests and examples
//	file:///dir[?mkdir=true&fsync=false]     localstore (mkdir=true makes a missing dir, mode 0750)
//	s3://bucket[/prefix/]?region=...         s3store (endpoint=...&path_style=true for S3-compatible servers)
//	nfs://server/export/dir                  nfsstore (NFSv3, user space)
//	hdfs://namenode:8020/dir[?user=...]      hdfsstore (HA: hdfs://nn1:8020,nn2:8020/dir)
//
// Each backend's package doc lists its parameters; an unknown parameter is
// an error (ErrBadURL), and an unregistered scheme's error lists the
// registered ones. A file:// directory must exist unless mkdir=true: the
// error for a missing one says so.
//
// # Names
//
// Names are slash-separated relative paths as io/fs.ValidPath defines
// them, without NUL: "a/b.txt", never "/a", "a/../b", "a//b", "a/" or ""
// (ValidName; fs.ErrInvalid). Listing is flat and lexicographic by bytes,
// as in S3; the FS view shows the name prefixes as directories.
//
// # Guarantees
//
//   - Put and a Writer stream through one fixed buffer (256 KiB,
//     WithBufferSize): memory stays bounded whatever the size (measured:
//     a 1 GiB Put to local disk grows RSS by about 1 MiB).
//   - A reader never sees a partial object: backends write to a temporary
//     name and rename (local disk, NFS, HDFS) or use the store's own atomic
//     upload (S3). A failed or cancelled Put leaves the name as it was;
//     so does a Writer until its Close succeeds, and for good if anything
//     failed (a Write, its ctx, the size or digest announced, the Store
//     closed first): Close then discards what was written and says why.
//     A Store closed with Writers open releases its backend when the last
//     of them is closed.
//   - Put and a Writer compute the SHA-256 while streaming and store it
//     with the object (Info.SHA256); with PutOptions.SHA256 (or Size) a
//     mismatch fails the Put, or the Writer's Close, and nothing becomes
//     visible.
//   - IfNotExist makes creation exclusive: of racing Puts (and Writers)
//     exactly one succeeds, the others get fs.ErrExist.
//   - Rename is atomic where the backend renames (local disk, NFS, HDFS); on S3
//     it is a copy then a delete.
//   - A Reader reads the version Open found: where it reads again (after
//     a Seek, a ReadAt on S3, any READ on NFS, a block read on HDFS once
//     the old version's blocks are removed) and the name now holds
//     another version, the read fails with ErrReplaced — it never returns
//     the new version's bytes, nor the old one cut short.
//
// # Errors
//
// fs.ErrNotExist (missing name; a file, or a resumable upload aborted or
// completed and its file deleted since; a file:// directory missing),
// fs.ErrExist (IfNotExist, or a name a file system cannot hold),
// fs.ErrInvalid (bad name, option or argument — UploadOptions text that
// is not UTF-8 or holds NUL included, and ServiceOptions a NewService
// refuses: two backends of one name, a policy naming a backend not
// configured; each naming the field), fs.ErrClosed (a Writer used after
// Close), ErrDigestMismatch, ErrSizeMismatch, ErrClosed, ErrBadURL,
// ErrUnsupported, ErrReplaced (a Reader's object was replaced: open it
// again), ErrConflict (a metadata record moved first: see
// MetadataStore.UpdateFile; an Upload that Cleanup undid because it
// outlived StaleAfter), ErrBackendDown (the Service's breaker for a
// backend is open). Match them with errors.Is.
//
// A message names the package once, then the operation and what it was
// on, then the cause: `filestore: stat "a.txt" (file): file does not
// exist`, `filestore: open file:///srv/files?mkdri=true: bad URL: unknown
// parameter "mkdri" (known: mkdir, fsync, xattrs)`, `filestore: upload
// "scan.pdf": backend "archive": content length differs from the
// announced size: got 2 bytes, announced 3`. Context errors and io.EOF
// are returned as they are, never wrapped.
//
// # As
//
// Store.As reaches a backend's native client; each backend's package doc
// lists the types it accepts.
//
// # Service
//
// Service is the storage service on top: several Stores under names of
// the user's choosing, a Policy choosing among them per upload by size
// and priority (rules that name them; TieredPolicy is the usual table:
// small files to the fast backend, large ones to the archive), metadata
// in a MetadataStore (memory, or PostgreSQL with package pgmeta),
// per-backend retries and circuit breakers, and resumable uploads:
//
//	svc, err := filestore.NewService(filestore.ServiceOptions{
//		Backends: []filestore.Backend{{Name: "fast", Store: nfs}, {Name: "archive", Store: s3}},
//		Policy: filestore.Policy{
//			Rules:     []filestore.Rule{{MinSize: 100 << 20, Backends: []string{"archive", "fast"}}},
//			Otherwise: []string{"fast", "archive"},
//		},
//		Metadata: meta, // pgmeta.New(ctx, pool, nil)
//	})
//	rec, err := svc.Upload(ctx, r, filestore.UploadOptions{Name: "scan.pdf", Size: n})
//	rd, rec, err := svc.Download(ctx, rec.ID)
//
//	up, err := svc.StartUpload(ctx, filestore.UploadOptions{Name: "video.mp4"})
//	_, err = up.WritePart(ctx, 1, part1)            // each part stored and recorded
//	up, err = svc.ResumeUpload(ctx, up.ID())        // after a restart
//	parts, err := up.Parts(ctx)                     // resume after the last
//	rec, err = up.Complete(ctx)
//
// NewService refuses two backends of one name and a policy naming a
// backend it does not have, saying which. A file's record keeps the name
// of its backend (FileRecord.Backend), so renaming a backend needs its
// old name in Backend.Aliases. Records written before backends were
// named by their users say nfs, hdfs, s3 or local (the names the Service
// fixed then): give the backends those names, or list them as aliases;
// TieredPolicy(Tiers{Fast: "nfs", Durable: "hdfs", Archive: "s3", Last:
// []string{"local"}}) is the table it applied.
//
// Its guarantees: a file's record is written (pending) before its object
// and marked ready after it, and a delete hides the record before
// removing the object, so no visible record points at a missing object.
// Records move by compare-and-set, forward only (pending → ready, never
// back; ready → deleting), so every completion step can be repeated: a
// retried Upload whose first commit landed unseen finds its own object
// (same SHA-256; read back once where the backend recorded none, as S3
// cannot for a large upload whose answer was lost) and succeeds. Complete
// keeps the parts until the file is ready, and marks it ready and ends
// the upload in one metadata step (MetadataStore.CompleteUpload): a
// repeated, resumed or concurrent Complete returns the same record
// (observers hear of it once), and once the file is deleted no Complete
// makes it again — it fails with fs.ErrNotExist. Cleanup (or
// ServiceOptions.CleanupEvery, cancelled by Close) removes what crashes
// leave, older than StaleAfter: pending records with their objects, and
// resumable uploads idle that long since their last part. Native S3
// multipart uploads left by a crash before their record was written are
// invisible to it: give the bucket a lifecycle rule
// (AbortIncompleteMultipartUpload).
//
// Every object the Service writes lives in its namespace in each backend
// (ServiceOptions.Namespace, default "filestore/": files under files/,
// parts under uploads/), which belongs to that Service and its metadata
// alone: Services with separate metadata sharing a backend need
// namespaces of their own, neither inside the other, and nothing else
// should write there. With ServiceOptions.RemoveOrphans, Cleanup also
// lists the namespace and removes objects no record names (whatever
// backend name the record gives): a commit that landed after the Service
// gave up on it, or the part objects of a completed upload that could not
// be removed right then (a backend failure, a crash); without it, those
// stay. UploadOptions text must be UTF-8 without NUL, as every
// MetadataStore keeps it alike; anything else is refused before anything
// is stored.
//
// When a backend fails — after its retries, or at once while its breaker
// is open — an upload moves to the next backend the policy allows (from
// the start of the reader, which must be an io.Seeker once read from),
// and reads from it fail fast with ErrBackendDown. Resumable uploads use
// the backend's native multipart upload (S3; parts of at least 5 MiB
// but the last) or store each part as an object and compose them on
// Complete; on S3, Complete reads the assembled object back once for its
// SHA-256. Parts are bounded by ServiceOptions.MaxPartSize (5 GiB).
// Observers hear of every upload and delete.
//
// # Metrics and traces
//
// The Service exports OpenTelemetry metrics through
// ServiceOptions.MeterProvider (default: the global one):
// filestore.operations and filestore.operation.duration (seconds) by
// filestore.backend, filestore.operation (upload, download, delete,
// start_upload, write_part, complete, abort) and outcome (ok, error,
// backend_down); filestore.bytes by backend and direction (upload;
// download as the Reader is read); filestore.breaker.state (0 closed,
// 1 half-open, 2 open); filestore.records.pending (uploads in flight);
// filestore.cleanup.removed by kind (stale_file, stale_upload, orphan —
// the last with RemoveOrphans).
// Counters and gauges are atomics read at collection time; the latency
// histogram is recorded as each operation ends (a no-op until an SDK is
// installed) in the operation's span context, so that exemplars point at
// the span. Each operation is a span ("filestore upload", ...) from
// ServiceOptions.TracerProvider, with the file or upload ID and backend.
//
// # Backends
//
// A backend implements the small interfaces of package driver and passes
// storetest.RunConformanceTests against a real server. The portable layer
// does name checks, digests, paging, seeking, the io/fs view and the
// fallbacks (range reads where a backend cannot seek, copy-then-delete
// where it cannot rename).
package filestore
