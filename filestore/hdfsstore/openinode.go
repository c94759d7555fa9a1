package hdfsstore

import (
	"os"
	"reflect"
	"unsafe"

	"github.com/colinmarc/hdfs/v2"
)

// openInode is c.Open(inodePath(id)) without the getFileInfo that Open
// sends first: fi, which the caller has just fetched (by the object's
// name, the inode found being id), is what that call would answer, so a
// Get is a namenode call shorter. The FileReader is built with the
// fields Open sets (client, name, info; its other fields start zero) —
// unexported, set by reflection as namenodeExecute finds the namenode
// connection. Were a later client version to lay FileReader out
// differently, this opens the file the documented way, one call more.
//
// A version removed since fi was fetched is not found by the first read
// (getBlockLocations of the inode path), which fails: see reader.failed.
func openInode(c *hdfs.Client, id uint64, fi os.FileInfo) (*hdfs.FileReader, error) {
	fr := new(hdfs.FileReader)
	v := reflect.ValueOf(fr).Elem()
	fields := []struct {
		name string
		val  any
	}{{"client", c}, {"name", inodePath(id)}, {"info", fi}}
	for _, f := range fields {
		fv := v.FieldByName(f.name)
		if !fv.IsValid() || !reflect.TypeOf(f.val).AssignableTo(fv.Type()) {
			return c.Open(inodePath(id))
		}
	}
	for _, f := range fields {
		fv := v.FieldByName(f.name)
		reflect.NewAt(fv.Type(), unsafe.Pointer(fv.UnsafeAddr())).Elem().Set(reflect.ValueOf(f.val))
	}
	return fr, nil
}
