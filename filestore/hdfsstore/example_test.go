package hdfsstore_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"strings"
	"time"

	"github.com/colinmarc/hdfs/v2"

	"github.com/groundwork-go/groundwork/filestore"
	"github.com/groundwork-go/groundwork/filestore/driver"
	"github.com/groundwork-go/groundwork/filestore/hdfsstore"
)

// Example opens a directory of an HDFS cluster by URL: the blank import
//
//	import _ "github.com/groundwork-go/groundwork/filestore/hdfsstore"
//
// registers hdfs://. It needs a cluster whose namenodes are nn1 and nn2
// (HA) and datanodes reachable from here. Having no Output comment, it
// is compiled but not run by go test.
func Example() {
	ctx := context.Background()
	s, err := filestore.Open(ctx, "hdfs://nn1:8020,nn2:8020/data/files?user=etl&replication=3&timeout=30s")
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	if _, err := s.Put(ctx, "reports/latest.csv", strings.NewReader("region,total\nnorth,42\n"), nil); err != nil {
		log.Fatal(err)
	}
	r, err := s.Open(ctx, "reports/latest.csv")
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%q %x\n", data, r.Info().SHA256)
}

// Example_badURL: a mistyped parameter is an error naming it, not a
// default silently used. It runs without a cluster: the URL is checked
// before anything is dialled.
func Example_badURL() {
	_, err := filestore.Open(context.Background(), "hdfs://namenode:8020/data?replicaton=2")
	fmt.Println(errors.Is(err, driver.ErrBadURL))
	fmt.Println(err)
	// Output:
	// true
	// filestore: open hdfs://namenode:8020/data?replicaton=2: bad URL: unknown parameter "replicaton" (known: user, replication, block_size, datanode_hostname, timeout)
}

// ExampleNew builds the client itself — the way to Kerberos, whose
// ClientOptions come from the Hadoop configuration and a gokrb5 client —
// with hdfsstore.Dialer bounding its connections, and wraps the backend.
// It needs a cluster, as Example does.
func ExampleNew() {
	client, err := hdfs.NewClient(hdfs.ClientOptions{
		Addresses:        []string{"nn1:8020"},
		User:             "etl",
		NamenodeDialFunc: hdfsstore.Dialer(30 * time.Second),
		DatanodeDialFunc: hdfsstore.Dialer(30 * time.Second),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	ctx := context.Background()
	b, err := hdfsstore.New(ctx, client, "/data/files", &hdfsstore.Options{Replication: 2})
	if err != nil {
		log.Fatal(err)
	}
	s, err := filestore.NewStore(b)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	var c *hdfs.Client
	fmt.Println(s.As(&c) && c == client)
}
