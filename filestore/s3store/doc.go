// Package s3store is the S3 filestore backend, scheme s3://, on
// aws-sdk-go-v2 (service/s3 and the transfer manager), for AWS and for
// S3-compatible servers (MinIO, Ceph, versitygw, ...).
//
// # URLs
//
//	s3://bucket[/prefix/]?region=eu-west-1
//	s3://bucket?endpoint=http://127.0.0.1:9000&region=us-east-1&path_style=true
//
// Parameters:
//   - region: the bucket's region (else the SDK's configuration).
//   - endpoint: an S3-compatible server's URL.
//   - path_style=true: bucket in the path, not the host name (most
//     S3-compatible servers need it).
//   - profile: a shared-configuration profile.
//   - part_size, multipart_threshold (bytes), concurrency: see Options.
//
// Credentials come from the SDK's default chain: environment variables,
// the shared configuration and credentials files, web identity, container
// and instance roles. A prefix in the path confines the store to the keys
// under it. Unknown parameters are an error. The SDK's own retries are off
// for clients built from a URL: the portable layer and the storage
// Service own retrying.
//
// # Guarantees
//
// An object becomes visible whole or not at all: a Put up to
// multipart_threshold (5 MiB) is one PutObject, larger ones a multipart
// upload that is completed only once everything is sent and aborted on
// failure or cancellation (with a fresh 30 s context, so that parts are
// not left behind when the caller's ctx is what ended it). The caller's
// ctx ending does not cut the upload's requests off — one cut off may
// still take effect on the server, and a multipart upload created that
// way would be known to nobody — but its body: the upload is then
// aborted, and requests still under way 5 s later (a server that does
// not answer) are cancelled. A single PutObject already sent likewise
// runs to its answer, for up to 5 s, so that a Put or a Writer's Close
// fails only if the object was not stored; so does the
// CreateMultipartUpload of a resumable upload (filestore.Service), so
// that its ID is known and the upload can be aborted. IfNotExist is
// S3's conditional write (If-None-Match: *). A Put holds at most about
// multipart_threshold + (concurrency+1) × part_size in memory (measured:
// +45 MiB RSS for a 1 GiB Put with the defaults, most of it the transfer
// manager's pool of concurrency+1 part buffers).
//
// The SHA-256 is stored as the user metadata "filestore-sha256" (and, on
// a single PutObject, as S3's own checksum, which the server verifies;
// the SDK's signer reuses the digest instead of hashing the body again).
// A multipart upload without PutOptions.SHA256 learns the digest only at
// the end and records it as the object tag "filestore-sha256", bound to
// the upload's ETag (a tag left by an older upload of the name is not
// believed); Stat and Open of such an object make one more request
// (GetObjectTagging). The tag is best effort: if PutObjectTagging fails
// the Put still succeeds (the object is in place, and an expected digest
// was checked before the upload completed) and the object simply has no
// recorded digest; if GetObjectTagging fails (a policy denying it), Stat
// and Open succeed without one. Metadata values that are not printable
// ASCII travel RFC 2047-encoded, as S3 returns them.
//
// A Reader streams one GetObject; after a Seek, and for each ReadAt, it
// asks for a range with If-Match on the ETag it opened — one request,
// no HEAD or tagging — so a replaced object fails with
// filestore.ErrReplaced instead of mixing versions; so does a range the
// object no longer has (416 from a server that checks the range before
// If-Match: a shorter object replaced it), never an early end.
//
// Rename is Copy then Delete (S3 has no rename); Copy is server-side, up
// to 5 GiB. List returns size and time for each object, not the
// metadata: Stat has it. S3 deletes missing keys silently, so Delete asks
// first to report fs.ErrNotExist.
//
// Servers that store objects as files (versitygw's posix backend) cannot
// hold "a" and "a/b" at once; that is reported as fs.ErrExist.
//
// # As
//
// *s3.Client and *transfermanager.Client.
package s3store
