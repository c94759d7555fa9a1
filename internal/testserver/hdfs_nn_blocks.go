package testserver

import "time"

// The write and read calls of ClientProtocol: files under construction,
// their leases and their blocks.
//
// A file is created under a lease held by the client's name; addBlock
// commits the previous block and allocates the next on the one DataNode;
// complete commits the last block and releases the lease. A block is
// committed only once the DataNode holds it finalized at the length the
// client reports. Readers (getFileInfo, getBlockLocations) see the
// committed blocks only.

const (
	createFlagOverwrite = 2
	createFlagAppend    = 4
	hdfsPoolID          = "BP-groundwork-double-127.0.0.1"
)

func nnCreate(ns *namespace, c caller, req *pb) (*pb, *rpcError) {
	src, holder := req.str("src"), req.str("clientName")
	if err := checkPathLength("create", src); err != nil {
		return nil, err
	}
	flag := req.num("createFlag")
	blockSize := req.unum("blockSize")
	if flag&createFlagAppend != 0 {
		return nil, javaErr(exUnsupportedOp, "append is not modelled by the test double")
	}
	if blockSize == 0 || blockSize%hdfsBytesPerChecksum != 0 {
		return nil, javaErr(exIO, "io.bytes.per.checksum(%d) and blockSize(%d) do not match. blockSize should be a multiple of io.bytes.per.checksum", hdfsBytesPerChecksum, blockSize)
	}
	r, rerr := ns.resolve(c, src)
	if rerr != nil {
		return nil, rerr
	}
	if r.node != nil {
		switch {
		case r.node.dir:
			return nil, javaErr(exAlreadyExists, "%s already exists as a directory", src)
		case flag&createFlagOverwrite == 0 && r.node.holder != "":
			return nil, javaErr(exBeingCreated, "failed to create file %s for %s because the file is under construction by %s", src, holder, r.node.holder)
		case flag&createFlagOverwrite == 0:
			return nil, javaErr(exAlreadyExists, "%s for client 127.0.0.1 already exists", src)
		}
	}
	if r.parent == nil && r.notDir == nil && req.boolean("createParent") {
		if _, err := nnMkdirs(ns, c, newPB("hadoop.hdfs.MkdirsRequestProto").set("src", parentOf(r.comps)).set("masked", newPB("hadoop.hdfs.FsPermissionProto").set("perm", 0o755)).set("createParent", true)); err != nil {
			return nil, err
		}
		if r, rerr = ns.resolve(c, src); rerr != nil {
			return nil, rerr
		}
	}
	if err := r.forCreate(c); err != nil {
		return nil, err
	}
	if err := newName(r.parent, r.comps[len(r.comps)-1]); err != nil {
		return nil, err
	}
	if r.node != nil { // overwrite
		ns.remove(r.node)
	}
	n := ns.newInode(c, r.parent, r.comps[len(r.comps)-1], false, uint32(req.sub("masked").num("perm")))
	n.replication, n.blockSize, n.holder = uint32(req.num("replication")), blockSize, holder
	ns.leases[holder] = time.Now()
	return newPB("hadoop.hdfs.CreateResponseProto").set("fs", ns.status(n, "")), nil
}

// underConstruction finds the file a block call names (by fileId when
// given, else by path) and checks holder has its lease.
func (ns *namespace) underConstruction(c caller, src string, fileID uint64, holder string) (*inode, *rpcError) {
	r, rerr := ns.resolve(c, src)
	if rerr != nil {
		return nil, rerr
	}
	n := r.node
	if fileID != 0 && (n == nil || n.id != fileID) {
		n = ns.byID(fileID)
	}
	if n == nil || n.dir {
		return nil, javaErr(exFileNotFound, "File does not exist: %s (inode %d) Holder %s does not have any open files.", src, fileID, holder)
	}
	if n.holder == "" || n.holder != holder {
		return n, javaErr(exLeaseExpired, "No lease on %s (inode %d): File is not open for writing. Holder %s does not have any open files.", src, n.id, holder)
	}
	return n, nil
}

// byID finds a file by inode id (only files carry blocks, so the block map
// leads to it when it has any; an empty file is found by walking).
func (ns *namespace) byID(id uint64) *inode {
	var find func(*inode) *inode
	find = func(n *inode) *inode {
		if n.id == id {
			return n
		}
		for _, k := range n.children {
			if f := find(k); f != nil {
				return f
			}
		}
		return nil
	}
	return find(ns.root)
}

// commit makes b's length final, provided the DataNode holds it finalized
// at the length the client reports.
func (ns *namespace) commit(b *nnBlock, ext *pb, src string) *rpcError {
	if b.committed {
		return nil
	}
	n, ok := ns.dn.finalizedLen(b.id)
	if !ok {
		return javaErr(exNotReplicatedYet, "Not replicated yet: %s (block %d has no finalized replica)", src, b.id)
	}
	if got := ext.unum("numBytes"); got != n {
		return javaErr(exIO, "commit of block %d of %s with length %d, but the DataNode holds %d bytes", b.id, src, got, n)
	}
	b.numBytes, b.committed = n, true
	return nil
}

func (ns *namespace) last(n *inode) *nnBlock {
	if len(n.blocks) == 0 {
		return nil
	}
	return n.blocks[len(n.blocks)-1]
}

func nnAddBlock(ns *namespace, c caller, req *pb) (*pb, *rpcError) {
	src, holder := req.str("src"), req.str("clientName")
	n, rerr := ns.underConstruction(c, src, req.unum("fileId"), holder)
	if rerr != nil {
		return nil, rerr
	}
	prev := req.sub("previous")
	last := ns.last(n)
	switch {
	case last != nil && !last.committed && (prev == nil || prev.unum("blockId") != last.id):
		// A retried addBlock whose answer was lost: the previous block it
		// names is the one before the last, so answer the same last block.
		if before := len(n.blocks) - 2; (prev == nil && before < 0) || (prev != nil && before >= 0 && n.blocks[before].id == prev.unum("blockId")) {
			return newPB("hadoop.hdfs.AddBlockResponseProto").set("block", ns.located(last, offsetOf(n, last))), nil
		}
		return nil, javaErr(exIO, "addBlock for %s names previous block %v, but the last block is %d", src, prevID(prev), last.id)
	case last == nil && prev != nil, last != nil && prev == nil:
		return nil, javaErr(exIO, "addBlock for %s names previous block %v, but the file's last block is %v", src, prevID(prev), blockID(last))
	case last != nil:
		if err := ns.commit(last, prev, src); err != nil {
			return nil, err
		}
	}
	ns.nextBlock++
	ns.nextGen++
	b := &nnBlock{id: ns.nextBlock, gen: ns.nextGen, file: n}
	n.blocks = append(n.blocks, b)
	ns.blocks[b.id] = b
	return newPB("hadoop.hdfs.AddBlockResponseProto").set("block", ns.located(b, offsetOf(n, b))), nil
}

// offsetOf is the file offset of b: the length of the blocks before it.
func offsetOf(n *inode, b *nnBlock) uint64 {
	var off uint64
	for _, x := range n.blocks {
		if x == b {
			break
		}
		off += x.numBytes
	}
	return off
}

func prevID(p *pb) any {
	if p == nil {
		return "none"
	}
	return p.unum("blockId")
}

func blockID(b *nnBlock) any {
	if b == nil {
		return "none"
	}
	return b.id
}

func nnUpdateBlockForPipeline(ns *namespace, _ caller, req *pb) (*pb, *rpcError) {
	ext := req.sub("block")
	b := ns.blocks[ext.unum("blockId")]
	holder := req.str("clientName")
	if b == nil || b.committed || b.file.holder != holder {
		return nil, javaErr(exIO, "block %d is not under construction by %s", ext.unum("blockId"), holder)
	}
	// Hadoop answers a new generation stamp and token for a pipeline
	// rebuilt with it (updatePipeline); the client here never rebuilds one,
	// and nothing changes until it would, so the stored block keeps its
	// stamp, as the NameNode's does.
	lb := ns.located(b, offsetOf(b.file, b))
	lb.sub("b").set("generationStamp", b.gen+1)
	return newPB("hadoop.hdfs.UpdateBlockForPipelineResponseProto").set("block", lb), nil
}

func nnComplete(ns *namespace, c caller, req *pb) (*pb, *rpcError) {
	src, holder := req.str("src"), req.str("clientName")
	lastExt := req.sub("last")
	n, rerr := ns.underConstruction(c, src, req.unum("fileId"), holder)
	if rerr != nil {
		// A retried complete whose answer was lost: the file is closed
		// with the same last block, so the answer is the same.
		if n != nil && n.holder == "" && rerr.class == exLeaseExpired && sameBlock(ns.last(n), lastExt) {
			return newPB("hadoop.hdfs.CompleteResponseProto").set("result", true), nil
		}
		return nil, rerr
	}
	last := ns.last(n)
	// A retry after an answer of false names no last block (the client's
	// FileWriter sends none once it committed it): Hadoop completes the
	// file once that block, committed by the first call, is replicated.
	retry := lastExt == nil && last != nil && last.committed
	if !retry && !sameBlock(last, lastExt) {
		return nil, javaErr(exIO, "complete of %s names last block %v, but the file's last block is %v", src, prevID(lastExt), blockID(last))
	}
	if last != nil {
		if err := ns.commit(last, lastExt, src); err != nil {
			if err.class == exNotReplicatedYet {
				// Not minimally replicated: Hadoop answers false and the
				// client retries.
				return newPB("hadoop.hdfs.CompleteResponseProto").set("result", false), nil
			}
			return nil, err
		}
	}
	if ns.completeNotYet > 0 {
		// CompleteNotYet: the last block committed, its replicas "not yet
		// reported".
		ns.completeNotYet--
		return newPB("hadoop.hdfs.CompleteResponseProto").set("result", false), nil
	}
	n.holder, n.mtime = "", nowMillis()
	return newPB("hadoop.hdfs.CompleteResponseProto").set("result", true), nil
}

func sameBlock(b *nnBlock, ext *pb) bool {
	if b == nil || ext == nil {
		return b == nil && ext == nil
	}
	return b.id == ext.unum("blockId")
}

func nnAbandonBlock(ns *namespace, c caller, req *pb) (*pb, *rpcError) {
	ext := req.sub("b")
	n, rerr := ns.underConstruction(c, req.str("src"), req.unum("fileId"), req.str("holder"))
	if rerr != nil {
		return nil, rerr
	}
	if last := ns.last(n); last != nil && !last.committed && last.id == ext.unum("blockId") {
		n.blocks = n.blocks[:len(n.blocks)-1]
		delete(ns.blocks, last.id)
		ns.dn.drop(last.id)
	}
	return newPB("hadoop.hdfs.AbandonBlockResponseProto"), nil
}

func nnGetBlockLocations(ns *namespace, c caller, req *pb) (*pb, *rpcError) {
	src := req.str("src")
	r, rerr := ns.resolve(c, src)
	if rerr != nil {
		return nil, rerr
	}
	if r.node == nil {
		return nil, fileNotFound(src)
	}
	if r.node.dir {
		return nil, javaErr(exFileNotFound, "Path is not a file: %s", src)
	}
	if !c.allowed(r.node, permRead) {
		return nil, c.denied(r.node, permRead)
	}
	from, length := req.unum("offset"), req.unum("length")
	var blocks []*pb
	var off uint64
	for _, b := range r.node.blocks {
		if !b.committed {
			break
		}
		if off+b.numBytes > from && off < from+length {
			blocks = append(blocks, ns.located(b, off))
		}
		off += b.numBytes
	}
	lbs := newPB("hadoop.hdfs.LocatedBlocksProto").
		set("fileLength", r.node.length()).
		set("blocks", blocks).
		set("underConstruction", r.node.holder != "").
		set("isLastBlockComplete", r.node.holder == "")
	return newPB("hadoop.hdfs.GetBlockLocationsResponseProto").set("locations", lbs), nil
}

func nnRenewLease(ns *namespace, _ caller, req *pb) (*pb, *rpcError) {
	ns.leases[req.str("clientName")] = time.Now()
	return newPB("hadoop.hdfs.RenewLeaseResponseProto"), nil
}

// located builds the LocatedBlockProto of b, at file offset off, on the
// one DataNode.
func (ns *namespace) located(b *nnBlock, off uint64) *pb {
	ext := newPB("hadoop.hdfs.ExtendedBlockProto").
		set("poolId", hdfsPoolID).set("blockId", b.id).set("generationStamp", b.gen).set("numBytes", b.numBytes)
	token := newPB("hadoop.common.TokenProto").set("identifier", []byte{}).set("password", []byte{}).set("kind", "").set("service", "")
	return newPB("hadoop.hdfs.LocatedBlockProto").
		set("b", ext).set("offset", off).
		set("locs", []*pb{ns.dn.info()}).
		set("corrupt", false).
		set("blockToken", token).
		set("storageTypes", "DISK").
		set("storageIDs", ns.dn.storageID)
}
