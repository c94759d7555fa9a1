package s3store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/groundwork-go/groundwork/filestore"
	"github.com/groundwork-go/groundwork/filestore/driver"
)

// Scheme is the URL scheme s3store registers.
const Scheme = "s3"

func init() { filestore.Register(Scheme, s3Driver{}) }

// Options configure New; nil means all defaults.
type Options struct {
	// Prefix is prepended to every name: the store is the part of the
	// bucket under it (it should end in "/").
	Prefix string
	// PartSize is the multipart part size, default (and minimum) 5 MiB;
	// MultipartThreshold the size from which a Put is a multipart upload,
	// default 5 MiB; Concurrency the parts uploaded at once, default 2.
	// A Put holds at most about MultipartThreshold + (Concurrency+2) ×
	// PartSize in memory.
	PartSize, MultipartThreshold int64
	Concurrency                  int
}

func (o *Options) withDefaults() (*Options, error) {
	c := Options{PartSize: 5 << 20, MultipartThreshold: 5 << 20, Concurrency: 2}
	if o != nil {
		c.Prefix = o.Prefix
		if o.PartSize != 0 {
			c.PartSize = o.PartSize
		}
		if o.MultipartThreshold != 0 {
			c.MultipartThreshold = o.MultipartThreshold
		}
		if o.Concurrency != 0 {
			c.Concurrency = o.Concurrency
		}
	}
	switch {
	case c.PartSize < 5<<20 || c.PartSize > 5<<30:
		return nil, fmt.Errorf("%w: PartSize %d: want 5 MiB to 5 GiB", fs.ErrInvalid, c.PartSize)
	case c.MultipartThreshold < c.PartSize:
		return nil, fmt.Errorf("%w: MultipartThreshold %d is below PartSize %d", fs.ErrInvalid, c.MultipartThreshold, c.PartSize)
	case c.Concurrency < 1 || c.Concurrency > 64:
		return nil, fmt.Errorf("%w: Concurrency %d: want 1 to 64", fs.ErrInvalid, c.Concurrency)
	case c.Prefix != "" && filestore.ValidName(strings.TrimSuffix(c.Prefix, "/")) != nil:
		return nil, fmt.Errorf("%w: Prefix %q is not a valid name", fs.ErrInvalid, c.Prefix)
	}
	return &c, nil
}

type s3Driver struct{}

// Open builds a client from the SDK's default configuration chain
// (environment, shared config and credentials files, roles) and the URL.
func (s3Driver) Open(ctx context.Context, u *url.URL) (driver.Bucket, error) {
	if u.Host == "" {
		return nil, fmt.Errorf("%w: s3 URL without a bucket: want s3://bucket", driver.ErrBadURL)
	}
	var cfgOpts []func(*config.LoadOptions) error
	var endpoint, profile string
	pathStyle := false
	o := &Options{Prefix: strings.TrimPrefix(u.Path, "/")}
	if o.Prefix != "" && !strings.HasSuffix(o.Prefix, "/") {
		o.Prefix += "/"
	}
	for k, vs := range u.Query() {
		v := vs[len(vs)-1]
		var err error
		switch k {
		case "region":
			cfgOpts = append(cfgOpts, config.WithRegion(v))
		case "endpoint":
			endpoint = v
			if eu, perr := url.Parse(v); perr != nil || eu.Scheme == "" || eu.Host == "" {
				err = fmt.Errorf("want an absolute URL such as http://127.0.0.1:9000")
			}
		case "path_style":
			pathStyle, err = strconv.ParseBool(v)
		case "profile":
			profile = v
		case "part_size":
			o.PartSize, err = strconv.ParseInt(v, 10, 64)
		case "multipart_threshold":
			o.MultipartThreshold, err = strconv.ParseInt(v, 10, 64)
		case "concurrency":
			o.Concurrency, err = strconv.Atoi(v)
		default:
			return nil, fmt.Errorf("%w: unknown parameter %q (known: region, endpoint, path_style, profile, part_size, multipart_threshold, concurrency)", driver.ErrBadURL, k)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: parameter %s=%q: %v", driver.ErrBadURL, k, v, err)
		}
	}
	if profile != "" {
		cfgOpts = append(cfgOpts, config.WithSharedConfigProfile(profile))
	}
	// The portable layer (and the storage Service) own retries.
	cfgOpts = append(cfgOpts, config.WithRetryMaxAttempts(1))
	cfg, err := config.LoadDefaultConfig(ctx, cfgOpts...)
	if err != nil {
		return nil, fmt.Errorf("s3: load configuration: %w", err)
	}
	client := s3.NewFromConfig(cfg, func(so *s3.Options) {
		so.UsePathStyle = pathStyle
		so.DisableLogOutputChecksumValidationSkipped = true
		if endpoint != "" {
			so.BaseEndpoint = aws.String(endpoint)
		}
	})
	return New(client, u.Host, o)
}

type bucket struct {
	c      *s3.Client
	tm     *transfermanager.Client
	bucket string
	o      *Options
	// bufs holds the buffers a Put collects its first MultipartThreshold
	// bytes in: allocated once at full size, reused across Puts.
	bufs sync.Pool
}

var (
	_ driver.Bucket  = (*bucket)(nil)
	_ driver.Aser    = (*bucket)(nil)
	_ driver.Retryer = (*bucket)(nil)
)

// New returns a backend on bucket through client; filestore.NewStore
// wraps it.
func New(client *s3.Client, bucketName string, opts *Options) (driver.Bucket, error) {
	if client == nil || bucketName == "" {
		return nil, fmt.Errorf("%w: s3store.New needs a client and a bucket name", fs.ErrInvalid)
	}
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	tm := transfermanager.New(client, func(to *transfermanager.Options) {
		// The transfer manager reads a first part before deciding; ours is
		// decided already (the stream is over MultipartThreshold), so its
		// threshold is one part: it reads no more than that ahead.
		to.PartSizeBytes, to.MultipartUploadThreshold, to.Concurrency = o.PartSize, o.PartSize, o.Concurrency
		to.FailTimeout = 30 * time.Second // abort a failed upload even when the caller's ctx is what ended it
	})
	b := &bucket{c: client, tm: tm, bucket: bucketName, o: o}
	b.bufs.New = func() any { return bytes.NewBuffer(make([]byte, 0, o.MultipartThreshold)) }
	return b, nil
}

func (b *bucket) key(name string) string { return b.o.Prefix + name }

// As reaches *s3.Client and *transfermanager.Client.
func (b *bucket) As(target any) bool {
	switch t := target.(type) {
	case **s3.Client:
		*t = b.c
	case **transfermanager.Client:
		*t = b.tm
	default:
		return false
	}
	return true
}

// IsRetryable is the SDK's own classification (throttling, 5xx, network).
func (b *bucket) IsRetryable(err error) bool {
	return retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary
}

func (b *bucket) Close() error { return nil }

// mapErr turns S3's errors into the io/fs sentinels.
func mapErr(name string, err error) error {
	if err == nil {
		return nil
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchKey", "NotFound":
			return fmt.Errorf("%q: %w", name, fs.ErrNotExist)
		case "PreconditionFailed", "ConditionalRequestConflict":
			return fmt.Errorf("%q: %w", name, fs.ErrExist)
		case "ObjectParentIsFile", "ExistingObjectIsDirectory":
			// S3 gateways on a file system (versitygw's posix backend)
			// cannot hold "a" and "a/b" at once, as local disk cannot.
			return fmt.Errorf("%q: %w: %s", name, fs.ErrExist, ae.ErrorMessage())
		}
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		switch re.HTTPStatusCode() {
		case http.StatusNotFound:
			return fmt.Errorf("%q: %w", name, fs.ErrNotExist)
		case http.StatusPreconditionFailed:
			return fmt.Errorf("%q: %w", name, fs.ErrExist)
		}
	}
	return err
}

// isPreconditionFailed: S3's answer to an If-Match (or If-None-Match)
// that did not hold.
func isPreconditionFailed(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "PreconditionFailed" {
		return true
	}
	var re *awshttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == http.StatusPreconditionFailed
}

// Metadata. S3 sends user metadata as HTTP headers: keys come back
// lower-case (the portable layer lower-cases them already) and values
// must be printable ASCII, so other values travel as RFC 2047 encoded
// words, as S3 itself returns them. The SHA-256 rides as metadata
// "filestore-sha256" (hex).
const shaKey = "filestore-sha256"

func encodeMeta(m map[string]string, sum []byte) map[string]string {
	out := make(map[string]string, len(m)+1)
	for k, v := range m {
		if needsEncoding(v) {
			v = mime.BEncoding.Encode("utf-8", v)
		}
		out[k] = v
	}
	if sum != nil {
		out[shaKey] = fmt.Sprintf("%x", sum)
	}
	return out
}

func needsEncoding(v string) bool {
	if strings.HasPrefix(v, "=?") || strings.TrimSpace(v) != v {
		return true
	}
	for _, r := range v {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) {
			return true
		}
	}
	return false
}

var wordDecoder mime.WordDecoder

// decodeMeta splits S3's metadata into the user's and the SHA-256.
func decodeMeta(m map[string]string) (map[string]string, []byte) {
	var sum []byte
	var out map[string]string
	for k, v := range m {
		k = strings.ToLower(k)
		if k == shaKey {
			sum, _ = hexDecode(v)
			continue
		}
		if strings.HasPrefix(v, "=?") {
			if d, err := wordDecoder.DecodeHeader(v); err == nil {
				v = d
			}
		}
		if out == nil {
			out = map[string]string{}
		}
		out[k] = v
	}
	return out, sum
}
