package testserver

import (
	"sort"
	"strings"
)

// Extended attributes as HDFS keeps them: per inode, in the user and
// trusted namespaces (security, system and raw are refused), at most 32
// per inode and 16384 bytes for the prefixed name plus the value
// (dfs.namenode.fs-limits.max-xattrs-per-inode / max-xattr-size).

type xattrKey struct {
	ns   int64 // XAttrNamespaceProto
	name string
}

const (
	xattrNSUser      = 0
	xattrNSTrusted   = 1
	xattrFlagCreate  = 1
	xattrFlagReplace = 2
	xattrMaxPerInode = 32
	xattrMaxSize     = 16384
)

var xattrNSNames = []string{"user", "trusted", "security", "system", "raw"}

func (k xattrKey) prefixed() string {
	ns := "unknown"
	if k.ns >= 0 && int(k.ns) < len(xattrNSNames) {
		ns = xattrNSNames[k.ns]
	}
	return ns + "." + k.name
}

// xattrTarget resolves src for an xattr call needing access want, after
// checking xattrs are enabled.
func (ns *namespace) xattrTarget(c caller, src string, want uint32) (*inode, *rpcError) {
	if !ns.opts.xattrs {
		return nil, javaErr(exIO, "The XAttr operation has been rejected.  Support for XAttrs has been disabled by setting dfs.namenode.xattrs.enabled to false.")
	}
	r, rerr := ns.resolve(c, src)
	if rerr != nil {
		return nil, rerr
	}
	if r.node == nil {
		return nil, fileNotFound(src)
	}
	if !c.allowed(r.node, want) {
		return nil, c.denied(r.node, want)
	}
	return r.node, nil
}

// xattrAllowed checks c may use the namespace of k.
func xattrAllowed(c caller, k xattrKey) *rpcError {
	if k.ns == xattrNSUser || (k.ns == xattrNSTrusted && c.super) {
		return nil
	}
	return javaErr(exAccess, "User doesn't have permission for xattr: %s", k.prefixed())
}

func keyOf(x *pb) xattrKey { return xattrKey{ns: x.num("namespace"), name: x.str("name")} }

func nnSetXAttr(ns *namespace, c caller, req *pb) (*pb, *rpcError) {
	n, rerr := ns.xattrTarget(c, req.str("src"), permWrite)
	if rerr != nil {
		return nil, rerr
	}
	x := req.sub("xAttr")
	if x == nil {
		return nil, javaErr(exIllegalArgument, "XAttr is null")
	}
	k, v := keyOf(x), x.bytes("value")
	if err := xattrAllowed(c, k); err != nil {
		return nil, err
	}
	// Hadoop counts the name without its namespace prefix, and refuses
	// with an illegal argument (which the client maps onto os.ErrInvalid).
	if size := len(k.name) + len(v); size > xattrMaxSize {
		return nil, javaErr(exIllegalArgument, "The XAttr is too big. The maximum combined size of the name and value is %d, but the total size is %d", xattrMaxSize, size)
	}
	flag := req.num("flag")
	_, exists := n.xattrs[k]
	switch {
	case exists && flag&xattrFlagReplace == 0:
		return nil, javaErr(exIO, "XAttr: %s already exists. The REPLACE flag must be specified.", k.name)
	case !exists && flag&xattrFlagCreate == 0:
		return nil, javaErr(exIO, "XAttr: %s does not exist. The CREATE flag must be specified.", k.name)
	case !exists && len(n.xattrs) >= xattrMaxPerInode:
		return nil, javaErr(exIO, "Cannot add additional XAttr to inode, would exceed limit of %d", xattrMaxPerInode)
	}
	if n.xattrs == nil {
		n.xattrs = map[xattrKey][]byte{}
	}
	n.xattrs[k] = append([]byte(nil), v...)
	return newPB("hadoop.hdfs.SetXAttrResponseProto"), nil
}

func nnGetXAttrs(ns *namespace, c caller, req *pb) (*pb, *rpcError) {
	n, rerr := ns.xattrTarget(c, req.str("src"), permRead)
	if rerr != nil {
		return nil, rerr
	}
	var out []*pb
	want := req.list("xAttrs")
	if len(want) == 0 { // all the caller may see
		for _, k := range sortedXAttrKeys(n) {
			if xattrAllowed(c, k) == nil {
				out = append(out, xattrPB(k, n.xattrs[k], true))
			}
		}
	}
	for _, x := range want {
		k := keyOf(x)
		if err := xattrAllowed(c, k); err != nil {
			return nil, err
		}
		v, ok := n.xattrs[k]
		if !ok {
			return nil, javaErr(exIO, "At least one of the attributes provided was not found.")
		}
		out = append(out, xattrPB(k, v, true))
	}
	return newPB("hadoop.hdfs.GetXAttrsResponseProto").set("xAttrs", out), nil
}

func nnListXAttrs(ns *namespace, c caller, req *pb) (*pb, *rpcError) {
	n, rerr := ns.xattrTarget(c, req.str("src"), permRead)
	if rerr != nil {
		return nil, rerr
	}
	var out []*pb
	for _, k := range sortedXAttrKeys(n) {
		if xattrAllowed(c, k) == nil {
			out = append(out, xattrPB(k, nil, false)) // names only, as HDFS lists them
		}
	}
	return newPB("hadoop.hdfs.ListXAttrsResponseProto").set("xAttrs", out), nil
}

func nnRemoveXAttr(ns *namespace, c caller, req *pb) (*pb, *rpcError) {
	n, rerr := ns.xattrTarget(c, req.str("src"), permWrite)
	if rerr != nil {
		return nil, rerr
	}
	x := req.sub("xAttr")
	if x == nil {
		return nil, javaErr(exIllegalArgument, "XAttr is null")
	}
	k := keyOf(x)
	if err := xattrAllowed(c, k); err != nil {
		return nil, err
	}
	if _, ok := n.xattrs[k]; !ok {
		return nil, javaErr(exIO, "No matching attributes found for remove operation")
	}
	delete(n.xattrs, k)
	return newPB("hadoop.hdfs.RemoveXAttrResponseProto"), nil
}

func xattrPB(k xattrKey, v []byte, withValue bool) *pb {
	x := newPB("hadoop.hdfs.XAttrProto").set("namespace", int(k.ns)).set("name", k.name)
	if withValue {
		x.set("value", v)
	}
	return x
}

func sortedXAttrKeys(n *inode) []xattrKey {
	keys := make([]xattrKey, 0, len(n.xattrs))
	for k := range n.xattrs {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return strings.Compare(keys[i].prefixed(), keys[j].prefixed()) < 0 })
	return keys
}
