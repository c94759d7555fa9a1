//go:build !unix

package localstore

import "os"

// oNonblock and oDirectory are nothing where there are no FIFOs; openDir
// checks that what it opened is a directory.
const (
	oNonblock  = 0
	oDirectory = 0
)

// syncDir does nothing: Windows has no fsync of a directory opened for
// reading (FlushFileBuffers wants write access), nor do the others here.
func syncDir(*os.File) error { return nil }
