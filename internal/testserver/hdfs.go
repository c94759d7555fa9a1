package testserver

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"testing"
)

// HDFS is an in-process HDFS test double: a NameNode and one DataNode on
// loopback speaking the real wire protocols (Hadoop IPC "hrpc" version 9
// with ClientProtocol v1, and DataTransferProtocol v28), so tests drive
// it through the real github.com/colinmarc/hdfs/v2 client. Messages are
// built and parsed by name from the Hadoop descriptors the client
// registers (dynamicpb), with no generated code.
//
// What it models, as Hadoop 3 does it:
//   - the namespace: directories and files with owner, group, permission
//     bits (checked for every non-superuser caller: EXECUTE on each
//     directory walked, WRITE|EXECUTE on the parent for anything that adds
//     or removes a name, READ for reads and listings), times, and extended
//     attributes in the user and trusted namespaces (HDFSXAttrs);
//   - mkdirs, getFileInfo, getListing paged by startAfter with
//     remainingEntries (HDFSListLimit), rename2 with overwrite (an
//     overwritten file and its blocks go in the same step as the move),
//     delete (recursive or not), setPermission, setOwner, setTimes,
//     getServerDefaults;
//   - writes: create under a lease named by the client, addBlock (which
//     commits the previous block), updateBlockForPipeline, complete (which
//     commits the last block and releases the lease; a retried complete
//     is answered true again), abandonBlock, renewLease; a block is
//     committed only at the length of the replica the DataNode finalized;
//   - reads: getBlockLocations over committed blocks; a file is visible
//     to getFileInfo and readers with the length of its committed blocks;
//   - the DataNode: WRITE_BLOCK (packets whose CRC32C chunk checksums are
//     verified, each answered with a PipelineAckProto; heartbeats),
//     READ_BLOCK (checksum info, packets from the chunk boundary, an empty
//     last packet; a ClientReadStatusProto is read if the client sends
//     one — colinmarc's does not), BLOCK_CHECKSUM (MD5 of the block's
//     chunk CRCs);
//   - errors answered as the NameNode answers them: RpcResponseHeaderProto
//     with status ERROR and the Java exception class
//     (java.io.FileNotFoundException, FileAlreadyExistsException,
//     ParentNotDirectoryException, PathIsNotEmptyDirectoryException,
//     AccessControlException, AlreadyBeingCreatedException, ...), FATAL
//     and a closed connection for frames it cannot decode.
//
// What it does NOT model: replication (one DataNode, pipelines beyond it
// refused, replication factors recorded but never met or checked),
// pipeline recovery (updatePipeline), append, truncate, concat, hflush
// visibility of a block being written (readers see committed blocks only),
// lease expiry and recovery (a file whose writer died stays under
// construction, held by the dead client's lease, until it is deleted or
// overwritten; a create of it by anyone gets
// AlreadyBeingCreatedException), safe mode, quotas, snapshots, symlinks,
// ACLs, storage policies, erasure coding, encryption zones and encrypted
// data transfer, Kerberos/SASL and block tokens (simple authentication:
// the user the client names is trusted, and the superuser is
// HDFSSuperuser), the trash, HA/standby NameNodes, content summaries, fs
// stats, and persistence (the namespace is in memory and gone at cleanup;
// block files under HDFSBlockDir are left to the directory's owner).
// Block data is held in memory, once per block, or in files under a
// directory (HDFSBlockDir).
type HDFS struct {
	opts hdfsOptions
	nnLn *switchListener
	dnLn *switchListener
	ns   *namespace
	dn   *datanode
	gate gate
	done chan struct{}
	wg   sync.WaitGroup

	calls map[string]int // method -> calls answered; guarded by ns.mu

	errMu sync.Mutex
	errs  []error // the double's own bugs, reported at cleanup
}

// HDFSOption configures StartHDFS.
type HDFSOption func(*hdfsOptions)

type hdfsOptions struct {
	blockSize uint64
	xattrs    bool
	listLimit int
	superuser string
	blockDir  string // "": block data in memory
}

// hdfsBytesPerChecksum is dfs.bytes-per-checksum, the chunk size of the
// checksums the client sends.
const hdfsBytesPerChecksum = 512

// HDFSBlockSize sets the block size the NameNode gives in its server
// defaults, overriding the default 1 MiB (small, so tests span blocks); it
// must be a positive multiple of 512.
func HDFSBlockSize(n int64) HDFSOption {
	return func(o *hdfsOptions) { o.blockSize = uint64(n) }
}

// HDFSXAttrs sets whether extended attributes are supported
// (dfs.namenode.xattrs.enabled), overriding the default true. When off,
// setXAttr, getXAttrs, listXAttrs and removeXAttr fail with the
// IOException a NameNode so configured raises.
func HDFSXAttrs(on bool) HDFSOption {
	return func(o *hdfsOptions) { o.xattrs = on }
}

// HDFSListLimit sets how many entries one getListing answer holds
// (dfs.ls.limit), overriding the default 1000; small values make the
// client page.
func HDFSListLimit(n int) HDFSOption {
	return func(o *hdfsOptions) { o.listLimit = n }
}

// HDFSSuperuser names the superuser, who passes every permission check,
// overriding the default "hdfs" (the user a NameNode runs as).
func HDFSSuperuser(name string) HDFSOption {
	return func(o *hdfsOptions) { o.superuser = name }
}

// StartHDFS starts the NameNode and the DataNode on free loopback ports
// and stops them when t ends: listeners closed, connections cut, every
// goroutine of the double ended.
func StartHDFS(t testing.TB, opts ...HDFSOption) *HDFS {
	t.Helper()
	o := hdfsOptions{blockSize: 1 << 20, xattrs: true, listLimit: 1000, superuser: "hdfs"}
	for _, opt := range opts {
		opt(&o)
	}
	if o.blockSize == 0 || o.blockSize%hdfsBytesPerChecksum != 0 || o.blockSize > 1<<40 {
		t.Fatalf("testserver: HDFSBlockSize(%d): must be a positive multiple of %d", o.blockSize, hdfsBytesPerChecksum)
	}
	if o.listLimit <= 0 {
		t.Fatalf("testserver: HDFSListLimit(%d): must be positive", o.listLimit)
	}
	nnLn, err := newSwitchListener("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testserver: NameNode listener: %v", err)
	}
	dnLn, err := newSwitchListener("tcp", "127.0.0.1:0")
	if err != nil {
		nnLn.Close()
		t.Fatalf("testserver: DataNode listener: %v", err)
	}
	h := newHDFS(o, dnLn.Addr().(*net.TCPAddr))
	h.nnLn, h.dnLn = nnLn, dnLn
	if o.blockDir != "" {
		if h.dn.root, err = os.OpenRoot(o.blockDir); err != nil {
			nnLn.Close()
			dnLn.Close()
			t.Fatalf("testserver: HDFSBlockDir: %v", err)
		}
	}
	h.serve(nnLn, h.serveNameNode)
	h.serve(dnLn, h.serveDataNode)
	t.Cleanup(func() {
		h.stop()
		for _, err := range h.takeErrs() {
			t.Error(err)
		}
	})
	return h
}

// newHDFS makes the NameNode and DataNode state, without listeners.
func newHDFS(o hdfsOptions, dnAddr *net.TCPAddr) *HDFS {
	h := &HDFS{opts: o, done: make(chan struct{}), calls: map[string]int{}}
	h.dn = newDatanode(dnAddr)
	h.dn.fail = h.fail
	h.ns = newNamespace(&h.opts, h.dn)
	return h
}

// serve accepts connections on l until it closes, each handled by fn in
// its own goroutine.
func (h *HDFS) serve(l *switchListener, fn func(net.Conn)) {
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					h.fail(fmt.Errorf("hdfs double: accept: %w", err))
				}
				return
			}
			h.wg.Add(1)
			go func() {
				defer h.wg.Done()
				fn(c)
			}()
		}
	}()
}

// stop closes the listeners and every connection and waits for every
// goroutine of the double.
func (h *HDFS) stop() {
	close(h.done) // releases a Pause
	for _, l := range []*switchListener{h.nnLn, h.dnLn} {
		l.down() // cuts the open connections
		l.Close()
	}
	h.wg.Wait()
	h.dn.close()
}

func (h *HDFS) fail(err error) {
	h.errMu.Lock()
	h.errs = append(h.errs, err)
	h.errMu.Unlock()
}

func (h *HDFS) takeErrs() []error {
	h.errMu.Lock()
	defer h.errMu.Unlock()
	errs := h.errs
	h.errs = nil
	return errs
}

// NameNode returns the NameNode's address, "127.0.0.1:port".
func (h *HDFS) NameNode() string { return h.nnLn.Addr().String() }

// DataNode returns the DataNode's data-transfer address.
func (h *HDFS) DataNode() string { return h.dnLn.Addr().String() }

// Files returns the path and visible length (its committed blocks) of
// every file in the namespace, complete or still under construction, so
// tests can check no temporary file stays behind.
func (h *HDFS) Files() map[string]int64 {
	h.ns.mu.Lock()
	defer h.ns.mu.Unlock()
	out := map[string]int64{}
	h.ns.root.files(out)
	return out
}

// UnderConstruction returns the paths of the files still being written
// (created, never completed), with the client name holding each lease.
func (h *HDFS) UnderConstruction() map[string]string {
	h.ns.mu.Lock()
	defer h.ns.mu.Unlock()
	out := map[string]string{}
	var walk func(*inode)
	walk = func(n *inode) {
		if !n.dir && n.holder != "" {
			out[n.path()] = n.holder
		}
		for _, k := range n.children {
			walk(k)
		}
	}
	walk(h.ns.root)
	return out
}

// Calls returns how many calls of the ClientProtocol method (e.g.
// "rename2") the NameNode has answered.
func (h *HDFS) Calls(method string) int {
	h.ns.mu.Lock()
	defer h.ns.mu.Unlock()
	return h.calls[method]
}
