package s3store

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/groundwork-go/groundwork/filestore/driver"
)

// List is one ListObjectsV2. Listed objects carry size and time only: S3
// lists no metadata (Stat has it).
func (b *bucket) List(ctx context.Context, opts *driver.ListOptions) (*driver.ListPage, error) {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(b.bucket), Prefix: aws.String(b.key(opts.Prefix)),
		MaxKeys: aws.Int32(int32(min(opts.PageSize, 1000)))}
	if opts.Delimiter != "" {
		in.Delimiter = aws.String(opts.Delimiter)
	}
	if opts.After != "" {
		after := b.key(opts.After)
		if strings.HasSuffix(opts.After, "/") && opts.Delimiter != "" {
			// After a folded directory: skip every key inside it too.
			after += string(utf8.MaxRune)
		}
		in.StartAfter = aws.String(after)
	}
	out, err := b.c.ListObjectsV2(ctx, in)
	if err != nil {
		return nil, mapErr(opts.Prefix, err)
	}
	page := &driver.ListPage{More: aws.ToBool(out.IsTruncated)}
	objs, dirs := out.Contents, out.CommonPrefixes
	for len(objs) > 0 || len(dirs) > 0 { // merge two sorted lists
		if len(dirs) == 0 || len(objs) > 0 && aws.ToString(objs[0].Key) < aws.ToString(dirs[0].Prefix) {
			page.Entries = append(page.Entries, b.objectEntry(objs[0]))
			objs = objs[1:]
			continue
		}
		page.Entries = append(page.Entries, driver.ListEntry{Name: strings.TrimPrefix(aws.ToString(dirs[0].Prefix), b.o.Prefix), Dir: true})
		dirs = dirs[1:]
	}
	return page, nil
}

func (b *bucket) objectEntry(o types.Object) driver.ListEntry {
	return driver.ListEntry{Name: strings.TrimPrefix(aws.ToString(o.Key), b.o.Prefix),
		Attributes: &driver.Attributes{Size: aws.ToInt64(o.Size), ModTime: aws.ToTime(o.LastModified)}}
}
