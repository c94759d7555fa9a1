package testserver

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// HDFSBlockDir keeps the DataNode's block data in files under dir, one per
// replica, written and read through an os.Root opened on dir, overriding
// the default of holding it in memory. The double runs in the test's own
// process, so a test measuring that process's memory (a 1 GiB Put) sets it
// to measure the client and not the double's copy of what it was sent.
// dir must exist; a deleted or overwritten file's replicas are removed
// from it at once.
func HDFSBlockDir(dir string) HDFSOption {
	return func(o *hdfsOptions) { o.blockDir = dir }
}

// size is the replica's length: the bytes in memory, or those written to
// its file.
func (r *replica) size() int64 {
	if r.name == "" {
		return int64(len(r.data))
	}
	return r.n
}

// createFile gives a new replica its file under the block directory. The
// write connection owns the handle (closed on the last packet, or by
// release when the connection ends first).
func (dn *datanode) createFile(r *replica, id, gen uint64) error {
	r.name = fmt.Sprintf("blk_%d_%d", id, gen)
	f, err := dn.root.OpenFile(r.name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("replica file for blk_%d_%d: %w", id, gen, err)
	}
	r.w = f
	return nil
}

// writeFile appends data to a replica kept in a file; called with dn.mu
// held. A replica dropped while being written (its file deleted) is
// written on, unlinked, as the memory double writes on to a replica no
// longer in its map.
func (r *replica) writeFile(data []byte, last bool) error {
	if r.w == nil {
		return errors.New("replica file already closed")
	}
	if _, err := r.w.Write(data); err != nil {
		return err
	}
	r.n += int64(len(data))
	if last {
		err := r.w.Close()
		r.w = nil
		if err != nil {
			return err
		}
		r.finalized = true
	}
	return nil
}

// release closes the file of a replica whose write connection ended
// before its last packet.
func (dn *datanode) release(r *replica) {
	dn.mu.Lock()
	defer dn.mu.Unlock()
	if r.w != nil {
		r.w.Close()
		r.w = nil
	}
}

// removeFile removes a dropped replica's file; called with dn.mu held.
func (dn *datanode) removeFile(r *replica) {
	if r.name == "" {
		return
	}
	if err := dn.root.Remove(r.name); err != nil {
		dn.fail(fmt.Errorf("hdfs double: remove dropped replica: %w", err))
	}
}

// contents opens block id's finalized replica for reading: its bytes in
// memory, or its file (opened under the lock, so a drop that comes after
// leaves the reader its open, unlinked file, as a DataNode does).
func (dn *datanode) contents(id, gen uint64) (r *replica, src io.ReaderAt, size int64, done func(), err error) {
	dn.mu.Lock()
	defer dn.mu.Unlock()
	if r, err = dn.finalizedLocked(id, gen); err != nil {
		return nil, nil, 0, nil, err
	}
	if r.name == "" {
		return r, bytes.NewReader(r.data), r.size(), func() {}, nil
	}
	f, err := dn.root.Open(r.name)
	if err != nil {
		return nil, nil, 0, nil, fmt.Errorf("replica file of blk_%d: %w", id, err)
	}
	return r, f, r.size(), func() { f.Close() }, nil
}

// close releases the block directory once every connection has ended.
func (dn *datanode) close() {
	if dn.root != nil {
		dn.root.Close()
	}
}
