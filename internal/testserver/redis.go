package testserver

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a redis-server process started for a test.
type Redis struct {
	// Addr is host:port.
	Addr string
	// URL is redis://Addr/0.
	URL string

	cmd  *exec.Cmd
	bin  string
	args []string
	dir  string
}

// RedisOptions tunes StartRedis.
type RedisOptions struct {
	// AppendOnly turns AOF on (appendfsync everysec) for tests that
	// restart the server and expect their data back.
	AppendOnly bool
	// FsyncAlways, with AppendOnly, fsyncs the AOF before every reply
	// (appendfsync always): what survives a machine's crash, not only
	// the process's.
	FsyncAlways bool
}

// RedisURL returns GROUNDWORK_REDIS_URL when set, else the URL of a fresh
// redis-server started for t.
func RedisURL(t testing.TB) string {
	t.Helper()
	if u := os.Getenv("GROUNDWORK_REDIS_URL"); u != "" {
		return u
	}
	return StartRedis(t, nil).URL
}

// StartRedis starts redis-server on a free loopback port, waits until it
// answers PING, and stops it when t ends.
func StartRedis(t testing.TB, o *RedisOptions) *Redis {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		Unavailable(t, "redis-server is not installed (apt-get install redis-server): %v", err)
	}
	dir, err := os.MkdirTemp("", "groundwork-redis-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	port := FreePort(t)
	args := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--dir", dir,
		"--logfile", filepath.Join(dir, "redis.log"), "--daemonize", "no"}
	switch {
	case o != nil && o.AppendOnly && o.FsyncAlways:
		args = append(args, "--appendonly", "yes", "--appendfsync", "always")
	case o != nil && o.AppendOnly:
		args = append(args, "--appendonly", "yes", "--appendfsync", "everysec")
	default:
		args = append(args, "--appendonly", "no")
	}
	r := &Redis{Addr: fmt.Sprintf("127.0.0.1:%d", port), bin: bin, args: args, dir: dir}
	r.URL = "redis://" + r.Addr + "/0"
	if err := r.start(); err != nil {
		t.Fatalf("testserver: %v", err)
	}
	t.Cleanup(r.stop)
	return r
}

func (r *Redis) start() error {
	r.cmd = exec.Command(r.bin, r.args...)
	// Its own process group, so that a signal to the test never reaches it.
	r.cmd.SysProcAttr = ownProcessGroup()
	if err := r.cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	if err := waitPing(r.Addr); err != nil {
		log, _ := os.ReadFile(filepath.Join(r.dir, "redis.log"))
		r.stop()
		return fmt.Errorf("redis-server on %s never answered: %v\n%s", r.Addr, err, tail(string(log)))
	}
	return nil
}

func (r *Redis) stop() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

// Stop shuts the server down cleanly (SIGTERM): with AppendOnly, every
// write it acknowledged is in the AOF when Stop returns.
func (r *Redis) Stop() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	_ = r.cmd.Wait()
	r.cmd = nil
}

// Kill stops the server with SIGKILL, as a crash would.
func (r *Redis) Kill() { r.stop() }

// Restart starts the server again on the same port and directory (with
// AppendOnly, the data comes back from the AOF).
func (r *Redis) Restart(t testing.TB) {
	t.Helper()
	if err := r.start(); err != nil {
		t.Fatalf("testserver: restart: %v", err)
	}
}

// Pause stops the server with SIGSTOP: it keeps its sockets but answers
// nothing.
func (r *Redis) Pause() { _ = pause(r.cmd.Process) }

// Resume continues a paused server.
func (r *Redis) Resume() { _ = resume(r.cmd.Process) }

func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return strings.Join(lines, "\n")
}

// waitPing waits, up to 30s, until the server at addr answers PING.
func waitPing(addr string) error {
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer rdb.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := rdb.Ping(context.Background()).Err()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
}
