package testserver

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

// inode is a file or directory of the double's namespace. Everything in
// the namespace is guarded by namespace.mu (held by the NameNode's
// handlers).
type inode struct {
	id           uint64
	name         string
	parent       *inode
	dir          bool
	children     map[string]*inode // directories only
	perm         uint32            // permission bits, sticky bit included
	owner, group string
	mtime, atime uint64 // milliseconds since the epoch
	xattrs       map[xattrKey][]byte

	// Files only.
	replication uint32
	blockSize   uint64
	blocks      []*nnBlock
	holder      string // lease holder while under construction, "" once complete
}

// nnBlock is a block as the NameNode knows it.
type nnBlock struct {
	id, gen   uint64
	numBytes  uint64
	committed bool // its length is final (addBlock(previous) or complete)
	file      *inode
}

// hdfsMaxComponent is dfs.namenode.fs-limits.max-component-length.
const hdfsMaxComponent = 255

func nowMillis() uint64 { return uint64(time.Now().UnixMilli()) }

// path returns the absolute path of n.
func (n *inode) path() string {
	if n.parent == nil {
		return "/"
	}
	var parts []string
	for ; n.parent != nil; n = n.parent {
		parts = append(parts, n.name)
	}
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return "/" + strings.Join(parts, "/")
}

// length is what readers see: the bytes of the committed blocks.
func (n *inode) length() uint64 {
	var l uint64
	for _, b := range n.blocks {
		if b.committed {
			l += b.numBytes
		}
	}
	return l
}

// sortedChildren lists a directory's children in HDFS order (bytewise by
// name).
func (n *inode) sortedChildren() []*inode {
	out := make([]*inode, 0, len(n.children))
	for _, c := range n.children {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// splitPath checks src as DFSUtil.isValidName does and returns its
// components: absolute, no "." or ".." or ':' components (empty ones, from
// "//" or a trailing '/', are dropped as HDFS drops them). The length of
// a component is checked only where a name is added (newName), as HDFS
// checks it: looking up a longer name finds nothing.
func splitPath(src string) ([]string, *rpcError) {
	if !strings.HasPrefix(src, "/") {
		return nil, javaErr(exInvalidPath, "Invalid path name Path is not absolute: %s", src)
	}
	var out []string
	for _, c := range strings.Split(src, "/") {
		switch {
		case c == "":
			continue
		case c == "." || c == ".." || strings.Contains(c, ":"):
			return nil, javaErr(exInvalidPath, "Invalid path name Invalid file name: %s", src)
		}
		out = append(out, c)
	}
	return out, nil
}

// newName checks a name about to be added to dir, as FSDirectory does
// (verifyINodeName, verifyMaxComponentLength): ".snapshot" is reserved
// for snapshots, and a component is at most 255 bytes.
func newName(dir *inode, name string) *rpcError {
	switch {
	case name == ".snapshot":
		return javaErr(exIllegalArgument, "\".snapshot\" is a reserved name.")
	case len(name) > hdfsMaxComponent:
		return javaErr(exComponentTooLong, "The maximum path component name limit of %s in directory %s is exceeded: limit=%d length=%d", name, dir.path(), hdfsMaxComponent, len(name))
	}
	return nil
}

// NameNodeRpcServer's fixed bounds on a path that create, mkdirs and
// rename2 (its destination) add: characters (UTF-16 units, as Java counts
// them) and levels.
const (
	hdfsMaxPathLength = 8000
	hdfsMaxPathDepth  = 1000
)

// checkPathLength refuses a path too long for op to add, as
// NameNodeRpcServer.checkPathLength does (a plain IOException).
func checkPathLength(op, src string) *rpcError {
	comps, _ := splitPath(src)
	if len(utf16.Encode([]rune(src))) > hdfsMaxPathLength || len(comps) > hdfsMaxPathDepth {
		return javaErr(exIO, "%s: Pathname too long.  Limit %d characters, %d levels.", op, hdfsMaxPathLength, hdfsMaxPathDepth)
	}
	return nil
}

// caller is the user of a NameNode connection.
type caller struct {
	user  string
	super bool
}

const (
	permRead  = 4
	permWrite = 2
	permExec  = 1
)

// allowed applies the POSIX-style check HDFS makes: owner, group (a user's
// only group in the double is the one named after it), other; the
// superuser passes everything.
func (c caller) allowed(n *inode, want uint32) bool {
	if c.super {
		return true
	}
	var bits uint32
	switch {
	case n.owner == c.user:
		bits = n.perm >> 6
	case n.group == c.user:
		bits = n.perm >> 3
	default:
		bits = n.perm
	}
	return bits&7&want == want
}

func (c caller) denied(n *inode, want uint32) *rpcError {
	access := map[uint32]string{permRead: "READ", permWrite: "WRITE", permExec: "EXECUTE", permRead | permExec: "READ_EXECUTE", permWrite | permExec: "WRITE_EXECUTE"}[want]
	kind := "-"
	if n.dir {
		kind = "d"
	}
	return javaErr(exAccess, "Permission denied: user=%s, access=%s, inode=%q:%s:%s:%s%s", c.user, access, n.path(), n.owner, n.group, kind, permString(n.perm))
}

func permString(p uint32) string {
	const rwx = "rwxrwxrwx"
	b := []byte("---------")
	for i := range 9 {
		if p&(1<<(8-i)) != 0 {
			b[i] = rwx[i]
		}
	}
	return string(b)
}

// resolved is the outcome of walking a path: the parent directory of the
// last component (nil when an ancestor is missing or is a file) and the
// inode itself (nil when absent).
type resolved struct {
	src    string
	comps  []string
	parent *inode
	node   *inode
	// notDir is the ancestor that is a file, when one is.
	notDir *inode
}

// resolve walks src from the root, checking EXECUTE on every directory it
// traverses as HDFS's permission checker does.
func (ns *namespace) resolve(c caller, src string) (*resolved, *rpcError) {
	comps, rerr := splitPath(src)
	if rerr != nil {
		return nil, rerr
	}
	if len(comps) >= 3 && comps[0] == ".reserved" && comps[1] == ".inodes" {
		// An inode path, /.reserved/.inodes/<id>[/more]: the path of that
		// inode now (FSDirectory.resolveDotInodesPath), which lets a
		// client act on one inode whatever its name has become.
		id, err := strconv.ParseUint(comps[2], 10, 64)
		if err != nil {
			return nil, javaErr(exFileNotFound, "Invalid inode path: %s", src)
		}
		n := ns.byID(id)
		if n == nil {
			return nil, javaErr(exFileNotFound, "File for given inode path does not exist: %s", src)
		}
		at, _ := splitPath(n.path())
		comps = append(at, comps[3:]...)
	}
	r := &resolved{src: src, comps: comps}
	if len(comps) == 0 {
		r.node = ns.root
		return r, nil
	}
	dir := ns.root
	for i, name := range comps {
		if !dir.dir {
			r.notDir = dir
			return r, nil
		}
		if !c.allowed(dir, permExec) {
			return nil, c.denied(dir, permExec)
		}
		child := dir.children[name]
		if i == len(comps)-1 {
			r.parent, r.node = dir, child
			return r, nil
		}
		if child == nil {
			return r, nil
		}
		dir = child
	}
	return r, nil
}

// forCreate checks that r's parent exists, is a directory and lets c
// write, as every call that adds or removes a name needs.
func (r *resolved) forCreate(c caller) *rpcError {
	if r.notDir != nil {
		return javaErr(exParentNotDir, "Parent path is not a directory: %s", r.notDir.path())
	}
	if r.parent == nil {
		if len(r.comps) == 0 {
			return javaErr(exIO, "the root directory cannot be changed: %s", r.src)
		}
		return javaErr(exFileNotFound, "Parent directory doesn't exist: %s", parentOf(r.comps))
	}
	if !c.allowed(r.parent, permWrite|permExec) {
		return c.denied(r.parent, permWrite|permExec)
	}
	return nil
}

func parentOf(comps []string) string {
	return "/" + strings.Join(comps[:len(comps)-1], "/")
}

// fileNotFound is the FileNotFoundException HDFS raises for src.
func fileNotFound(src string) *rpcError {
	return javaErr(exFileNotFound, "File does not exist: %s", src)
}

// newInode makes a child of parent owned by c, group inherited from the
// parent as HDFS does.
func (ns *namespace) newInode(c caller, parent *inode, name string, dir bool, perm uint32) *inode {
	ns.nextInode++
	now := nowMillis()
	n := &inode{id: ns.nextInode, name: name, parent: parent, dir: dir, perm: perm & 0o1777, owner: c.user, group: parent.group, mtime: now, atime: now}
	if dir {
		n.children = map[string]*inode{}
	}
	parent.children[name] = n
	parent.mtime = now
	return n
}

// status builds the HdfsFileStatusProto of n; path is the local name in a
// listing and empty for getFileInfo, as HDFS answers.
func (ns *namespace) status(n *inode, path string) *pb {
	st := newPB("hadoop.hdfs.HdfsFileStatusProto").
		set("path", []byte(path)).
		set("permission", newPB("hadoop.hdfs.FsPermissionProto").set("perm", n.perm)).
		set("owner", n.owner).set("group", n.group).
		set("modification_time", n.mtime).set("access_time", n.atime).
		set("fileId", n.id)
	if n.dir {
		st.set("fileType", "IS_DIR").set("length", 0).set("childrenNum", len(n.children))
	} else {
		st.set("fileType", "IS_FILE").set("length", n.length()).
			set("block_replication", n.replication).set("blocksize", n.blockSize)
	}
	return st
}

// files lists every file under n with its visible length.
func (n *inode) files(out map[string]int64) {
	if !n.dir {
		out[n.path()] = int64(n.length())
		return
	}
	for _, c := range n.children {
		c.files(out)
	}
}

// String is for debugging messages.
func (n *inode) String() string { return fmt.Sprintf("inode %d (%s)", n.id, n.path()) }
