// Package registry holds the drivers that packages with providers (mq,
// filestore) register by URL scheme from their providers' init
// functions, as database/sql does.
package registry

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// Registry maps URL schemes to drivers of type D.
type Registry[D comparable] struct {
	pkg     string // "mq", "filestore": the prefix of panics and errors
	example string // example URLs for the error on a URL without a scheme
	mu      sync.RWMutex
	drivers map[string]D
}

// New returns an empty registry for package pkg.
func New[D comparable](pkg, exampleURLs string) *Registry[D] {
	return &Registry[D]{pkg: pkg, example: exampleURLs, drivers: map[string]D{}}
}

// Register adds d under scheme; a duplicate scheme or a nil driver panics,
// since both are programming errors found at init.
func (r *Registry[D]) Register(scheme string, d D) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var zero D
	if d == zero {
		panic(r.pkg + ": Register driver is nil")
	}
	if _, dup := r.drivers[scheme]; dup {
		panic(r.pkg + ": Register called twice for scheme " + scheme)
	}
	r.drivers[scheme] = d
}

// Schemes returns the registered schemes, sorted.
func (r *Registry[D]) Schemes() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s := make([]string, 0, len(r.drivers))
	for k := range r.drivers {
		s = append(s, k)
	}
	slices.Sort(s)
	return s
}

// Lookup parses rawURL and finds its scheme's driver. Its errors (to be
// wrapped with the package's ErrBadURL) say what is wrong: a malformed
// URL, no scheme, or an unregistered one, listing those registered. They
// never quote the URL with its password or secret query parameters.
func (r *Registry[D]) Lookup(rawURL string) (*url.URL, D, error) {
	var zero D
	u, err := url.Parse(rawURL)
	if err != nil {
		// net/url's error quotes the whole URL, password and all: keep
		// only what it found wrong.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, zero, err
	}
	if u.Scheme == "" {
		return nil, zero, fmt.Errorf("%q has no scheme (want e.g. %s)", Redacted(u), r.example)
	}
	r.mu.RLock()
	d, ok := r.drivers[u.Scheme]
	r.mu.RUnlock()
	if !ok {
		return nil, zero, fmt.Errorf("no provider for scheme %q (registered: %s; forgotten import?)", u.Scheme, strings.Join(r.Schemes(), ", "))
	}
	return u, d, nil
}
