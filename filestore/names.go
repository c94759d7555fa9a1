package filestore

import (
	crand "crypto/rand"
	"encoding/hex"
	"strings"
)

func newFileID() string {
	var b [16]byte
	_, _ = crand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// DefaultNamespace is ServiceOptions.Namespace's default.
const DefaultNamespace = "filestore/"

// The Service's names in each backend, under its namespace:
// files/<2 hex>/<id> for files, uploads/<id>/<part> for the parts of a
// resumable upload.
const (
	filesDir   = "files/"
	uploadsDir = "uploads/"
)

// objectPath is where the file id is stored.
func (svc *Service) objectPath(id string) string {
	return svc.o.Namespace + filesDir + id[:2] + "/" + id
}

// partsDir is where the parts of the upload rec are stored: in the
// namespace of its file's path, where they began even if
// ServiceOptions.Namespace changed since.
func partsDir(rec *UploadRecord) string {
	ns := rec.Path
	if len(rec.ID) >= 2 {
		ns = strings.TrimSuffix(rec.Path, filesDir+rec.ID[:2]+"/"+rec.ID)
	}
	return ns + uploadsDir + rec.ID + "/"
}

// validID reports whether id is one newFileID makes: 32 lower-case hex
// digits.
func validID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for i := range len(id) {
		if c := id[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
