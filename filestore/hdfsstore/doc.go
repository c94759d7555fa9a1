// Package hdfsstore is the HDFS backend of package filestore, on
// github.com/colinmarc/hdfs/v2. Import it for its side effect:
//
//	import _ "github.com/groundwork-go/groundwork/filestore/hdfsstore"
//
// and open a store with filestore.Open(ctx, "hdfs://namenode:8020/base").
//
// Work in progress (issue 20): the backend is being built.
package hdfsstore
