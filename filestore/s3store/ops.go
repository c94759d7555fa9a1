package s3store

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Delete checks that name exists (S3 deletes missing keys silently), then
// deletes it.
func (b *bucket) Delete(ctx context.Context, name string) error {
	if _, err := b.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b.bucket), Key: aws.String(b.key(name))}); err != nil {
		return mapErr(name, err)
	}
	_, err := b.c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b.bucket), Key: aws.String(b.key(name))})
	return mapErr(name, err)
}

// Copy is a server-side CopyObject, metadata included (objects up to
// 5 GiB, S3's limit for one copy).
func (b *bucket) Copy(ctx context.Context, dst, src string) error {
	_, err := b.c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b.bucket), Key: aws.String(b.key(dst)),
		CopySource: aws.String(b.bucket + "/" + pathEscape(b.key(src))), MetadataDirective: types.MetadataDirectiveCopy})
	return mapErr(src, err)
}
