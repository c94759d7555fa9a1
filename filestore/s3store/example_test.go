package s3store_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/groundwork-go/groundwork/filestore"
	"github.com/groundwork-go/groundwork/filestore/s3store"
)

// Example opens the part of a bucket under tenant-7/ by URL: the blank
// import
//
//	import _ "github.com/groundwork-go/groundwork/filestore/s3store"
//
// registers s3://. It needs a server — AWS S3 (drop endpoint and
// path_style), or an S3-compatible one such as MinIO, Ceph or versitygw at
// endpoint — with the bucket "uploads" made, and credentials in the SDK's
// default chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile, a
// role). Having no Output comment, it is compiled but not run by go test.
func Example() {
	ctx := context.Background()
	s, err := filestore.Open(ctx, "s3://uploads/tenant-7/?endpoint=http://127.0.0.1:7070&region=us-east-1&path_style=true")
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	_, err = s.Put(ctx, "reports/q3.csv", strings.NewReader("region,total\nnorth,42\n"),
		&filestore.PutOptions{ContentType: "text/csv"})
	if err != nil {
		log.Fatal(err)
	}

	// The escape hatch: the store's own *s3.Client, for what filestore
	// does not offer. The object's key carries the prefix.
	var client *s3.Client
	if !s.As(&client) {
		log.Fatal("not an S3 store")
	}
	out, err := client.HeadObject(ctx, &s3.HeadObjectInput{
		Bucket: aws.String("uploads"),
		Key:    aws.String("tenant-7/reports/q3.csv"),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(aws.ToString(out.ContentType), aws.ToInt64(out.ContentLength))
}

// ExampleNew builds the store on an *s3.Client the application configured
// itself. Clients built from a URL have the SDK's retries off, as the
// portable layer and the storage Service retry; do the same here. Like
// Example, it needs a server and is not run by go test.
func ExampleNew() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"), config.WithRetryMaxAttempts(1))
	if err != nil {
		log.Fatal(err)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String("http://127.0.0.1:7070") // an S3-compatible server; omit both for AWS
		o.UsePathStyle = true
	})
	b, err := s3store.New(client, "uploads", &s3store.Options{Prefix: "tenant-7/", Concurrency: 4})
	if err != nil {
		log.Fatal(err)
	}
	s, err := filestore.NewStore(b)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	info, err := s.Stat(ctx, "reports/q3.csv")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(info.Name, info.Size, info.ContentType)
}
