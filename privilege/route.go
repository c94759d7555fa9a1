package privilege

import (
	"fmt"
	"net/http"
	"strings"
)

// Route maps requests matching Pattern to a Resource and an Action.
//
// Pattern is a net/http ServeMux pattern ("GET /orders/{id}",
// "/files/{path...}", "POST api.example.com/jobs"); ServeMux does the
// matching, with its rules: the most specific pattern wins, GET also
// matches HEAD, a trailing slash matches the subtree.
//
// Resource is a template: each {name} in it is replaced by the value of
// the pattern's wildcard of that name ("orders/{id}"); naming a wildcard
// the pattern does not have is an error. Action is used as it is.
type Route struct {
	Pattern, Resource, Action string
}

// Routes is a route table for Engine.Middleware: Mapper turns it into the
// function that maps a request to the Request to check.
type Routes []Route

// routeMatch is what a matched route's handler hands back to the mapper.
type routeMatch struct {
	res, act string
	ok       bool
}

// captureWriter is the ResponseWriter the mapper runs the internal mux
// with: a route's handler fills m; anything else the mux writes (404,
// 405, a redirect to a cleaned path) is dropped.
type captureWriter struct {
	m routeMatch
	h http.Header
}

func (c *captureWriter) Header() http.Header {
	if c.h == nil {
		c.h = make(http.Header)
	}
	return c.h
}
func (c *captureWriter) Write(p []byte) (int, error) { return len(p), nil }
func (c *captureWriter) WriteHeader(int)             {}

// Mapper returns the request mapper of the table, for Engine.Middleware.
// It leaves Subject empty, so the Middleware takes it from the session.
//
// A request that matches no route maps to an empty Resource, which the
// Middleware denies (403): a route the table does not know is never let
// through. To map everything else, add a catch-all route ("/" or
// "/{path...}"). A request whose path is not clean ("/a/../b", "//a"),
// which ServeMux would redirect, matches nothing and is denied too, as is
// a single-segment wildcard whose value holds a "/" (sent as %2F), so a
// value cannot add levels to the resource.
//
// A bad table is an error naming the route: an invalid or conflicting
// pattern, an empty Resource or Action, a template naming a wildcard the
// pattern lacks or with an unclosed brace.
func (rs Routes) Mapper() (func(*http.Request) Request, error) {
	mux := http.NewServeMux()
	for i, rt := range rs {
		h, err := rt.handler()
		if err != nil {
			return nil, wrapOp(fmt.Sprintf("routes: route %d %q", i, rt.Pattern), err)
		}
		if err := register(mux, rt.Pattern, h); err != nil {
			return nil, wrapOp(fmt.Sprintf("routes: route %d %q", i, rt.Pattern), fmt.Errorf("%w: %v", ErrInvalid, err))
		}
	}
	return func(r *http.Request) Request {
		// ServeMux.ServeHTTP sets the pattern and path values on the
		// request it is given: run it on a shallow copy so the caller's
		// request (and the application's own mux) is left as it was.
		r2 := new(http.Request)
		*r2 = *r
		var c captureWriter
		mux.ServeHTTP(&c, r2)
		if !c.m.ok {
			return Request{}
		}
		return Request{Resource: c.m.res, Action: c.m.act}
	}, nil
}

// register adds a pattern to mux, turning ServeMux's panic on an invalid
// or conflicting pattern into an error.
func register(mux *http.ServeMux, pattern string, h http.Handler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	mux.Handle(pattern, h)
	return nil
}

// segment is one piece of a resource template: literal text, or a
// wildcard to fill in.
type segment struct {
	text     string
	wildcard bool
	multi    bool // a {name...} wildcard, whose value may hold "/"
}

func (rt Route) handler() (http.Handler, error) {
	if rt.Resource == "" {
		return nil, fmt.Errorf("%w: empty resource", ErrInvalid)
	}
	if rt.Action == "" {
		return nil, fmt.Errorf("%w: empty action", ErrInvalid)
	}
	names := wildcards(rt.Pattern)
	segs, err := parseTemplate(rt.Resource, names)
	if err != nil {
		return nil, err
	}
	act := rt.Action
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := w.(*captureWriter)
		if !ok {
			return
		}
		var b strings.Builder
		for _, s := range segs {
			if !s.wildcard {
				b.WriteString(s.text)
				continue
			}
			v := r.PathValue(s.text)
			if !s.multi && strings.Contains(v, "/") {
				return // an escaped slash in one segment: no match
			}
			b.WriteString(v)
		}
		c.m = routeMatch{res: b.String(), act: act, ok: true}
	}), nil
}

// wildcards returns the wildcard names of a ServeMux pattern, true for
// the multi-segment ones ({name...}). ServeMux checks the pattern itself.
func wildcards(pattern string) map[string]bool {
	names := make(map[string]bool)
	for {
		i := strings.IndexByte(pattern, '{')
		if i < 0 {
			return names
		}
		j := strings.IndexByte(pattern[i:], '}')
		if j < 0 {
			return names
		}
		name := pattern[i+1 : i+j]
		pattern = pattern[i+j+1:]
		if n, ok := strings.CutSuffix(name, "..."); ok {
			names[n] = true
		} else if name != "$" {
			names[name] = false
		}
	}
}

func parseTemplate(tmpl string, names map[string]bool) ([]segment, error) {
	var segs []segment
	for tmpl != "" {
		i := strings.IndexByte(tmpl, '{')
		if i < 0 {
			segs = append(segs, segment{text: tmpl})
			break
		}
		if i > 0 {
			segs = append(segs, segment{text: tmpl[:i]})
		}
		j := strings.IndexByte(tmpl[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("%w: resource %q: unclosed {", ErrInvalid, tmpl)
		}
		name := tmpl[i+1 : i+j]
		multi, ok := names[name]
		if !ok {
			return nil, fmt.Errorf("%w: resource template names {%s}, which the pattern has no wildcard for", ErrInvalid, name)
		}
		segs = append(segs, segment{text: name, wildcard: true, multi: multi})
		tmpl = tmpl[i+j+1:]
	}
	return segs, nil
}
