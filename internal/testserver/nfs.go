//go:build linux

package testserver

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmware/go-nfs-client/nfs"
)

// NFS runs here as nfs-ganesha (user space: the kernel has no nfsd) with
// rpcbind, inside a private network namespace that has only a loopback
// interface: Debian's rpcbind cannot be bound to loopback alone, and
// vmware/go-nfs-client always asks the portmapper on port 111, so the
// client must share the namespace. InNetns re-executes the calling test
// inside such a namespace; StartNFS, called there, starts ganesha.

const netnsEnv = "GROUNDWORK_NETNS"

// InNetns runs the calling test in a fresh network namespace with rpcbind
// running in it: the test binary is re-executed there for this test alone
// and its outcome relayed. It returns true in the parent, which must then
// return, and false inside the namespace, where the test's body runs. It
// needs root and iproute2's ip; a missing one is Unavailable.
func InNetns(t *testing.T) bool {
	t.Helper()
	if os.Getenv(netnsEnv) != "" {
		return false
	}
	ip, err := exec.LookPath("ip")
	if err != nil || os.Geteuid() != 0 {
		Unavailable(t, "NFS tests run in a network namespace: they need root and iproute2 (ip): euid %d, %v", os.Geteuid(), err)
	}
	rpcbind, err := exec.LookPath("rpcbind")
	if err != nil {
		Unavailable(t, "rpcbind is not installed (apt-get install rpcbind nfs-ganesha nfs-ganesha-vfs): %v", err)
	}
	// rpcbind's lock and socket are files (/run/rpcbind.*), shared by all
	// namespaces: one rpcbind at a time on this host, so one NFS test at a
	// time across processes (go test runs packages in parallel).
	lock, err := os.OpenFile(filepath.Join(os.TempDir(), "groundwork-nfs.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lock.Close() }) // releases the lock, after the cleanups below (LIFO)
	ns := fmt.Sprintf("groundwork-%d-%d", os.Getpid(), time.Now().UnixNano()%1e6)
	// A run killed outright (go test's timeout) leaves its rpcbind, which
	// drops privileges and so outlives its parent: with the lock ours, the
	// one recorded is such a leftover.
	state := lock.Name() + ".last"
	if last, err := os.ReadFile(state); err == nil {
		var pid int
		var lastNS string
		if _, err := fmt.Sscan(string(last), &pid, &lastNS); err == nil {
			if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.TrimSpace(string(comm)) == "rpcbind" {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			_ = exec.Command(ip, "netns", "del", lastNS).Run()
		}
	}
	run := func(args ...string) {
		if out, err := exec.Command(ip, args...).CombinedOutput(); err != nil {
			t.Fatalf("testserver: ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("netns", "add", ns)
	t.Cleanup(func() { _ = exec.Command(ip, "netns", "del", ns).Run() })
	run("netns", "exec", ns, "ip", "link", "set", "lo", "up")
	rbLog, err := os.CreateTemp("", "groundwork-rpcbind-*.log")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rbLog.Close(); os.Remove(rbLog.Name()) })
	rb := exec.Command(ip, "netns", "exec", ns, rpcbind, "-f")
	rb.Stdout, rb.Stderr = rbLog, rbLog
	rb.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := rb.Start(); err != nil {
		t.Fatalf("testserver: rpcbind: %v", err)
	}
	_ = os.WriteFile(state, fmt.Appendf(nil, "%d %s\n", rb.Process.Pid, ns), 0o600)
	t.Cleanup(func() {
		_ = syscall.Kill(-rb.Process.Pid, syscall.SIGKILL)
		_ = rb.Wait()
	})
	cmd := exec.Command(ip, "netns", "exec", ns, os.Args[0], "-test.run=^"+regexp.QuoteMeta(t.Name())+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), netnsEnv+"="+ns)
	// If this process dies (go test's timeout), the child and what it
	// started must not outlive it holding the host's one rpcbind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.CombinedOutput()
	t.Logf("run in network namespace %s:\n%s", ns, out)
	switch {
	case err != nil:
		// rpcbind's socket and lock are files (/run/rpcbind.*), shared with
		// the host: an rpcbind running there keeps this one from starting.
		log, _ := os.ReadFile(rbLog.Name())
		t.Fatalf("%s in its network namespace failed: %v\nrpcbind said: %s", t.Name(), err, log)
	case strings.Contains(string(out), "--- SKIP: "+t.Name()):
		t.Skip("skipped in its network namespace")
	case !strings.Contains(string(out), "--- PASS: "+t.Name()):
		t.Fatalf("%s in its network namespace did not report a pass", t.Name())
	}
	return true
}

// NFS is a running nfs-ganesha exporting one directory over NFSv3/TCP.
type NFS struct {
	// Host is the server's address for clients in the namespace.
	Host string
	// Export is the exported directory: the path clients mount, and the
	// files on the server's disk.
	Export string
	cmd    *exec.Cmd
}

// StartNFS starts ganesha in the current network namespace (see
// InNetns), exporting a fresh directory read-write without root
// squashing, and stops it when t ends.
func StartNFS(t *testing.T) *NFS { return StartNFSB(t) }

// StartNFSB is StartNFS for benchmarks (run through scripts/netns-run).
func StartNFSB(t testing.TB) *NFS {
	t.Helper()
	if os.Getenv(netnsEnv) == "" {
		t.Fatal("testserver: StartNFS outside a network namespace: call InNetns first")
	}
	bin, err := exec.LookPath("ganesha.nfsd")
	if err != nil {
		Unavailable(t, "nfs-ganesha is not installed (apt-get install nfs-ganesha nfs-ganesha-vfs): %v", err)
	}
	dir, err := os.MkdirTemp("", "groundwork-nfs-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	export := filepath.Join(dir, "export")
	for _, d := range []string{export, filepath.Join(dir, "recov")} {
		if err := os.Mkdir(d, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	conf := fmt.Sprintf(`NFS_CORE_PARAM { Protocols = 3; NFS_Port = 2049; MNT_Port = 20048; Enable_NLM = false; Enable_RQUOTA = false; }
NFSv4 { Graceless = true; RecoveryRoot = %[1]s/recov; }
EXPORT { Export_Id = 1; Path = %[2]s; Pseudo = %[2]s; Access_Type = RW; Squash = No_Root_Squash;
         Protocols = 3; Transports = TCP; SecType = sys; FSAL { Name = VFS; } }
`, dir, export)
	if err := os.WriteFile(filepath.Join(dir, "ganesha.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	// ganesha registers with rpcbind as it starts: rpcbind must be up.
	if err := waitListening("127.0.0.1:111"); err != nil {
		t.Fatalf("testserver: rpcbind in the namespace: %v", err)
	}
	n := &NFS{Host: "127.0.0.1", Export: export}
	n.cmd = exec.Command(bin, "-F", "-L", filepath.Join(dir, "ganesha.log"), "-f", filepath.Join(dir, "ganesha.conf"),
		"-p", filepath.Join(dir, "ganesha.pid"))
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("testserver: ganesha: %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
		_ = n.cmd.Wait()
	})
	if err := waitListening("127.0.0.1:2049"); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "ganesha.log"))
		t.Fatalf("testserver: ganesha: %v\n%s", err, tail(string(log)))
	}
	// Listening is not ready: clients find the mount service through
	// rpcbind, where ganesha registers it a moment later.
	deadline := time.Now().Add(30 * time.Second)
	for {
		m, err := nfs.DialMount(n.Host)
		if err == nil {
			m.Close()
			return n
		}
		if time.Now().After(deadline) {
			t.Fatalf("testserver: ganesha's mount service not registered with rpcbind within 30s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitListening waits up to 30 s for addr to accept connections.
func waitListening(addr string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not listening within 30s: %w", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Pause stops ganesha with SIGSTOP and returns once every one of its
// threads has stopped (a thread busy on another core would otherwise
// still answer a request or two); Resume continues it.
func (n *NFS) Pause() {
	_ = n.cmd.Process.Signal(syscall.SIGSTOP)
	waitStopped(n.cmd.Process.Pid)
}

// waitStopped waits (up to 10 s) until every thread of pid is stopped.
func waitStopped(pid int) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		stats, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
		stopped := len(stats) > 0
		for _, p := range stats {
			data, err := os.ReadFile(p)
			// the state follows the ")" that ends the command name
			if i := strings.LastIndexByte(string(data), ')'); err != nil || i < 0 || i+2 >= len(data) || (data[i+2] != 'T' && data[i+2] != 't') {
				stopped = false
				break
			}
		}
		if stopped {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// Resume continues a paused ganesha.
func (n *NFS) Resume() { _ = n.cmd.Process.Signal(syscall.SIGCONT) }
