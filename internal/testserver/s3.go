package testserver

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// S3 is a running versitygw: a real S3 gateway on a posix directory, with
// signatures enforced.
type S3 struct {
	// Endpoint is its URL, http://127.0.0.1:port.
	Endpoint string
	// AccessKey and SecretKey are the only credentials it accepts.
	AccessKey, SecretKey string
	// Root is the directory holding the buckets: bucket B is Root/B.
	Root string
	cmd  *exec.Cmd
}

// ToolPath finds a tool installed by scripts/test: in $GROUNDWORK_TOOLS,
// ~/.cache/groundwork-tools, or on PATH.
func ToolPath(name string) (string, error) {
	dirs := []string{os.Getenv("GROUNDWORK_TOOLS")}
	if c, err := os.UserCacheDir(); err == nil {
		dirs = append(dirs, filepath.Join(c, "groundwork-tools"))
	}
	for _, d := range dirs {
		if d == "" {
			continue
		}
		if p := filepath.Join(d, name); isExecutable(p) {
			return p, nil
		}
	}
	return exec.LookPath(name)
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

// StartS3 starts versitygw on a free loopback port over a fresh directory,
// with the buckets named (directories under Root), and stops it when t
// ends.
func StartS3(t testing.TB, buckets ...string) *S3 {
	t.Helper()
	bin, err := ToolPath("versitygw")
	if err != nil {
		Unavailable(t, "versitygw is not installed (scripts/test installs it: go install github.com/versity/versitygw/cmd/versitygw@v1.8.0): %v", err)
	}
	root, err := os.MkdirTemp("", "groundwork-s3-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	for _, b := range buckets {
		if err := os.Mkdir(filepath.Join(root, b), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	port := FreePort(t)
	s := &S3{Endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), AccessKey: "groundwork", SecretKey: "groundwork-secret", Root: root}
	s.cmd = exec.Command(bin, "--access", s.AccessKey, "--secret", s.SecretKey, "--port", fmt.Sprintf("127.0.0.1:%d", port), "posix", root)
	s.cmd.SysProcAttr = ownProcessGroup()
	logf, err := os.Create(filepath.Join(root, "versitygw.log"))
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("testserver: start versitygw: %v", err)
	}
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		logf.Close()
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
			return s
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logf.Name())
			t.Fatalf("testserver: versitygw did not listen within 30s: %v\n%s", err, tail(string(log)))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Pause stops the gateway with SIGSTOP: it keeps its socket but answers
// nothing until Resume.
func (s *S3) Pause() { _ = pause(s.cmd.Process) }

// Resume continues a paused gateway.
func (s *S3) Resume() { _ = resume(s.cmd.Process) }

// Kill stops the gateway with SIGKILL: connections are refused from then
// on.
func (s *S3) Kill() {
	_ = s.cmd.Process.Kill()
}

// UseCredentials points the AWS SDK's default chain at the gateway's keys
// for the rest of t, through the environment (as a deployment would), and
// keeps it off the machine's own AWS configuration.
func (s *S3) UseCredentials(t testing.TB) {
	t.Setenv("AWS_ACCESS_KEY_ID", s.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s.SecretKey)
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
}

// URL is the filestore URL of bucket (under prefix, if any) on the
// gateway.
func (s *S3) URL(bucket, prefix string) string {
	q := url.Values{"endpoint": {s.Endpoint}, "region": {"us-east-1"}, "path_style": {"true"}}
	u := url.URL{Scheme: "s3", Host: bucket, Path: "/" + prefix, RawQuery: q.Encode()}
	return u.String()
}
