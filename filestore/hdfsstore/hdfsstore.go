package hdfsstore

import (
	"github.com/colinmarc/hdfs/v2"
)

// Scheme is the URL scheme the backend registers.
const Scheme = "hdfs"

var _ *hdfs.Client = (*hdfs.Client)(nil)
