package s3store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/groundwork-go/groundwork/filestore/driver"
)

// Native multipart uploads, for the storage Service's resumable uploads.

var _ driver.Multiparter = (*bucket)(nil)

func (b *bucket) CreateMultipart(ctx context.Context, name string, opts *driver.WriterOptions) (string, error) {
	in := &s3.CreateMultipartUploadInput{Bucket: aws.String(b.bucket), Key: aws.String(b.key(name)), Metadata: encodeMeta(opts.Metadata, nil)}
	if opts.ContentType != "" {
		in.ContentType = aws.String(opts.ContentType)
	}
	// Not cut off with ctx: one that took effect unanswered would leave
	// an upload nobody knows the ID of, to abort it.
	ctx, stop := outliving(ctx)
	defer stop()
	out, err := b.c.CreateMultipartUpload(ctx, in)
	if err != nil {
		return "", mapErr(name, err)
	}
	return aws.ToString(out.UploadId), nil
}

func (b *bucket) UploadPart(ctx context.Context, name, uploadID string, n int, r io.ReadSeeker, size int64) (string, error) {
	out, err := b.c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(b.bucket), Key: aws.String(b.key(name)),
		UploadId: aws.String(uploadID), PartNumber: aws.Int32(int32(n)), Body: r, ContentLength: aws.Int64(size)})
	if err != nil {
		return "", mapUploadErr(name, err)
	}
	return aws.ToString(out.ETag), nil
}

func (b *bucket) CompleteMultipart(ctx context.Context, name, uploadID string, parts []driver.CompletedPart) error {
	done := make([]types.CompletedPart, len(parts))
	for i, p := range parts {
		done[i] = types.CompletedPart{PartNumber: aws.Int32(int32(p.Number)), ETag: aws.String(p.ETag)}
	}
	_, err := b.c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(b.bucket), Key: aws.String(b.key(name)),
		UploadId: aws.String(uploadID), MultipartUpload: &types.CompletedMultipartUpload{Parts: done}})
	return mapUploadErr(name, err)
}

func (b *bucket) AbortMultipart(ctx context.Context, name, uploadID string) error {
	_, err := b.c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(b.bucket), Key: aws.String(b.key(name)),
		UploadId: aws.String(uploadID)})
	return mapUploadErr(name, err)
}

// mapUploadErr adds multipart's own errors to mapErr's.
func mapUploadErr(name string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchUpload":
			return fmt.Errorf("%q: multipart upload: %w", name, fs.ErrNotExist)
		case "EntityTooSmall", "InvalidPart", "InvalidPartOrder":
			return fmt.Errorf("%q: %w: %s (every part but the last must be at least 5 MiB on S3)", name, fs.ErrInvalid, ae.ErrorMessage())
		}
	}
	return mapErr(name, err)
}
