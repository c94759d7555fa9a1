package s3store

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/groundwork-go/groundwork/filestore/driver"
)

func hexDecode(s string) ([]byte, error) { return hex.DecodeString(s) }

// pathEscape escapes a key for CopySource, keeping its slashes.
func pathEscape(key string) string { return strings.ReplaceAll(url.PathEscape(key), "%2F", "/") }

// A Put is buffered up to MultipartThreshold. If it ends there, it is one
// PutObject carrying the SHA-256 as metadata and as S3's own SHA-256
// checksum (the server checks it). If not, the buffer and the rest stream
// through an io.Pipe into the transfer manager's multipart upload, which
// completes (and becomes visible) only on Commit and is aborted on Abort;
// the digest, unknown when the upload began unless the caller gave it,
// is then added by copying the object onto itself with the new metadata,
// conditional on its ETag (a concurrent Put in between keeps its own).
type writer struct {
	ctx  context.Context
	b    *bucket
	name string
	opts *driver.WriterOptions
	buf  *bytes.Buffer // from b.bufs until streaming starts or the Put ends

	pw     *io.PipeWriter // streaming: the upload's body
	done   chan uploadResult
	result *uploadResult // once received from done
}

// wait returns the streamed upload's outcome, once it has ended.
func (w *writer) wait() uploadResult {
	if w.result == nil {
		r := <-w.done
		w.result = &r
	}
	return *w.result
}

type uploadResult struct {
	out *transfermanager.UploadObjectOutput
	err error
}

var errAborted = errors.New("s3store: put aborted")

func (b *bucket) NewWriter(ctx context.Context, name string, opts *driver.WriterOptions) (driver.Writer, error) {
	buf := b.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	return &writer{ctx: ctx, b: b, name: name, opts: opts, buf: buf}, nil
}

func (w *writer) Write(p []byte) (int, error) {
	if w.pw != nil {
		return w.pw.Write(p)
	}
	if int64(w.buf.Len()+len(p)) <= w.b.o.MultipartThreshold {
		return w.buf.Write(p)
	}
	w.startUpload()
	_, err := w.pw.Write(w.buf.Bytes())
	w.releaseBuf()
	if err != nil {
		return 0, err
	}
	return w.pw.Write(p)
}

// releaseBuf gives the buffer back for the next Put.
func (w *writer) releaseBuf() {
	if w.buf != nil {
		w.b.bufs.Put(w.buf)
		w.buf = nil
	}
}

func (w *writer) ifNoneMatch() *string {
	if w.opts.IfNotExist {
		return aws.String("*")
	}
	return nil
}

func (w *writer) contentType() *string {
	if w.opts.ContentType == "" {
		return nil
	}
	return aws.String(w.opts.ContentType)
}

func (w *writer) startUpload() {
	pr, pw := io.Pipe()
	w.pw, w.done = pw, make(chan uploadResult, 1)
	in := &transfermanager.UploadObjectInput{Bucket: aws.String(w.b.bucket), Key: aws.String(w.b.key(w.name)), Body: pr,
		ContentType: w.contentType(), Metadata: encodeMeta(w.opts.Metadata, w.opts.SHA256), IfNoneMatch: w.ifNoneMatch()}
	if w.opts.Size > 0 {
		in.ContentLength = aws.Int64(w.opts.Size)
	}
	go func() {
		out, err := w.b.tm.UploadObject(w.ctx, in)
		pr.CloseWithError(err) // unblock a Write the upload will not read
		w.done <- uploadResult{out, err}
	}()
}

func (w *writer) Commit(sum []byte) error {
	if w.pw == nil {
		defer w.releaseBuf()
		_, err := w.b.c.PutObject(w.ctx, &s3.PutObjectInput{Bucket: aws.String(w.b.bucket), Key: aws.String(w.b.key(w.name)),
			Body: bytes.NewReader(w.buf.Bytes()), ContentLength: aws.Int64(int64(w.buf.Len())), ContentType: w.contentType(),
			Metadata: encodeMeta(w.opts.Metadata, sum), IfNoneMatch: w.ifNoneMatch(),
			ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(sum))})
		return mapErr(w.name, err)
	}
	_ = w.pw.Close()
	r := w.wait()
	if r.err != nil {
		return mapErr(w.name, r.err)
	}
	if w.opts.SHA256 != nil {
		return nil // sent with the upload
	}
	key := w.b.key(w.name)
	_, err := w.b.c.CopyObject(w.ctx, &s3.CopyObjectInput{Bucket: aws.String(w.b.bucket), Key: aws.String(key),
		CopySource: aws.String(w.b.bucket + "/" + pathEscape(key)), CopySourceIfMatch: r.out.ETag,
		MetadataDirective: types.MetadataDirectiveReplace, ContentType: w.contentType(),
		Metadata: encodeMeta(maps.Clone(w.opts.Metadata), sum)})
	if err != nil {
		return fmt.Errorf("uploaded, but recording its SHA-256 failed: %w", mapErr(w.name, err))
	}
	return nil
}

func (w *writer) Abort() error {
	if w.pw == nil {
		w.releaseBuf()
		return nil
	}
	w.pw.CloseWithError(errAborted)
	if r := w.wait(); r.err != nil && !errors.Is(r.err, errAborted) {
		return r.err
	}
	return nil
}
