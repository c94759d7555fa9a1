package s3store

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/groundwork-go/groundwork/filestore/driver"
)

func (b *bucket) Attributes(ctx context.Context, name string) (*driver.Attributes, error) {
	out, err := b.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b.bucket), Key: aws.String(b.key(name))})
	if err != nil {
		return nil, mapErr(name, err)
	}
	a := attrs(aws.ToInt64(out.ContentLength), out.LastModified, out.ContentType, out.ETag, out.Metadata)
	if err := b.taggedDigest(ctx, name, a, out.TagCount); err != nil {
		return nil, err
	}
	return a, nil
}

// digestTag binds a digest to the ETag of the object it describes.
func digestTag(sum []byte, etag string) string {
	return hex.EncodeToString(sum) + ":" + strings.Trim(etag, `"`)
}

// taggedDigest fills a.SHA256 from the object's tag when its metadata had
// none (a multipart upload whose digest came at the end) and the tag
// still describes this very object (same ETag). tagCount is nil when the
// server does not say how many tags the object has. The tag is best
// effort: when it cannot be read (a policy denying GetObjectTagging, a
// server without tagging) the digest is unknown (nil) and the Stat or
// Open goes on; only the caller's ctx ending fails it.
func (b *bucket) taggedDigest(ctx context.Context, name string, a *driver.Attributes, tagCount *int32) error {
	etag := a.Version
	if a.SHA256 != nil || tagCount != nil && *tagCount == 0 || !strings.Contains(etag, "-") {
		return nil // has it, or no tags, or not a multipart upload
	}
	out, err := b.c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String(b.bucket), Key: aws.String(b.key(name))})
	if err != nil {
		return ctx.Err()
	}
	for _, t := range out.TagSet {
		if aws.ToString(t.Key) != shaKey {
			continue
		}
		sum, tagEtag, ok := strings.Cut(aws.ToString(t.Value), ":")
		if ok && tagEtag == strings.Trim(etag, `"`) {
			a.SHA256, _ = hex.DecodeString(sum)
		}
	}
	return nil
}

// attrs builds the Attributes S3 returned; the ETag is the Version, which
// re-reads ask for with If-Match.
func attrs(size int64, mod *time.Time, contentType, etag *string, meta map[string]string) *driver.Attributes {
	m, sum := decodeMeta(meta)
	return &driver.Attributes{Size: size, ModTime: aws.ToTime(mod), SHA256: sum, ContentType: aws.ToString(contentType), Metadata: m,
		Version: aws.ToString(etag)}
}

type reader struct {
	body  io.ReadCloser
	attrs *driver.Attributes
}

func (r *reader) Read(p []byte) (int, error)     { return r.body.Read(p) }
func (r *reader) Close() error                   { return r.body.Close() }
func (r *reader) Attributes() *driver.Attributes { return r.attrs }

// NewRangeReader is one GetObject, ranged unless the whole object is
// asked for. A range starting at or past the end (416 from S3) reads
// nothing.
func (b *bucket) NewRangeReader(ctx context.Context, name string, off, n int64) (driver.Reader, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(b.bucket), Key: aws.String(b.key(name))}
	switch {
	case n == 0:
		a, err := b.Attributes(ctx, name)
		if err != nil {
			return nil, err
		}
		return &reader{body: io.NopCloser(strings.NewReader("")), attrs: a}, nil
	case n > 0:
		in.Range = aws.String(fmt.Sprintf("bytes=%d-%d", off, off+n-1))
	case off > 0:
		in.Range = aws.String(fmt.Sprintf("bytes=%d-", off))
	}
	out, err := b.c.GetObject(ctx, in)
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "InvalidRange" {
		a, err := b.Attributes(ctx, name)
		if err != nil {
			return nil, err
		}
		return &reader{body: io.NopCloser(strings.NewReader("")), attrs: a}, nil
	}
	if err != nil {
		return nil, mapErr(name, err)
	}
	size := aws.ToInt64(out.ContentLength)
	if total, ok := totalFromRange(aws.ToString(out.ContentRange)); ok {
		size = total
	}
	a := attrs(size, out.LastModified, out.ContentType, out.ETag, out.Metadata)
	if err := b.taggedDigest(ctx, name, a, out.TagCount); err != nil {
		out.Body.Close()
		return nil, err
	}
	return &reader{body: out.Body, attrs: a}, nil
}

// totalFromRange reads the object's size from "bytes 0-99/1000".
func totalFromRange(cr string) (int64, bool) {
	_, total, ok := strings.Cut(cr, "/")
	if !ok || total == "*" {
		return 0, false
	}
	n, err := strconv.ParseInt(total, 10, 64)
	return n, err == nil
}

var _ driver.VersionReader = (*bucket)(nil)

// NewVersionRangeReader is one GetObject, ranged, with If-Match on the
// ETag the reader opened: a replaced object is 412, ErrReplaced. No
// attributes are fetched (the caller has them), so no tagging request.
// The portable layer asks only for ranges that start inside the version
// it opened, so a range the object no longer has (416, from a server that
// looks at the range before If-Match) means a shorter object replaced it:
// ErrReplaced too, never an empty read that would pass for the end.
func (b *bucket) NewVersionRangeReader(ctx context.Context, name, version string, off, n int64) (io.ReadCloser, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(b.bucket), Key: aws.String(b.key(name)), IfMatch: aws.String(version)}
	switch {
	case n == 0:
		return io.NopCloser(strings.NewReader("")), nil
	case n > 0:
		in.Range = aws.String(fmt.Sprintf("bytes=%d-%d", off, off+n-1))
	case off > 0:
		in.Range = aws.String(fmt.Sprintf("bytes=%d-", off))
	}
	out, err := b.c.GetObject(ctx, in)
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "InvalidRange" {
		return nil, fmt.Errorf("%q: bytes from %d: not in the object any more: %w", name, off, driver.ErrReplaced)
	}
	if isPreconditionFailed(err) {
		return nil, fmt.Errorf("%q: %w", name, driver.ErrReplaced)
	}
	if err != nil {
		return nil, mapErr(name, err)
	}
	return out.Body, nil
}
