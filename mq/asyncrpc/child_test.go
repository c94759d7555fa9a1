package asyncrpc_test

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

type childServer struct {
	cmd *exec.Cmd
	url string
}

// startChild re-executes the test binary as a server process (runChild).
func startChild(t *testing.T, mqURL, redisAddr string) *childServer {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1", "CHILD_MQ_URL="+mqURL, "CHILD_REDIS_ADDR="+redisAddr)
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "http://") {
		t.Fatalf("child: %q, %v", line, err)
	}
	return &childServer{cmd: cmd, url: strings.TrimSpace(line)}
}

func (c *childServer) kill() {
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	_ = c.cmd.Wait()
}
