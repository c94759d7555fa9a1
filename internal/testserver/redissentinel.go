package testserver

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// RedisSentinel is a Redis master watched by one Sentinel: enough for a
// go-redis FailoverClient to find its master the way it does in
// production (it asks the Sentinel, then connects to the master).
type RedisSentinel struct {
	Master *Redis
	// Addrs are the Sentinels' host:port, for FailoverOptions.SentinelAddrs.
	Addrs []string
	// MasterName is the name the Sentinel monitors, for
	// FailoverOptions.MasterName.
	MasterName string
}

// StartRedisSentinel starts a redis-server master and a Sentinel
// (redis-server --sentinel) monitoring it; both stop when t ends.
func StartRedisSentinel(t testing.TB) *RedisSentinel {
	t.Helper()
	master := StartRedis(t, nil)
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		Unavailable(t, "redis-server is not installed (apt-get install redis-server): %v", err)
	}
	dir, err := os.MkdirTemp("", "groundwork-sentinel-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	port := FreePort(t)
	// A Sentinel rewrites its configuration file, so it gets one of its
	// own; the directives cannot be given on the command line alone.
	conf := filepath.Join(dir, "sentinel.conf")
	body := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nlogfile %s\nsentinel monitor gw %s 1\n",
		port, dir, filepath.Join(dir, "redis.log"), spaceAddr(master.Addr))
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &Redis{Addr: "127.0.0.1:" + strconv.Itoa(port), bin: bin, args: []string{conf, "--sentinel"}, dir: dir}
	if err := s.start(); err != nil {
		t.Fatalf("testserver: sentinel: %v", err)
	}
	t.Cleanup(s.stop)
	return &RedisSentinel{Master: master, Addrs: []string{s.Addr}, MasterName: "gw"}
}

// spaceAddr turns host:port into "host port", as sentinel monitor wants.
func spaceAddr(addr string) string {
	host, port := addr, ""
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			host, port = addr[:i], addr[i+1:]
			break
		}
	}
	return host + " " + port
}
