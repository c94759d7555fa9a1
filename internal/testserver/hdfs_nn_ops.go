package testserver

// The namespace calls of ClientProtocol: what they answer and which Java
// exceptions they raise follow Hadoop 3's FSNamesystem / FSDir*Op.

func nnGetFileInfo(ns *namespace, c caller, req *pb) (*pb, *rpcError) {
	r, rerr := ns.resolve(c, req.str("src"))
	if rerr != nil {
		return nil, rerr
	}
	resp := newPB("hadoop.hdfs.GetFileInfoResponseProto")
	if r.node != nil { // absent: an empty answer, which the client reads as "not found"
		resp.set("fs", ns.status(r.node, ""))
	}
	return resp, nil
}

func nnMkdirs(ns *namespace, c caller, req *pb) (*pb, *rpcError) {
	src := req.str("src")
	if err := checkPathLength("mkdirs", src); err != nil {
		return nil, err
	}
	perm := uint32(req.sub("masked").num("perm"))
	r, rerr := ns.resolve(c, src)
	if rerr != nil {
		return nil, rerr
	}
	if r.node != nil {
		if !r.node.dir {
			return nil, javaErr(exAlreadyExists, "Path is not a directory: %s", src)
		}
		return newPB("hadoop.hdfs.MkdirsResponseProto").set("result", true), nil
	}
	if r.notDir != nil {
		return nil, javaErr(exParentNotDir, "Parent path is not a directory: %s", r.notDir.path())
	}
	if r.parent == nil && !req.boolean("createParent") {
		return nil, javaErr(exFileNotFound, "Parent directory doesn't exist: %s", parentOf(r.comps))
	}
	// Create the missing ancestors (createParent) and the directory itself;
	// ancestors get u+wx as HDFS gives them.
	dir := ns.root
	for i, name := range r.comps {
		if !dir.dir {
			return nil, javaErr(exParentNotDir, "Parent path is not a directory: %s", dir.path())
		}
		next := dir.children[name]
		if next == nil {
			if !c.allowed(dir, permWrite|permExec) {
				return nil, c.denied(dir, permWrite|permExec)
			}
			if err := newName(dir, name); err != nil {
				return nil, err
			}
			p := perm
			if i < len(r.comps)-1 {
				p |= 0o300
			}
			next = ns.newInode(c, dir, name, true, p)
		} else if !c.allowed(dir, permExec) {
			return nil, c.denied(dir, permExec)
		}
		dir = next
	}
	return newPB("hadoop.hdfs.MkdirsResponseProto").set("result", true), nil
}

func nnGetListing(ns *namespace, c caller, req *pb) (*pb, *rpcError) {
	src := req.str("src")
	r, rerr := ns.resolve(c, src)
	if rerr != nil {
		return nil, rerr
	}
	resp := newPB("hadoop.hdfs.GetListingResponseProto")
	if r.node == nil {
		return resp, nil // no dirList: the client reads "not found"
	}
	list := newPB("hadoop.hdfs.DirectoryListingProto")
	if !r.node.dir { // a file lists as itself
		list.set("partialListing", []*pb{ns.status(r.node, "")}).set("remainingEntries", 0)
		return resp.set("dirList", list), nil
	}
	if !c.allowed(r.node, permRead|permExec) {
		return nil, c.denied(r.node, permRead|permExec)
	}
	after := string(req.bytes("startAfter"))
	kids := r.node.sortedChildren()
	start := 0
	for start < len(kids) && kids[start].name <= after {
		start++
	}
	end := min(start+ns.opts.listLimit, len(kids))
	entries := make([]*pb, 0, end-start)
	for _, k := range kids[start:end] {
		entries = append(entries, ns.status(k, k.name))
	}
	list.set("partialListing", entries).set("remainingEntries", len(kids)-end)
	return resp.set("dirList", list), nil
}

func nnRename2(ns *namespace, c caller, req *pb) (*pb, *rpcError) {
	src, dst := req.str("src"), req.str("dst")
	if err := checkPathLength("rename", dst); err != nil {
		return nil, err
	}
	rs, rerr := ns.resolve(c, src)
	if rerr != nil {
		return nil, rerr
	}
	if rs.node == nil {
		return nil, javaErr(exFileNotFound, "rename source %s is not found.", src)
	}
	if rs.node == ns.root {
		return nil, javaErr(exIO, "rename source cannot be the root")
	}
	if err := rs.forCreate(c); err != nil {
		return nil, err
	}
	rd, rerr := ns.resolve(c, dst)
	if rerr != nil {
		return nil, rerr
	}
	if rd.node == rs.node {
		return nil, javaErr(exAlreadyExists, "The source %s and destination %s are the same", src, dst)
	}
	for a := rd.parent; a != nil; a = a.parent {
		if a == rs.node {
			return nil, javaErr(exIO, "Rename destination %s is a directory or file under source %s", dst, src)
		}
	}
	if rd.node != nil {
		if !req.boolean("overwriteDest") {
			return nil, javaErr(exAlreadyExists, "rename destination %s already exists", dst)
		}
		if rd.node.dir != rs.node.dir {
			if rs.node.dir {
				return nil, javaErr(exIO, "Source %s is a directory but destination %s is a file", src, dst)
			}
			return nil, javaErr(exIO, "Source %s is a file but destination %s is a directory", src, dst)
		}
		if rd.node.dir && len(rd.node.children) > 0 {
			return nil, javaErr(exIO, "rename destination directory is not empty: %s", dst)
		}
	}
	if rd.notDir != nil {
		return nil, javaErr(exParentNotDir, "rename destination parent %s is a file.", dst)
	}
	if rd.parent == nil {
		return nil, javaErr(exFileNotFound, "rename destination parent %s not found.", dst)
	}
	if err := rd.forCreate(c); err != nil {
		return nil, err
	}
	if err := newName(rd.parent, rd.comps[len(rd.comps)-1]); err != nil {
		return nil, err
	}
	// The overwritten destination goes with its blocks, atomically with the
	// move: no moment exists where a reader finds neither.
	if rd.node != nil {
		ns.remove(rd.node)
	}
	n := rs.node
	delete(rs.parent.children, n.name)
	now := nowMillis()
	rs.parent.mtime = now
	n.name, n.parent = rd.comps[len(rd.comps)-1], rd.parent
	rd.parent.children[n.name] = n
	rd.parent.mtime = now
	return newPB("hadoop.hdfs.Rename2ResponseProto"), nil
}

func nnDelete(ns *namespace, c caller, req *pb) (*pb, *rpcError) {
	src := req.str("src")
	r, rerr := ns.resolve(c, src)
	if rerr != nil {
		return nil, rerr
	}
	resp := newPB("hadoop.hdfs.DeleteResponseProto")
	if r.node == nil || r.node == ns.root {
		return resp.set("result", false), nil
	}
	if r.node.dir && len(r.node.children) > 0 && !req.boolean("recursive") {
		return nil, javaErr(exNotEmpty, "`%s is non empty': Directory is not empty", src)
	}
	if err := r.forCreate(c); err != nil {
		return nil, err
	}
	if !c.super && r.node.dir {
		// HDFS needs ALL access to everything it deletes below.
		if err := ns.checkSubtree(c, r.node); err != nil {
			return nil, err
		}
	}
	ns.remove(r.node)
	r.parent.mtime = nowMillis()
	return resp.set("result", true), nil
}

// checkSubtree checks c may delete everything under dir.
func (ns *namespace) checkSubtree(c caller, dir *inode) *rpcError {
	if !c.allowed(dir, permRead|permWrite|permExec) {
		return c.denied(dir, permRead|permWrite|permExec)
	}
	for _, k := range dir.children {
		if k.dir {
			if err := ns.checkSubtree(c, k); err != nil {
				return err
			}
		}
	}
	return nil
}

// remove unlinks n and drops its blocks (the NameNode would schedule their
// deletion on the DataNodes; the double drops the replicas at once), and
// with them the leases of its files.
func (ns *namespace) remove(n *inode) {
	delete(n.parent.children, n.name)
	var drop func(*inode)
	drop = func(n *inode) {
		for _, k := range n.children {
			drop(k)
		}
		for _, b := range n.blocks {
			delete(ns.blocks, b.id)
			ns.dn.drop(b.id)
		}
		n.blocks, n.holder = nil, ""
	}
	drop(n)
}

func nnSetPermission(ns *namespace, c caller, req *pb) (*pb, *rpcError) {
	n, rerr := ns.ownedBy(c, req.str("src"))
	if rerr != nil {
		return nil, rerr
	}
	n.perm = uint32(req.sub("permission").num("perm")) & 0o1777
	return newPB("hadoop.hdfs.SetPermissionResponseProto"), nil
}

func nnSetOwner(ns *namespace, c caller, req *pb) (*pb, *rpcError) {
	n, rerr := ns.ownedBy(c, req.str("src"))
	if rerr != nil {
		return nil, rerr
	}
	user, group := req.str("username"), req.str("groupname")
	// Only the superuser gives files away; an owner may change the group to
	// one it is in (in the double, the group named after it).
	if !c.super && ((user != "" && user != n.owner) || (group != "" && group != c.user)) {
		return nil, javaErr(exAccess, "User %s is not a super user (non-super user cannot change owner).", c.user)
	}
	if user != "" {
		n.owner = user
	}
	if group != "" {
		n.group = group
	}
	return newPB("hadoop.hdfs.SetOwnerResponseProto"), nil
}

func nnSetTimes(ns *namespace, c caller, req *pb) (*pb, *rpcError) {
	r, rerr := ns.resolve(c, req.str("src"))
	if rerr != nil {
		return nil, rerr
	}
	if r.node == nil {
		return nil, fileNotFound(r.src)
	}
	if !c.allowed(r.node, permWrite) {
		return nil, c.denied(r.node, permWrite)
	}
	// HDFS leaves a time alone when given -1 (all ones as uint64).
	if m := req.unum("mtime"); m != ^uint64(0) {
		r.node.mtime = m
	}
	if a := req.unum("atime"); a != ^uint64(0) {
		r.node.atime = a
	}
	return newPB("hadoop.hdfs.SetTimesResponseProto"), nil
}

// ownedBy resolves src and checks c owns it (or is the superuser), as
// setPermission and setOwner require.
func (ns *namespace) ownedBy(c caller, src string) (*inode, *rpcError) {
	r, rerr := ns.resolve(c, src)
	if rerr != nil {
		return nil, rerr
	}
	if r.node == nil {
		return nil, fileNotFound(src)
	}
	if !c.super && r.node.owner != c.user {
		return nil, javaErr(exAccess, "Permission denied. user=%s is not the owner of inode=%s", c.user, src)
	}
	return r.node, nil
}

func nnGetServerDefaults(ns *namespace, _ caller, _ *pb) (*pb, *rpcError) {
	d := newPB("hadoop.hdfs.FsServerDefaultsProto").
		set("blockSize", ns.opts.blockSize).
		set("bytesPerChecksum", hdfsBytesPerChecksum).
		set("writePacketSize", 64<<10).
		set("replication", 1).
		set("fileBufferSize", 4096).
		set("encryptDataTransfer", false).
		set("trashInterval", 0).
		set("checksumType", "CHECKSUM_CRC32C")
	return newPB("hadoop.hdfs.GetServerDefaultsResponseProto").set("serverDefaults", d), nil
}
