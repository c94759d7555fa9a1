package s3store_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/filestore"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

// TestInterop: objects s3store writes (single PUT and multipart) are
// read back byte for byte by Debian's rclone and s3cmd, and objects they
// write are read by s3store.
func TestInterop(t *testing.T) {
	gw := gateway(t)
	ctx := context.Background()
	s, err := filestore.Open(ctx, gw.URL(bucket, ""))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	dir := t.TempDir()
	small, large := random(t, 100_000), random(t, 12<<20)
	for name, data := range map[string][]byte{"gw/small.bin": small, "gw/large.bin": large} {
		if _, err := s.Put(ctx, name, bytes.NewReader(data), nil); err != nil {
			t.Fatal(err)
		}
	}

	rclone := tool(t, "rclone")
	// rclone's SDK fails on a custom CA bundle with its own transport;
	// the gateway is plain HTTP anyway.
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "AWS_CA_BUNDLE=") })
	rcloneEnv := append(env, "RCLONE_CONFIG=/dev/null", "RCLONE_CONFIG_GW_TYPE=s3", "RCLONE_CONFIG_GW_PROVIDER=Other",
		"RCLONE_CONFIG_GW_ACCESS_KEY_ID="+gw.AccessKey, "RCLONE_CONFIG_GW_SECRET_ACCESS_KEY="+gw.SecretKey,
		"RCLONE_CONFIG_GW_ENDPOINT="+gw.Endpoint, "RCLONE_CONFIG_GW_REGION=us-east-1", "RCLONE_CONFIG_GW_FORCE_PATH_STYLE=true",
		"RCLONE_CONFIG_GW_NO_CHECK_BUCKET=true", "RCLONE_RETRIES=1", "RCLONE_LOW_LEVEL_RETRIES=1")
	run := func(env []string, name string, args ...string) {
		t.Helper()
		cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(cctx, name, args...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
	}
	s3cmd := tool(t, "s3cmd")
	cfg := filepath.Join(dir, "s3cfg")
	host := strings.TrimPrefix(gw.Endpoint, "http://")
	if err := os.WriteFile(cfg, []byte("[default]\naccess_key = "+gw.AccessKey+"\nsecret_key = "+gw.SecretKey+
		"\nhost_base = "+host+"\nhost_bucket = "+host+"\nuse_https = False\nsignature_v2 = False\nbucket_location = us-east-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	// Theirs read ours.
	for name, data := range map[string][]byte{"gw/small.bin": small, "gw/large.bin": large} {
		viaRclone := filepath.Join(dir, "rclone-"+filepath.Base(name))
		run(rcloneEnv, rclone, "copyto", "gw:"+bucket+"/"+name, viaRclone)
		viaS3cmd := filepath.Join(dir, "s3cmd-"+filepath.Base(name))
		run(os.Environ(), s3cmd, "-c", cfg, "get", "s3://"+bucket+"/"+name, viaS3cmd)
		for _, f := range []string{viaRclone, viaS3cmd} {
			if got, err := os.ReadFile(f); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("%s: %d bytes, %v; want the %d bytes s3store wrote", f, len(got), err, len(data))
			}
		}
	}
	// Ours read theirs.
	src := filepath.Join(dir, "theirs.bin")
	if err := os.WriteFile(src, large, 0o644); err != nil {
		t.Fatal(err)
	}
	run(rcloneEnv, rclone, "copyto", src, "gw:"+bucket+"/rclone/large.bin")
	run(os.Environ(), s3cmd, "-c", cfg, "put", src, "s3://"+bucket+"/s3cmd/large.bin")
	for _, name := range []string{"rclone/large.bin", "s3cmd/large.bin"} {
		r, err := s.Open(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(got, large) {
			t.Fatalf("%s read by s3store: %d bytes, %v", name, len(got), err)
		}
		if st, err := s.Stat(ctx, name); err != nil || st.Size != int64(len(large)) || st.SHA256 != nil {
			t.Fatalf("Stat of a foreign object: %+v %v (want no SHA-256: none was stored)", st, err)
		}
	}
}

func tool(t *testing.T, name string) string {
	p, err := exec.LookPath(name)
	if err != nil {
		testserver.Unavailable(t, "%s is not installed (apt-get install %s): %v", name, name, err)
	}
	return p
}

func random(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}
