package s3store

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/groundwork-go/groundwork/filestore/driver"
	"github.com/groundwork-go/groundwork/internal/retrying"
	"github.com/groundwork-go/groundwork/resilience"
)

func hexDecode(s string) ([]byte, error) { return hex.DecodeString(s) }

// pathEscape escapes a key for CopySource, keeping its slashes.
func pathEscape(key string) string { return strings.ReplaceAll(url.PathEscape(key), "%2F", "/") }

// A Put is buffered up to MultipartThreshold. If it ends there, it is one
// PutObject carrying the SHA-256 as metadata and as S3's own SHA-256
// checksum (the server checks it). If not, the buffer and the rest stream
// through an io.Pipe into the transfer manager's multipart upload, which
// completes (and becomes visible) only on Commit and is aborted on Abort;
// the digest, unknown when the upload began unless the caller gave it
// (then it rides as metadata), is then recorded as an object tag bound to
// the upload's ETag — no copy of the data.
//
// The streamed upload's requests do not end with the caller's ctx: one
// cut off in flight may still take effect on the server, and a
// CreateMultipartUpload that did would leave an upload whose ID the
// transfer manager never learnt, so that nothing could abort it. The
// ctx ending cuts the upload's body instead: the transfer manager then
// aborts the upload it knows. Only requests still under way abortGrace
// later are cancelled (a server that does not answer).
type writer struct {
	ctx  context.Context
	b    *bucket
	name string
	opts *driver.WriterOptions
	buf  *bytes.Buffer // from b.bufs until streaming starts or the Put ends

	pw       *io.PipeWriter // streaming: the upload's body
	done     chan uploadResult
	cancelUp context.CancelFunc // cancels the upload's requests
	unwatch  func() bool        // stops cutting the body when the ctx ends
	result   *uploadResult      // once received from done
}

// abortGrace is how long a streamed upload whose caller's ctx ended may
// take to end its requests under way (and abort) before they are
// cancelled.
const abortGrace = 5 * time.Second

// wait returns the streamed upload's outcome, once it has ended.
func (w *writer) wait() uploadResult {
	if w.result == nil {
		var r uploadResult
		select {
		case r = <-w.done:
		case <-w.ctx.Done(): // the body is cut: the upload ends soon
			t := time.NewTimer(abortGrace)
			select {
			case r = <-w.done:
			case <-t.C:
				w.cancelUp()
				r = <-w.done
			}
			t.Stop()
		}
		w.unwatch()
		w.cancelUp()
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
		return w.pipeWrite(p)
	}
	if int64(w.buf.Len()+len(p)) <= w.b.o.MultipartThreshold {
		return w.buf.Write(p)
	}
	w.startUpload()
	_, err := w.pipeWrite(w.buf.Bytes())
	w.releaseBuf()
	if err != nil {
		return 0, err
	}
	return w.pipeWrite(p)
}

// pipeWrite feeds the upload; when it has failed because the caller's
// ctx ended, that is the error to return.
func (w *writer) pipeWrite(p []byte) (int, error) {
	n, err := w.pw.Write(p)
	if err != nil && w.ctx.Err() != nil {
		err = w.ctx.Err()
	}
	return n, err
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
	ctx, cancel := context.WithCancel(context.WithoutCancel(w.ctx))
	w.cancelUp = cancel
	w.unwatch = context.AfterFunc(w.ctx, func() { pw.CloseWithError(w.ctx.Err()) })
	go func() {
		out, err := w.b.tm.UploadObject(ctx, in)
		if err != nil {
			w.b.cleanUp(*in.Key, err)
		}
		pr.CloseWithError(err) // unblock a Write the upload will not read
		w.done <- uploadResult{out, err}
	}()
}

// outliving returns a context for a request that must not be cut off
// when parent ends — cut off, it may still take effect on the server
// while its caller is told it failed — but only abortGrace later (a
// server that does not answer). stop releases it.
func outliving(parent context.Context) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	unwatch := context.AfterFunc(parent, func() {
		t := time.NewTimer(abortGrace)
		defer t.Stop()
		select {
		case <-t.C:
			cancel()
		case <-ctx.Done():
		}
	})
	return ctx, func() { unwatch(); cancel() }
}

func (w *writer) Commit(sum []byte) error {
	if w.pw == nil {
		defer w.releaseBuf()
		if err := w.ctx.Err(); err != nil {
			return err
		}
		ctx, stop := outliving(w.ctx) // the answer tells whether the object is there
		defer stop()
		_, err := w.b.c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(w.b.bucket), Key: aws.String(w.b.key(w.name)),
			Body: bytes.NewReader(w.buf.Bytes()), ContentLength: aws.Int64(int64(w.buf.Len())), ContentType: w.contentType(),
			Metadata: encodeMeta(w.opts.Metadata, sum), IfNoneMatch: w.ifNoneMatch(),
			ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(sum))}, withPayloadHash(sum))
		return mapErr(w.name, err)
	}
	_ = w.pw.Close()
	r := w.wait()
	if r.err != nil && w.ctx.Err() != nil {
		return w.ctx.Err()
	}
	if r.err != nil {
		return mapErr(w.name, r.err)
	}
	if w.opts.SHA256 != nil {
		return nil // sent with the upload
	}
	// Tag the object with its digest and the ETag it belongs to: the tag
	// is believed only while the object still has that ETag, so that a
	// concurrent Put of the same name cannot be described by ours. The
	// object is in place already (it replaced any older one), so a failed
	// tagging fails nothing: the Put succeeded, its digest was checked
	// before the upload completed, and Stat will report no digest.
	_, _ = w.b.c.PutObjectTagging(w.ctx, &s3.PutObjectTaggingInput{Bucket: aws.String(w.b.bucket), Key: aws.String(w.b.key(w.name)),
		Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String(shaKey), Value: aws.String(digestTag(sum, aws.ToString(r.out.ETag)))}}}})
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

// payloadHashID is the SDK's middleware that hashes the payload to sign.
const payloadHashID = "ComputePayloadHash"

// withPayloadHash hands the SigV4 signer the body's SHA-256, which the
// portable layer has computed already: the signer would hash the body
// again to sign it (over plain HTTP, where the payload is signed).
func withPayloadHash(sum []byte) func(*s3.Options) {
	hash := hex.EncodeToString(sum)
	return s3.WithAPIOptions(func(stack *middleware.Stack) error {
		if _, ok := stack.Finalize.Get(payloadHashID); !ok {
			return nil // a signer that hashes no payload: nothing to spare
		}
		return stack.Finalize.Insert(middleware.FinalizeMiddlewareFunc("groundworkPayloadHash",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				return next.HandleFinalize(v4.SetPayloadHash(ctx, hash), in)
			}), payloadHashID, middleware.Before)
	})
}

// cleanUp makes sure a failed multipart upload leaves no parts: the
// transfer manager aborts it once, and that abort may itself fail (a
// server still busy with a part it was sent, or down); abort again, a few
// times, with a context of its own. An upload already gone is done.
func (b *bucket) cleanUp(key string, err error) {
	var mue transfermanager.MultipartUploadError
	if !errors.As(err, &mue) || mue.UploadID() == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = retrying.Do(ctx, resilience.RetryPolicy{InitialInterval: 100 * time.Millisecond, MaxAttempts: 5}, nil, func(ctx context.Context) error {
		_, err := b.c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(b.bucket), Key: aws.String(key),
			UploadId: aws.String(mue.UploadID())})
		if errors.Is(mapUploadErr(key, err), fs.ErrNotExist) {
			return nil
		}
		return err
	})
}
