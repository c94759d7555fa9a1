package filestore

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"strings"
	"unicode/utf8"
)

// checkText refuses what some metadata store cannot keep: text that is
// not UTF-8 (PostgreSQL's text refuses it; JSON silently replaces it) or
// that holds NUL (PostgreSQL's text and jsonb refuse it). The Service
// checks before it stores anything, so that no upload fails at the end,
// after its parts were sent.
func checkText(field, s string) error {
	switch {
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: %s %q is not UTF-8", fs.ErrInvalid, field, s)
	case strings.IndexByte(s, 0) >= 0:
		return fmt.Errorf("%w: %s %q contains NUL", fs.ErrInvalid, field, s)
	}
	return nil
}

func (o *UploadOptions) check() error {
	if o.Name == "" {
		return fmt.Errorf("%w: UploadOptions.Name is empty", fs.ErrInvalid)
	}
	if err := o.checkText("UploadOptions."); err != nil {
		return err
	}
	switch {
	case o.Size < 0:
		return fmt.Errorf("%w: UploadOptions.Size %d is negative", fs.ErrInvalid, o.Size)
	case o.SHA256 != nil && len(o.SHA256) != sha256.Size:
		return fmt.Errorf("%w: UploadOptions.SHA256 has %d bytes, want %d", fs.ErrInvalid, len(o.SHA256), sha256.Size)
	}
	if err := o.Priority.valid(); err != nil {
		return fmt.Errorf("%w: UploadOptions.Priority: %v", fs.ErrInvalid, err)
	}
	if _, err := normalizeMetadata(o.Metadata); err != nil {
		return fmt.Errorf("UploadOptions.Metadata: %w", err)
	}
	return nil
}

// checkText checks the options' text fields, naming each with prefix.
func (o *UploadOptions) checkText(prefix string) error {
	for _, f := range []struct{ name, v string }{{"Name", o.Name}, {"ContentType", o.ContentType}, {"Owner", o.Owner},
		{"Priority", string(o.Priority)}} {
		if err := checkText(prefix+f.name, f.v); err != nil {
			return err
		}
	}
	for k, v := range o.Metadata {
		if err := checkText(prefix+"Metadata key", k); err != nil {
			return err
		}
		if err := checkText(fmt.Sprintf("%sMetadata[%q]", prefix, k), v); err != nil {
			return err
		}
	}
	return nil
}

// Validate reports, as fs.ErrInvalid naming the field, text in f that a
// MetadataStore may not keep: not UTF-8, or holding NUL. Every
// MetadataStore refuses such a record, so that all of them keep the same
// records; the Service never makes one.
func (f *FileRecord) Validate() error {
	for _, t := range []struct{ name, v string }{{"ID", f.ID}, {"Name", f.Name}, {"ContentType", f.ContentType},
		{"Backend", f.Backend}, {"Path", f.Path}, {"Owner", f.Owner}, {"State", string(f.State)}} {
		if err := checkText("FileRecord."+t.name, t.v); err != nil {
			return err
		}
	}
	return nil
}

// Validate is FileRecord.Validate for an upload's record, its options
// included.
func (u *UploadRecord) Validate() error {
	for _, t := range []struct{ name, v string }{{"ID", u.ID}, {"Backend", u.Backend}, {"Path", u.Path}, {"Native", u.Native}} {
		if err := checkText("UploadRecord."+t.name, t.v); err != nil {
			return err
		}
	}
	return u.Options.checkText("UploadRecord.Options.")
}
