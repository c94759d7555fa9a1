// Package nfsstore is the NFSv3 filestore backend, scheme nfs://, on
// vmware/go-nfs-client — in user space, no kernel mount, with the NFSv3
// procedures that client lacks (RENAME, LINK, SETATTR, and positional
// READ/WRITE on file handles) added over its rpc.Client.
//
// # URLs
//
//	nfs://server/export/path              mount /export/path (an export, or a directory in one)
//	nfs://server/export?uid=1000&gid=1000  AUTH_SYS credentials (default 0, 0)
//	nfs://server/export?timeout=10s        the bound on each RPC (default 30s)
//
// The client asks the server's portmapper (port 111) for the mount and
// NFS ports, as go-nfs-client always does. Unknown parameters are an
// error.
//
// # Layout
//
// As localstore's: the object "a/b.txt" is the file a/b.txt under the
// mounted directory, byte for byte; directories are made as needed and
// removed with their last object; .filestore/ holds files being written
// and each object's attributes (JSON, trusted while the file's id, size
// and time match); names under ".filestore/" are reserved; one name
// cannot be both a file and a directory (fs.ErrExist).
//
// # Symbolic links
//
// Names are resolved here, one LOOKUP per element from the mounted
// directory's handle, and LOOKUP never follows a symbolic link: a link
// in the exported tree (made on the server's side) is not an object and
// is never followed, whether it leads inside the mounted directory or out
// of it. A name through one is fs.ErrNotExist, Stat and Delete of the
// link's own name are fs.ErrNotExist, Put under it is fs.ErrExist (a
// parent is not a directory), Put at its name replaces the link, and List
// lists regular files only. No name reaches outside the mounted
// directory.
//
// # Guarantees
//
// Put and a Writer write a temporary file with UNSTABLE writes, COMMIT
// it (on the server's stable storage then; a changed write verifier, a
// server that restarted meanwhile, fails the write) and rename it over
// the name (RENAME3, atomic on the server); IfNotExist links it instead
// (LINK3 fails if the name exists). The attributes file is written after
// the rename: if that fails, Close fails with the object in place and
// its attributes (digest, content type, metadata) unknown. A reader never sees part of an object. NFSv3 keeps no
// open-file state, though: the handle of a file replaced while being read
// goes stale. Open looks the name up and makes the first READ (up to
// 1 MiB) at once, looking again if the file was replaced in between; from
// then on the Reader is pinned to that file — Read, Seek and ReadAt read
// it or fail with filestore.ErrReplaced once it is gone, never another
// version, never a silent truncation. An object that fits one READ is
// read whole by Open.
//
// Every RPC is bounded by the timeout, or by the ctx's deadline when that
// comes first (a Reader's by the ctx it was opened with); cancellation is
// seen between RPCs. A connection that fails or times out is dropped and
// the next call mounts again (IsRetryable says so, for the storage
// Service's retries). Calls share one connection, one at a time. After
// Close nothing mounts again: a Reader still open fails with
// filestore.ErrClosed.
//
// # As
//
// Nothing: the connection is replaced on failure, so handing it out would
// hand out a connection that may close.
package nfsstore
