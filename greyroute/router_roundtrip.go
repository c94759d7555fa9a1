package greyroute

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// RoundTripper returns an http.RoundTripper that routes a request for
// http://<service>/path (or https://) — the URL's host is a service name,
// with no port — to the instance Pick chooses for the tenant in the
// request's context (WithTenant, TenantMiddleware), through base (nil:
// http.DefaultTransport). Use it as an http.Client's Transport.
//
// The caller's request is never changed: a clone goes out, its URL's
// scheme and host replaced by the instance's; the response's Request is
// the caller's. Instance.Addr is either
// "host:port", which keeps the request's scheme, or a URL with scheme
// http or https and nothing after the host ("https://10.0.0.5:8443"),
// whose scheme is used. The Host header is the instance's address unless
// the caller set req.Host to something other than the service.
//
// Done is called exactly once per pick, when the response body has been
// read to its end, failed, or been closed (a response with no body: at
// once), so the connection count covers the whole call and a body broken
// mid-way is a failure; the latency fed to the EWMA is the time to the
// response headers, the instance's own part, not the caller's reading
// (a connection that could not be made counts at least 1s, so that P2C
// does not favour an instance that refuses at once).
// Close every response body, as net/http asks: an unclosed one holds its
// pick (and, during a breaker's half-open period, its probe slot) open.
// Outcomes: a transport error is a failure, and so is a 5xx response; a
// 1xx–4xx response is a success for the instance (a 4xx is the caller's
// fault); a request the caller cancelled (its context) is neither.
//
// One retry, on another available instance of the same version (of the
// fallback version when it has none, by Pick's rules; in Atomic mode, on
// another instance if one of up to three picks offers one), only when
// nothing was sent — the connection could not be made (a dial error, such
// as refused) — and the body can be sent again (none, or req.GetBody set, as
// http.NewRequest does for in-memory bodies). The failed attempt still
// counts against its instance's breaker; a GetBody that fails ends the
// call with the first attempt's error, no verdict on the instance not
// tried. No other error is retried: the request may have reached the
// instance.
//
// Errors: a request with no tenant in its context, or whose host is not a
// service the Router knows, wraps ErrUnknownTenant and is never sent
// (never to a DNS host of that name); a bad URL (another scheme, a port,
// a host that is not a valid name) or instance address wraps ErrInvalid;
// Pick's errors (ErrNoInstance, ErrSchema, ErrClosed) are wrapped as they
// are; a transport error is returned wrapped with the instance it went
// to, a context error unwrapped.
func (r *Router) RoundTripper(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &roundTripper{r: r, base: base}
}

type roundTripper struct {
	r    *Router
	base http.RoundTripper
}

// errServerError is the outcome Done gets for a 5xx response.
var errServerError = errors.New("greyroute: the instance answered 5xx")

func (rt *roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	service, tenant, err := rt.target(req)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	ctx := req.Context()
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	var first error // the first attempt's error, when it is retried
	avoid := ""
	for attempt := 0; ; attempt++ {
		inst, err := rt.pick(ctx, tenant, service, avoid)
		if err != nil {
			if first != nil {
				return nil, first // no other instance: the original failure stands
			}
			closeBody(req)
			return nil, fmt.Errorf("greyroute: round trip to %s: %w", req.URL.Redacted(), err)
		}
		out, err := outgoing(req, inst)
		if err == nil && attempt > 0 && req.GetBody != nil {
			var body io.ReadCloser
			if body, err = req.GetBody(); err != nil {
				// The caller's body, not the instance: it was sent
				// nothing, so no verdict on it.
				rt.r.Done(inst, context.Canceled, 0)
				return nil, fmt.Errorf("%w (not retried on instance %q: replay the body: %w)", first, inst.ID, err)
			}
			out.Body = body
		}
		if err != nil {
			// A bad address is the instance's registration's fault: a
			// failure, so its breaker takes it out of the rotation.
			rt.r.Done(inst, err, 0)
			if first != nil {
				return nil, first
			}
			closeBody(req)
			return nil, err
		}
		start := time.Now()
		resp, err := rt.send(out, inst)
		if err == nil {
			// The caller's request, as the response's: resp.Location()
			// then resolves against http://<service>/, which routes, and
			// the instance's address stays inside.
			resp.Request = req
			return rt.watch(ctx, resp, inst, time.Since(start)), nil
		}
		latency := time.Since(start)
		if notSent(err) {
			latency = max(latency, connFailLatency)
		}
		rt.r.Done(inst, outcome(ctx, err), latency)
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return nil, ctx.Err()
		}
		err = fmt.Errorf("greyroute: round trip to %s via instance %q (%s): %w", req.URL.Redacted(), inst.ID, inst.Addr, err)
		if attempt > 0 || !replayable || !notSent(err) {
			return nil, err
		}
		first, avoid = err, inst.ID
	}
}

// errPanicked is the outcome Done gets when the base transport panicked.
var errPanicked = errors.New("greyroute: the base transport panicked")

// send is base.RoundTrip, ending inst's pick if it panics: the panic goes
// on to the caller (net/http's client does not recover it either), but
// an open pick would count a call on the instance, and hold a half-open
// breaker's probe slot, for ever.
func (rt *roundTripper) send(out *http.Request, inst Instance) (*http.Response, error) {
	returned := false
	defer func() {
		if !returned {
			rt.r.Done(inst, errPanicked, 0)
		}
	}()
	resp, err := rt.base.RoundTrip(out)
	returned = true
	if resp == nil && err == nil { // as http.Client words it
		err = errNilResponse
	}
	return resp, err
}

// errNilResponse is a base transport's breach of the RoundTripper
// contract: no response and no error.
var errNilResponse = errors.New("http: RoundTripper implementation returned a nil *Response with a nil error")

// target checks req and returns the service it is for and the tenant in
// its context.
func (rt *roundTripper) target(req *http.Request) (service, tenant string, err error) {
	if req.URL == nil {
		return "", "", fmt.Errorf("%w: round trip: the request has no URL", ErrInvalid)
	}
	u := req.URL.Redacted()
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return "", "", fmt.Errorf("%w: round trip to %s: scheme %q, want http or https", ErrInvalid, u, req.URL.Scheme)
	}
	if req.URL.Port() != "" {
		return "", "", fmt.Errorf("%w: round trip to %s: the host is a service name and takes no port (the instance's address gives it)", ErrInvalid, u)
	}
	service = req.URL.Hostname()
	if err := validName("the URL's host (the service)", service); err != nil {
		return "", "", fmt.Errorf("greyroute: round trip to %s: %w", u, err)
	}
	tenant, _ = TenantFromContext(req.Context())
	if tenant == "" {
		return "", "", fmt.Errorf("greyroute: round trip to %s: no tenant in the request's context (WithTenant, TenantMiddleware): %w", u, ErrUnknownTenant)
	}
	if slot := (*rt.r.services.Load())[service]; slot == nil {
		return "", "", fmt.Errorf("greyroute: round trip to %s: host %q is not a service in the routing table: %w", u, service, ErrUnknownTenant)
	}
	return service, tenant, nil
}

// pick picks an instance other than avoid (when set): in local mode by
// excluding it (router_retry.go); in Atomic mode by giving back,
// uncounted, the picks of avoid Redis may offer first.
func (rt *roundTripper) pick(ctx context.Context, tenant, service, avoid string) (Instance, error) {
	if avoid != "" && rt.r.atomic == nil {
		return rt.r.pickOther(tenant, service, avoid)
	}
	for range maxAcquire {
		inst, err := rt.r.Pick(ctx, tenant, service)
		if err != nil || avoid == "" || inst.ID != avoid {
			return inst, err
		}
		rt.r.Done(inst, context.Canceled, 0)
	}
	return Instance{}, fmt.Errorf("no instance other than %q: %w", avoid, ErrNoInstance)
}

// outgoing is the request to send to inst: a clone of req with the
// instance's scheme and host (a retry's body is RoundTrip's to replace).
func outgoing(req *http.Request, inst Instance) (*http.Request, error) {
	scheme, host, err := instanceAddr(inst.Addr, req.URL.Scheme)
	if err != nil {
		return nil, fmt.Errorf("greyroute: round trip to %s: instance %q: %w", req.URL.Redacted(), inst.ID, err)
	}
	out := req.Clone(req.Context())
	out.URL.Scheme, out.URL.Host = scheme, host
	if req.Host == "" || req.Host == req.URL.Host {
		out.Host = "" // the instance's address, as any direct call sends
	}
	return out, nil
}

// instanceAddr returns the scheme and host to send to for an instance
// address: "host:port" keeps scheme; a URL gives its own (http or https)
// and must have nothing after its host.
func instanceAddr(addr, scheme string) (string, string, error) {
	if !strings.Contains(addr, "://") {
		return scheme, addr, nil
	}
	u, err := url.Parse(addr)
	switch {
	case err != nil:
		return "", "", fmt.Errorf("%w: address %q: %w", ErrInvalid, addr, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return "", "", fmt.Errorf("%w: address %q: scheme %q, want http or https", ErrInvalid, addr, u.Scheme)
	case u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "":
		return "", "", fmt.Errorf("%w: address %q: want scheme://host[:port] and nothing else", ErrInvalid, addr)
	}
	return u.Scheme, u.Host, nil
}

// outcome is what Done is told of a transport or body error: the
// caller's cancellation is neither success nor failure.
func outcome(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.Canceled) || errors.Is(err, context.Canceled) {
		return context.Canceled
	}
	return err
}

// connFailLatency is the least latency a connection that could not be
// made reports with its failure (as grpcroute does): a refusal comes back
// at once, and its near-zero sample would make P2C prefer the instance
// that refuses — even for the retry meant to avoid it.
const connFailLatency = time.Second

// notSent reports whether err says no byte of the request left: the
// connection was never made.
func notSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

// watch arranges the Done of resp's pick: at the end of its body, or at
// once when it has none (or is a protocol switch, whose body is the
// connection, not a call).
func (rt *roundTripper) watch(ctx context.Context, resp *http.Response, inst Instance, latency time.Duration) *http.Response {
	var status error
	if resp.StatusCode >= 500 {
		status = errServerError
	}
	if resp.Body == nil || resp.Body == http.NoBody || resp.StatusCode == http.StatusSwitchingProtocols {
		rt.r.Done(inst, status, latency)
		return resp
	}
	resp.Body = &doneBody{ReadCloser: resp.Body, r: rt.r, ctx: ctx, inst: inst, status: status, latency: latency}
	return resp
}

// doneBody calls Done once: at EOF, at a read error, or at Close.
type doneBody struct {
	io.ReadCloser
	r       *Router
	ctx     context.Context // the request's (as net/http's bodies keep it): tells a cancellation from a failure
	inst    Instance
	status  error // the response's outcome: nil, or errServerError
	latency time.Duration
	done    atomic.Bool
}

func (b *doneBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	switch {
	case err == io.EOF:
		b.finish(b.status)
	case err != nil:
		b.finish(outcome(b.ctx, err))
	}
	return n, err
}

// Close ends the call; one closed before its end was the caller's choice,
// so the response's status decides.
func (b *doneBody) Close() error {
	err := b.ReadCloser.Close()
	b.finish(b.status)
	return err
}

func (b *doneBody) finish(err error) {
	if b.done.CompareAndSwap(false, true) {
		b.r.Done(b.inst, err, b.latency)
	}
}
