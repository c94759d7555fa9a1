package filestore

import (
	"context"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"sync"
	"time"
)

// FileState is where a file's row is in its life: a row is written
// (pending) before its object, and marked ready only once the object is
// whole; a delete marks it deleting before removing the object. Only
// ready files are visible; Service.Cleanup finishes or undoes the rest.
// A row moves by compare-and-set (MetadataStore.UpdateFile) and only
// forward (CanBecome): a ready file never becomes pending again.
type FileState string

// File states.
const (
	FilePending  FileState = "pending"
	FileReady    FileState = "ready"
	FileDeleting FileState = "deleting"
)

// CanBecome reports whether a record may move from state s to state to:
// pending → ready, pending → deleting (Cleanup undoing an upload),
// ready → deleting. Nothing moves back.
func (s FileState) CanBecome(to FileState) bool {
	switch s {
	case FilePending:
		return to == FileReady || to == FileDeleting
	case FileReady:
		return to == FileDeleting
	}
	return false
}

// FileRecord is a stored file's metadata.
type FileRecord struct {
	ID          string
	Name        string
	Size        int64
	SHA256      []byte
	ContentType string
	Backend     string // the name of the backend holding it
	Path        string // its name in that backend
	Owner       string
	Created     time.Time
	State       FileState
}

// UploadRecord is a resumable upload in progress.
type UploadRecord struct {
	ID      string
	Options UploadOptions
	Backend string
	Path    string // the final object's name
	// Native is the backend's own multipart upload ID (S3), or "" when
	// parts are objects composed on Complete.
	Native  string
	Created time.Time
}

// PartRecord is one stored part of a resumable upload.
type PartRecord struct {
	Number int
	Size   int64
	SHA256 []byte
	ETag   string // the backend's part identifier (native multipart)
	// Stored is when the part was stored: an upload is stale only
	// StaleAfter past its last part.
	Stored time.Time
}

// MetadataStore keeps files' and uploads' metadata. Missing records are
// fs.ErrNotExist. A file record is created once and then moves only by
// compare-and-set, so that of two callers racing to finish (or undo) the
// same file exactly one moves it and the other learns so. A record whose
// Validate fails is refused (fs.ErrInvalid), by every store alike.
// Implementations: NewMemoryMetadata, and PostgreSQL in package
// filestore/pgmeta; both pass storetest.RunMetadataTests.
type MetadataStore interface {
	// CreateFile inserts a file's record; fs.ErrExist (wrapped) if a
	// record with its ID exists, which is left as it is.
	CreateFile(ctx context.Context, f *FileRecord) error
	// UpdateFile replaces the record with ID f.ID by f if, and only if,
	// its stored state is from and from.CanBecome(f.State); otherwise it
	// changes nothing and returns ErrConflict (wrapped), or fs.ErrNotExist
	// if there is no such record.
	UpdateFile(ctx context.Context, f *FileRecord, from FileState) error
	GetFile(ctx context.Context, id string) (*FileRecord, error)
	DeleteFile(ctx context.Context, id string) error
	// StaleFiles returns records not ready (pending or deleting) created
	// before the time given.
	StaleFiles(ctx context.Context, before time.Time) ([]*FileRecord, error)

	// PutUpload inserts or replaces an upload's record.
	PutUpload(ctx context.Context, u *UploadRecord) error
	GetUpload(ctx context.Context, id string) (*UploadRecord, error)
	// PutPart records a part (replacing one with its number);
	// fs.ErrNotExist if the upload has no record.
	PutPart(ctx context.Context, uploadID string, p PartRecord) error
	// Parts returns an upload's parts ordered by number.
	Parts(ctx context.Context, uploadID string) ([]PartRecord, error)
	// DeleteUpload removes an upload and its parts' records.
	DeleteUpload(ctx context.Context, id string) error
	// StaleUploads returns the uploads idle since before the time given:
	// created before it, and no part stored (PartRecord.Stored) since.
	StaleUploads(ctx context.Context, before time.Time) ([]*UploadRecord, error)

	// CompleteUpload ends the resumable upload f.ID in one atomic step:
	// the file record with that ID moves from pending to f (f.State must
	// be ready) and the upload's record goes with its parts' records;
	// both or neither. fs.ErrNotExist (wrapped) if the upload has no
	// record (completed or aborted already); else ErrConflict (wrapped)
	// if the file has no record or it is not pending. Since the upload is
	// gone once its file is ready, no later Complete can make the file
	// again after it is deleted.
	CompleteUpload(ctx context.Context, f *FileRecord) error
}

// NewMemoryMetadata returns a MetadataStore in process memory, for tests
// and single-process use: it goes with the process.
func NewMemoryMetadata() MetadataStore {
	return &memoryMeta{files: map[string]FileRecord{}, uploads: map[string]UploadRecord{}, parts: map[string]map[int]PartRecord{}}
}

type memoryMeta struct {
	mu      sync.Mutex
	files   map[string]FileRecord
	uploads map[string]UploadRecord
	parts   map[string]map[int]PartRecord
}

func notFound(kind, id string) error { return fmt.Errorf("%s %q: %w", kind, id, fs.ErrNotExist) }

func (m *memoryMeta) CreateFile(_ context.Context, f *FileRecord) error {
	if err := f.Validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.files[f.ID]; ok {
		return fmt.Errorf("file %q: %w", f.ID, fs.ErrExist)
	}
	m.files[f.ID] = copyFile(f)
	return nil
}

func (m *memoryMeta) UpdateFile(_ context.Context, f *FileRecord, from FileState) error {
	if err := f.Validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.files[f.ID]
	if !ok {
		return notFound("file", f.ID)
	}
	if err := checkMove(f.ID, cur.State, from, f.State); err != nil {
		return err
	}
	m.files[f.ID] = copyFile(f)
	return nil
}

// checkMove is UpdateFile's compare: the record is in state cur; the
// caller expects from and wants to.
func checkMove(id string, cur, from, to FileState) error {
	switch {
	case !from.CanBecome(to):
		return fmt.Errorf("%w: file %q: a record never moves from %s to %s", ErrConflict, id, from, to)
	case cur != from:
		return fmt.Errorf("%w: file %q is %s, not %s", ErrConflict, id, cur, from)
	}
	return nil
}

func copyFile(f *FileRecord) FileRecord {
	c := *f
	c.SHA256 = slices.Clone(f.SHA256)
	return c
}

func (m *memoryMeta) GetFile(_ context.Context, id string) (*FileRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f, ok := m.files[id]
	if !ok {
		return nil, notFound("file", id)
	}
	f.SHA256 = slices.Clone(f.SHA256)
	return &f, nil
}

func (m *memoryMeta) DeleteFile(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.files[id]; !ok {
		return notFound("file", id)
	}
	delete(m.files, id)
	return nil
}

func (m *memoryMeta) StaleFiles(_ context.Context, before time.Time) ([]*FileRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*FileRecord
	for _, f := range m.files {
		if f.State != FileReady && f.Created.Before(before) {
			c := f
			out = append(out, &c)
		}
	}
	return out, nil
}

func (m *memoryMeta) PutUpload(_ context.Context, u *UploadRecord) error {
	if err := u.Validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	c := *u
	c.Options.Metadata, c.Options.SHA256 = maps.Clone(u.Options.Metadata), slices.Clone(u.Options.SHA256)
	m.uploads[u.ID] = c
	return nil
}

func (m *memoryMeta) GetUpload(_ context.Context, id string) (*UploadRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.uploads[id]
	if !ok {
		return nil, notFound("upload", id)
	}
	return &u, nil
}

func (m *memoryMeta) PutPart(_ context.Context, uploadID string, p PartRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.uploads[uploadID]; !ok {
		return notFound("upload", uploadID)
	}
	if m.parts[uploadID] == nil {
		m.parts[uploadID] = map[int]PartRecord{}
	}
	p.SHA256 = slices.Clone(p.SHA256)
	m.parts[uploadID][p.Number] = p
	return nil
}

func (m *memoryMeta) Parts(_ context.Context, uploadID string) ([]PartRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.uploads[uploadID]; !ok {
		return nil, notFound("upload", uploadID)
	}
	out := slices.Collect(maps.Values(m.parts[uploadID]))
	slices.SortFunc(out, func(a, b PartRecord) int { return a.Number - b.Number })
	return out, nil
}

func (m *memoryMeta) DeleteUpload(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.uploads[id]; !ok {
		return notFound("upload", id)
	}
	delete(m.uploads, id)
	delete(m.parts, id)
	return nil
}

func (m *memoryMeta) StaleUploads(_ context.Context, before time.Time) ([]*UploadRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*UploadRecord
	for id, u := range m.uploads {
		idle := u.Created.Before(before)
		for _, p := range m.parts[id] {
			idle = idle && p.Stored.Before(before)
		}
		if idle {
			c := u
			out = append(out, &c)
		}
	}
	return out, nil
}

func (m *memoryMeta) CompleteUpload(_ context.Context, f *FileRecord) error {
	if err := f.Validate(); err != nil {
		return err
	}
	if f.State != FileReady {
		return fmt.Errorf("%w: file %q: completing an upload makes its file ready, not %s", ErrConflict, f.ID, f.State)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.uploads[f.ID]; !ok {
		return notFound("upload", f.ID)
	}
	cur, ok := m.files[f.ID]
	if !ok {
		return fmt.Errorf("%w: file %q has no record", ErrConflict, f.ID)
	}
	if err := checkMove(f.ID, cur.State, FilePending, f.State); err != nil {
		return err
	}
	m.files[f.ID] = copyFile(f)
	delete(m.uploads, f.ID)
	delete(m.parts, f.ID)
	return nil
}
