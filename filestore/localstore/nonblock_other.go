//go:build !unix

package localstore

// oNonblock is nothing where there are no FIFOs.
const oNonblock = 0
