package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/groundwork-go/groundwork/greyroute"
)

// workers is how many tenants call at a time.
const workers = 8

// transport keeps a connection per worker alive between calls (net/http
// keeps two per host by default), so a run does not open thousands.
func transport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 2 * workers
	return t
}

// newFrontDoor is the public edge of the product: TenantMiddleware reads
// the caller's tenant (here from a header; in production from a session
// or a token) into the request's context, and the handler's calls to
// http://orders/... go, through the Router's RoundTripper, to that
// tenant's version of the orders service.
func newFrontDoor(router *greyroute.Router, base *http.Transport) *httptest.Server {
	orders := &http.Client{Transport: router.RoundTripper(base)}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, "http://orders/invoices", nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		resp, err := orders.Do(req)
		if err != nil { // ErrNoInstance while the canary's breakers are open, say
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close() // the Router's Done comes with the end of the body
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	})
	return httptest.NewServer(greyroute.TenantMiddleware(func(r *http.Request) string {
		return r.Header.Get("X-Tenant")
	})(h))
}

// census is one round of calls: tenant → the version that answered it
// ("error" when the call failed).
type census map[string]string

// crowd is the tenants, calling the front door.
type crowd struct {
	client  *http.Client
	door    string // the front door's URL
	tenants []string
}

// round makes one call per tenant, a few at a time, and records which
// version answered each.
func (c *crowd) round(ctx context.Context) (census, error) {
	var (
		mu    sync.Mutex
		got   = make(census, len(c.tenants))
		first error
		wg    sync.WaitGroup
		next  = make(chan string)
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range next {
				v, err := c.call(ctx, t)
				mu.Lock()
				got[t] = v
				if err != nil && first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	for _, t := range c.tenants {
		next <- t
	}
	close(next)
	wg.Wait()
	return got, first
}

// call makes tenant's call and returns the version that answered: the
// first word of a 200's body. A failed call is an answer too ("error");
// only a front door that cannot be reached is an error.
func (c *crowd) call(ctx context.Context, tenant string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.door+"/invoices", nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("X-Tenant", tenant)
	resp, err := c.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("tenant %s: %w", tenant, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("tenant %s: %w", tenant, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "error", nil
	}
	version, _, _ := strings.Cut(string(body), " ")
	return version, nil
}

// settle has the tenants call until their answers show that the Router
// has applied the change just made (changed says so), then once more:
// that round is the stage's census. A Router learns of a change by
// Pub/Sub a moment after the Admin made it, so the round that first shows
// it may be part old, part new; the one after it is all new, as there was
// only one change.
func (c *crowd) settle(ctx context.Context, changed func(census) bool) (census, error) {
	end := time.Now().Add(deadline)
	for {
		got, err := c.round(ctx)
		if err != nil {
			return nil, err
		}
		if changed(got) {
			return c.round(ctx)
		}
		if time.Now().After(end) {
			return nil, fmt.Errorf("the Router did not apply the change within %v", deadline)
		}
	}
}

// untilRollback has the tenants call until the Router reports a rollback.
func (c *crowd) untilRollback(ctx context.Context, rolledBack <-chan greyroute.RollbackEvent) (greyroute.RollbackEvent, error) {
	end := time.Now().Add(deadline)
	for {
		select {
		case e := <-rolledBack:
			return e, nil
		default:
		}
		if time.Now().After(end) {
			return greyroute.RollbackEvent{}, fmt.Errorf("no rollback within %v", deadline)
		}
		if _, err := c.round(ctx); err != nil {
			return greyroute.RollbackEvent{}, err
		}
	}
}
