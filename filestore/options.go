package filestore

import (
	"fmt"
	"io/fs"
)

type options struct {
	bufferSize int
	pageSize   int
}

// Option configures a Store. Each says what default it overrides.
type Option func(*options) error

// WithBufferSize sets the size of the buffer Put copies through,
// overriding the default of 256 KiB. Put holds one buffer per call in
// flight, whatever the object's size.
func WithBufferSize(n int) Option {
	return func(o *options) error {
		if n < 4<<10 || n > 64<<20 {
			return fmt.Errorf("%w: WithBufferSize(%d): want 4 KiB to 64 MiB", fs.ErrInvalid, n)
		}
		o.bufferSize = n
		return nil
	}
}

// WithPageSize sets how many names List asks the backend for at a time,
// overriding the default of 1,000.
func WithPageSize(n int) Option {
	return func(o *options) error {
		if n <= 0 || n > 100_000 {
			return fmt.Errorf("%w: WithPageSize(%d): want 1 to 100,000", fs.ErrInvalid, n)
		}
		o.pageSize = n
		return nil
	}
}

func newOptions(opts []Option) (options, error) {
	o := options{bufferSize: 256 << 10, pageSize: 1000}
	for _, opt := range opts {
		if opt == nil {
			return o, fmt.Errorf("%w: nil Option", fs.ErrInvalid)
		}
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	return o, nil
}
