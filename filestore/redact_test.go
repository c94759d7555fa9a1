package filestore_test

import (
	"strings"
	"testing"

	"github.com/groundwork-go/groundwork/filestore"
)

// TestOpenErrorsHideSecrets: a secret in a URL, in its userinfo or in a
// query parameter whose name says it holds one (secret_key,
// security_token, password...), never appears in an Open error, whichever
// step fails: the URL lacking a scheme, a bad option, the backend
// refusing the URL.
func TestOpenErrorsHideSecrets(t *testing.T) {
	const secret = "S3CR3T"
	dir := t.TempDir()
	for _, c := range []struct {
		what string
		url  string
		opts []filestore.Option
	}{
		{"no scheme", "//host/dir?secret_key=" + secret, nil},
		{"a bad option", "mem://?secret_key=" + secret, []filestore.Option{filestore.WithBufferSize(1)}},
		{"mem:// with parameters", "mem://?security_token=" + secret, nil},
		{"a local directory's unknown parameter", "file://" + dir + "?Password=" + secret, nil},
		{"an escaped name", "s3://bucket?secret%5Fkey=" + secret + "&region=eu", nil},
		{"userinfo", "s3://AK:" + secret + "@bucket?regoin=eu", nil},
	} {
		_, err := filestore.Open(ctx, c.url, c.opts...)
		if err == nil {
			t.Errorf("%s: Open(%s) = nil error, want one", c.what, c.url)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: Open error quotes the secret: %v", c.what, err)
		}
	}
}
