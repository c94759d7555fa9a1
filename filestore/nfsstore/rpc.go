package nfsstore

import (
	"github.com/vmware/go-nfs-client/nfs"
	"github.com/vmware/go-nfs-client/nfs/rpc"
	"github.com/vmware/go-nfs-client/nfs/xdr"
)

// NFSv3 procedures go-nfs-client lacks, called through the rpc.Client
// its Target embeds (RFC 1813).
const (
	procRename = 14
	procLink   = 15
	procCommit = 21
)

func header(auth rpc.Auth, proc uint32) rpc.Header {
	return rpc.Header{Rpcvers: 2, Prog: nfs.Nfs3Prog, Vers: nfs.Nfs3Vers, Proc: proc, Cred: auth, Verf: rpc.AuthNull}
}

// call sends args and turns the reply's status into an error.
func call(t *nfs.Target, args any) error {
	res, err := t.Call(args)
	if err != nil {
		return err
	}
	status, err := xdr.ReadUint32(res)
	if err != nil {
		return err
	}
	return nfs.NFS3Error(status)
}

// rename is RENAME3: from (dir, name) to (dir, name), replacing the
// target atomically.
func rename(t *nfs.Target, auth rpc.Auth, fromDir []byte, fromName string, toDir []byte, toName string) error {
	type renameArgs struct {
		rpc.Header
		From nfs.Diropargs3
		To   nfs.Diropargs3
	}
	return call(t, &renameArgs{Header: header(auth, procRename),
		From: nfs.Diropargs3{FH: fromDir, Filename: fromName}, To: nfs.Diropargs3{FH: toDir, Filename: toName}})
}

// link is LINK3: a new name (dir, name) for file; it fails with
// NFS3ERR_EXIST if the name is taken, which makes it an exclusive create.
func link(t *nfs.Target, auth rpc.Auth, file, dir []byte, name string) error {
	type linkArgs struct {
		rpc.Header
		File []byte
		Link nfs.Diropargs3
	}
	return call(t, &linkArgs{Header: header(auth, procLink), File: file, Link: nfs.Diropargs3{FH: dir, Filename: name}})
}

// commit is COMMIT3 of the whole file: what UNSTABLE writes left in the
// server's cache reaches stable storage. It returns the server's write
// verifier, which must be the one the writes saw: a server that
// restarted in between has lost them.
func commit(t *nfs.Target, auth rpc.Auth, fh []byte) (uint64, error) {
	type commitArgs struct {
		rpc.Header
		FH     []byte
		Offset uint64
		Count  uint32
	}
	type commitRes struct {
		Wcc  nfs.WccData
		Verf uint64
	}
	res, err := t.Call(&commitArgs{Header: header(auth, procCommit), FH: fh})
	if err != nil {
		return 0, err
	}
	status, err := xdr.ReadUint32(res)
	if err != nil {
		return 0, err
	}
	if err := nfs.NFS3Error(status); err != nil {
		return 0, err
	}
	var r commitRes
	if err := xdr.Read(res, &r); err != nil {
		return 0, err
	}
	return r.Verf, nil
}

const (
	procRead  = 6
	procWrite = 7
)

// read3 reads up to count bytes at off; eof tells whether the file ends
// there.
func read3(t *nfs.Target, auth rpc.Auth, fh []byte, off uint64, count uint32) ([]byte, bool, error) {
	type readArgs struct {
		rpc.Header
		FH     []byte
		Offset uint64
		Count  uint32
	}
	type readRes struct {
		Attr  nfs.PostOpAttr
		Count uint32
		EOF   bool
		Data  []byte
	}
	res, err := t.Call(&readArgs{Header: header(auth, procRead), FH: fh, Offset: off, Count: count})
	if err != nil {
		return nil, false, err
	}
	status, err := xdr.ReadUint32(res)
	if err != nil {
		return nil, false, err
	}
	if err := nfs.NFS3Error(status); err != nil {
		return nil, false, err
	}
	var r readRes
	if err := xdr.Read(res, &r); err != nil {
		return nil, false, err
	}
	return r.Data, r.EOF, nil
}

// Write stability (stable_how).
const (
	unstable = 0 // the server may cache it until COMMIT
	fileSync = 2 // on stable storage when the reply comes
)

// write3 writes data at off with the stability asked for and returns how
// much the server took and its write verifier.
func write3(t *nfs.Target, auth rpc.Auth, fh []byte, off uint64, data []byte, how uint32) (int, uint64, error) {
	type writeArgs struct {
		rpc.Header
		FH       []byte
		Offset   uint64
		Count    uint32
		How      uint32
		Contents []byte
	}
	type writeRes struct {
		Wcc       nfs.WccData
		Count     uint32
		How       uint32
		WriteVerf uint64
	}
	res, err := t.Call(&writeArgs{Header: header(auth, procWrite), FH: fh, Offset: off, Count: uint32(len(data)), How: how, Contents: data})
	if err != nil {
		return 0, 0, err
	}
	status, err := xdr.ReadUint32(res)
	if err != nil {
		return 0, 0, err
	}
	if err := nfs.NFS3Error(status); err != nil {
		return 0, 0, err
	}
	var r writeRes
	if err := xdr.Read(res, &r); err != nil {
		return 0, 0, err
	}
	return int(r.Count), r.WriteVerf, nil
}
