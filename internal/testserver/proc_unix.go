//go:build !windows

package testserver

import (
	"os"
	"syscall"
)

// ownProcessGroup puts a server in a process group of its own, so that a
// signal to the test's group (^C) does not reach it before its cleanup.
func ownProcessGroup() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// pause stops p (SIGSTOP): it keeps its sockets but answers nothing.
func pause(p *os.Process) error { return p.Signal(syscall.SIGSTOP) }

// resume continues a paused p (SIGCONT).
func resume(p *os.Process) error { return p.Signal(syscall.SIGCONT) }
