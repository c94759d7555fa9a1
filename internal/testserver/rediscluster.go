package testserver

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisCluster is a 3-master Redis Cluster (no replicas) started for a
// test, or the cluster named by GROUNDWORK_REDIS_CLUSTER_ADDRS.
type RedisCluster struct {
	// Addrs are the masters' host:port addresses.
	Addrs []string

	procs []*os.Process // nil for a cluster named by the environment
}

// Outage pauses every node (SIGSTOP) until restore is called. It fails the
// test for a cluster this package did not start.
func (rc *RedisCluster) Outage(t testing.TB) (restore func()) {
	t.Helper()
	if rc.procs == nil {
		t.Fatal("testserver: cannot pause a Redis Cluster named by GROUNDWORK_REDIS_CLUSTER_ADDRS")
	}
	for _, p := range rc.procs {
		_ = pause(p)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			for _, p := range rc.procs {
				_ = resume(p)
			}
		})
	}
}

// StartRedisCluster returns GROUNDWORK_REDIS_CLUSTER_ADDRS (comma-separated)
// when set, else starts three redis-server instances in cluster mode,
// joins them with redis-cli --cluster create, waits for cluster_state:ok,
// and stops them when t ends.
func StartRedisCluster(t testing.TB) *RedisCluster {
	t.Helper()
	if a := os.Getenv("GROUNDWORK_REDIS_CLUSTER_ADDRS"); a != "" {
		return &RedisCluster{Addrs: strings.Split(a, ",")}
	}
	server, err := exec.LookPath("redis-server")
	if err != nil {
		Unavailable(t, "redis-server is not installed (apt-get install redis-server): %v", err)
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		Unavailable(t, "redis-cli is not installed (apt-get install redis-tools): %v", err)
	}
	dir := t.TempDir()
	rc := &RedisCluster{}
	for i := range 3 {
		port := FreePort(t)
		node := filepath.Join(dir, strconv.Itoa(i))
		if err := os.MkdirAll(node, 0o700); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(server, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000",
			"--dir", node, "--logfile", filepath.Join(node, "redis.log"))
		cmd.SysProcAttr = ownProcessGroup()
		if err := cmd.Start(); err != nil {
			t.Fatalf("testserver: start cluster node: %v", err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		if err := waitPing(addr); err != nil {
			t.Fatalf("testserver: cluster node %s: %v", addr, err)
		}
		rc.Addrs = append(rc.Addrs, addr)
		rc.procs = append(rc.procs, cmd.Process)
	}
	args := append([]string{"--cluster", "create"}, rc.Addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("testserver: redis-cli --cluster create: %v\n%s", err, out)
	}
	// Every node must see the cluster as ok: the first to do so may
	// still be alone in that view, and the others answer CLUSTERDOWN.
	deadline := time.Now().Add(time.Minute)
	for _, addr := range rc.Addrs {
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		for {
			info, err := rdb.ClusterInfo(context.Background()).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				rdb.Close()
				t.Fatalf("testserver: cluster node %s never reached cluster_state:ok: %v\n%s", addr, err, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
		rdb.Close()
	}
	return rc
}
