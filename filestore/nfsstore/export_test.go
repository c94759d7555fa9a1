package nfsstore

// SetAfterLookup runs f between a reader's LOOKUP and its first READ
// (nil: nothing), so that tests replace the file right there.
func SetAfterLookup(f func()) { afterLookup = f }
