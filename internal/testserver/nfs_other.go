//go:build !linux

package testserver

import "testing"

// NFS tests need Linux network namespaces (see nfs.go); elsewhere they
// are Unavailable.

// NFS is a running nfs-ganesha exporting one directory over NFSv3/TCP.
type NFS struct {
	// Host is the server's address for clients in the namespace.
	Host string
	// Export is the exported directory.
	Export string
}

// InNetns is Unavailable: network namespaces are Linux only.
func InNetns(t *testing.T) bool {
	t.Helper()
	Unavailable(t, "NFS tests run in a Linux network namespace")
	return true
}

// StartNFS is Unavailable: see InNetns.
func StartNFS(t *testing.T) *NFS { return StartNFSB(t) }

// StartNFSB is Unavailable: see InNetns.
func StartNFSB(t testing.TB) *NFS {
	t.Helper()
	Unavailable(t, "NFS tests run in a Linux network namespace")
	return nil
}

// Pause does nothing: no NFS server runs here.
func (n *NFS) Pause() {}

// Resume does nothing: no NFS server runs here.
func (n *NFS) Resume() {}
