package testserver

import (
	"errors"
	"os"
	"syscall"
)

// The servers this package starts are Linux and macOS binaries; on
// Windows it compiles, so that the packages whose tests use it vet and
// build there, but cannot pause a process.

var errNoPause = errors.New("testserver: pausing a process is not supported on Windows")

func ownProcessGroup() *syscall.SysProcAttr { return nil }

func pause(*os.Process) error { return errNoPause }

func resume(*os.Process) error { return errNoPause }
