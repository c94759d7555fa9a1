package testserver

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// VictoriaLogs is a running VictoriaLogs: a real log store that speaks the
// Elasticsearch _bulk API (it keeps no _index or _id, and has no
// templates, ILM or Elasticsearch search: those need an in-process
// double), read back with LogsQL.
type VictoriaLogs struct {
	// URL is its base URL, http://127.0.0.1:port.
	URL string
	cmd *exec.Cmd
}

// BulkURL is the Elasticsearch bulk endpoint, with message and
// @timestamp as VictoriaLogs' message and time fields (ECS names).
func (v *VictoriaLogs) BulkURL() string {
	return v.URL + "/insert/elasticsearch/_bulk?_msg_field=message&_time_field=@timestamp"
}

// QueryURL is the LogsQL query endpoint: POST query=<LogsQL>.
func (v *VictoriaLogs) QueryURL() string { return v.URL + "/select/logsql/query" }

// StartVictoriaLogs starts victoria-logs on a free loopback port over a
// fresh directory and stops it when t ends.
func StartVictoriaLogs(t testing.TB) *VictoriaLogs {
	t.Helper()
	bin, err := ToolPath("victoria-logs")
	if err != nil {
		Unavailable(t, "victoria-logs is not installed (scripts/test installs it: go install github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs@v1.52.1): %v", err)
	}
	dir, err := os.MkdirTemp("", "groundwork-vlogs-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	port := FreePort(t)
	v := &VictoriaLogs{URL: fmt.Sprintf("http://127.0.0.1:%d", port)}
	v.cmd = exec.Command(bin, fmt.Sprintf("-httpListenAddr=127.0.0.1:%d", port), "-storageDataPath="+filepath.Join(dir, "data"))
	v.cmd.SysProcAttr = ownProcessGroup()
	logf, err := os.Create(filepath.Join(dir, "victoria-logs.log"))
	if err != nil {
		t.Fatal(err)
	}
	v.cmd.Stdout, v.cmd.Stderr = logf, logf
	if err := v.cmd.Start(); err != nil {
		t.Fatalf("testserver: start victoria-logs: %v", err)
	}
	t.Cleanup(func() {
		_ = v.cmd.Process.Kill()
		_ = v.cmd.Wait()
		logf.Close()
	})
	// Ready when /health answers (it listens a moment before it can
	// ingest).
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get(v.URL + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return v
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logf.Name())
			t.Fatalf("testserver: victoria-logs not healthy within 30s: %v\n%s", err, tail(string(log)))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill stops the store with SIGKILL: connections are refused from then on.
func (v *VictoriaLogs) Kill() { _ = v.cmd.Process.Kill() }
