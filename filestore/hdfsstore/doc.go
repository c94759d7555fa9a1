// Package hdfsstore is the HDFS filestore backend, scheme hdfs://, on
// github.com/colinmarc/hdfs/v2 (Hadoop RPC to the namenode, the data
// transfer protocol to the datanodes; no JVM, no libhdfs). Import it for
// its side effect:
//
//	import _ "github.com/groundwork-go/groundwork/filestore/hdfsstore"
//
// # URLs
//
//	hdfs://namenode:8020/base/dir                the store is the directory /base/dir (made if missing)
//	hdfs://nn1:8020,nn2:8020/base/dir            HA: the namenodes, tried in turn (the standby is skipped)
//	hdfs://namenode/base/dir?user=etl            port 8020 when none is given
//
// With several namenodes, give every one its port or none (Go's URL
// parser refuses "nn1:8020,nn2").
//
// Parameters:
//   - user: the HDFS user to act as (simple authentication). Default:
//     HADOOP_USER_NAME, else the OS user — as Hadoop's own client.
//   - replication: replication factor of new files (default: the
//     namenode's dfs.replication).
//   - block_size: block size of new files in bytes, a multiple of 512
//     (default: the namenode's dfs.blocksize); a namenode refuses to
//     create files with blocks under dfs.namenode.fs-limits.min-block-size
//     (1 MiB by default).
//   - datanode_hostname=true: connect to datanodes by host name rather
//     than IP address (dfs.client.use.datanode.hostname: multi-homed
//     clusters, NAT, containers).
//   - timeout: how long any read or write on a namenode or datanode
//     connection may make no progress before it fails (default 60s);
//     also the bound of a dial.
//
// Unknown parameters are an error (driver.ErrBadURL), as are user
// information in the host part ("etl@namenode": use ?user=), a missing
// or root base directory (or one under /.reserved, where inode paths
// name the root too), and a parameter given twice.
//
// Kerberos (and wire encryption, data transfer protection) are configured
// by building the client yourself — hdfs.ClientOptionsFromConf and a
// gokrb5 client, with Dialer as its dial functions — and passing it to
// New.
//
// # Layout
//
// The object "a/b.txt" is the file a/b.txt under the base directory;
// directories are made as needed and removed with their last object (by
// inode, /.reserved/.inodes/<id>, so that a directory replaced meanwhile
// by another caller's object is not what goes); one name cannot be both
// a file and a directory (fs.ErrExist), but directories without a file
// under them (left by a Put under them that failed, or a crash) hold no
// object: a Put or Rename to their name removes them.
// .filestore/tmp under the base holds files being written; names under
// ".filestore/" are reserved (fs.ErrInvalid), and List and the io/fs view
// never show them. HDFS holds no name with ':' in it nor one with an
// element ".snapshot" (which, on a snapshottable base, names its
// snapshots): those are refused too (fs.ErrInvalid), and so is a Put,
// Copy or Rename to a name whose element is longer than the namenode
// allows (dfs.namenode.fs-limits.max-component-length, 255 bytes by
// default) or whose path would pass its fixed bounds (8000 characters,
// 1000 levels). Files other programs put under the base are objects
// too (without a recorded digest); directories, symbolic links and files
// still being written by others are not.
//
// # Attributes
//
// The SHA-256, content type and metadata are one extended attribute of
// the file, user.groundwork.filestore (JSON, with the file's inode id,
// size and modification time: a record that does not match its file —
// copied from another, or kept through a rewrite in place by another
// program — is not believed). The
// colinmarc client has setXAttr, getXAttrs and listXAttrs (which lists names only) but only
// partly: no XAttrSetFlag (it always creates-or-replaces) and no call
// for several at once, hence one attribute holding everything. It is set
// on the temporary file before the rename, so the object appears with
// its attributes in one namenode operation, and no sidecar can be stale
// or missing. This needs a namenode with extended attributes enabled
// (dfs.namenode.xattrs.enabled, the default since Hadoop 2.5); with them
// off, every Put fails, naming the attribute. HDFS bounds an attribute's
// size (dfs.namenode.fs-limits.max-xattr-size, 16 KiB by default): a Put
// whose metadata is larger fails with fs.ErrInvalid. Stat costs two
// namenode calls (getFileInfo, getXAttrs), and List one getXAttrs per
// object; a file without a record (another program's) one more, a
// getBlockLocations telling whether it is still being written.
//
// # Guarantees
//
// A Put (or a Writer) writes a temporary file through the datanode
// pipeline, closes it — the datanodes have acknowledged every packet
// and the namenode has completed the file (Close is retried while the
// namenode answers that the last block's replicas are not yet reported,
// hdfs.ErrReplicating, as the Java client does) — labels it and renames
// it over the name (rename2 with OVERWRITE, atomic on the namenode): a
// reader sees the old object or the new one, never part of one and never
// neither. IfNotExist renames without OVERWRITE, which fails if the name
// exists, in the same single step (the client lacks that call: see
// rename2 in exclusive.go). A Put that fails, or whose ctx ends,
// leaves the name as it was and removes its temporary file (a process
// that dies mid-Put leaves it in .filestore/tmp, where the namenode
// recovers its lease after an hour; delete what is old there) — but for
// one case no client can tell: the namenode carried out the rename and
// its answer was lost (the connection cut, or stalled past timeout, at
// that moment). The Put then fails although the name holds the new
// object, whose recorded SHA-256 lets a retry (the storage Service's)
// recognise its own object; a lost answer to the complete before it
// leaves the name as it was and, the client then pausing its namenode
// connection for 5 s, the temporary file in .filestore/tmp.
//
// Durability is HDFS's on close: acknowledged data is in every datanode
// of the pipeline, in their memory or on disk as their configuration
// says (dfs.datanode.synconclose is off by default, so a power loss of
// all replicas at once can lose the last writes — the usual HDFS
// trade-off; hsync is not exposed by the client). The colinmarc client
// writes through a pipeline of the datanodes the namenode names but does
// not rebuild it when one fails: a datanode lost mid-write fails the Put
// (IsRetryable says so; the storage Service retries), leaving nothing.
//
// The namespace is strongly consistent (one active namenode): a Put is
// listed, and a Delete gone, as soon as it returns. A Reader opens the
// file the name held by its inode path (/.reserved/.inodes/<id>, which
// every HDFS namenode since 2.x resolves; a federation Router may not:
// point the store at the namenode), so it fetches the locations
// of that version's blocks whatever the name holds by then, and reads
// those, Seek and ReadAt included: it never mixes versions. Once that
// version is replaced and its blocks removed, reads fail with
// ErrReplaced (filestore's).
//
// The client takes no ctx. A ctx is checked before each call and between
// writes; each data transfer call gets the ctx's deadline (or timeout,
// whichever comes first) as its connection deadline, and the connections
// of a client built from a URL fail any read or write stalled for
// timeout (see Dialer), which bounds a namenode or datanode that stops
// answering. A cancelled ctx therefore ends a Put at its next write, or
// within timeout if a server stalls it. Calls share the client's one
// namenode connection, one at a time, as the client does. After that
// connection fails the client skips the namenode for 5 s: with a single
// namenode, calls fail meanwhile with "no available namenodes" (retryable).
// A temporary file whose removal failed in such a moment stays in
// .filestore/tmp.
//
// # Errors
//
// fs.ErrNotExist, fs.ErrExist (a file in the way of a directory or the
// other way round, IfNotExist on a taken name), fs.ErrInvalid (also a
// name or attributes the namenode refuses: see Layout and Attributes),
// fs.ErrPermission (HDFS permissions: AccessControlException),
// filestore.ErrReplaced, driver.ErrBadURL; other namenode errors carry
// their Java exception class (hdfs.Error). IsRetryable holds for broken
// or stalled connections, "no available namenodes", a namenode in safe
// mode or standby, and hdfs.ErrReplicating.
//
// # As
//
// *hdfs.Client: the client the store uses (New's, or the one built from
// the URL, which Close closes).
package hdfsstore
