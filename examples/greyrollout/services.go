package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"

	"github.com/groundwork-go/groundwork/greyroute"
)

// The service every tenant calls, and how long an instance's
// registration lasts without a heartbeat.
const (
	service = "orders"
	ttl     = 30 * time.Second
)

// fleet is the running instances of the orders service: real HTTP
// servers on loopback, registered with the Admin and kept alive by
// heartbeats, as each instance of a real deployment would do itself.
type fleet struct {
	admin   *greyroute.Admin
	servers []*httptest.Server
	ids     []string
	ctx     context.Context // the heartbeats'; stop cancels it
	cancel  context.CancelFunc
	wg      sync.WaitGroup // the heartbeats
}

// newFleet returns an empty fleet whose instances register with admin.
func newFleet(admin *greyroute.Admin) *fleet {
	ctx, cancel := context.WithCancel(context.Background())
	return &fleet{admin: admin, ctx: ctx, cancel: cancel}
}

// startVersion starts n instances of version, registers them and starts
// their heartbeats. While broken is true they answer 500, as a canary
// with a bug does once real traffic reaches the broken code path.
func (f *fleet) startVersion(ctx context.Context, version string, n int, broken *atomic.Bool) error {
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("%s-%s-%d", service, version, i)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if broken != nil && broken.Load() {
				http.Error(w, version+": relation \"invoices_v3\" does not exist", http.StatusInternalServerError)
				return
			}
			fmt.Fprintf(w, "%s %s\n", version, id) // the answer says who served it
		}))
		f.servers, f.ids = append(f.servers, srv), append(f.ids, id)
		inst := greyroute.Instance{ID: id, Service: service, Version: version, Addr: srv.URL}
		if err := f.admin.Register(ctx, inst, ttl); err != nil {
			return err
		}
		f.wg.Add(1)
		go f.heartbeat(id)
	}
	return nil
}

// heartbeat renews the instance's registration every third of its ttl,
// so that it expires (and leaves every Router) only if this process
// dies. A heartbeat is no change event: Routers do not reload for it.
func (f *fleet) heartbeat(id string) {
	defer f.wg.Done()
	t := time.NewTicker(ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-f.ctx.Done():
			return
		case <-t.C:
			_ = f.admin.Heartbeat(f.ctx, service, id, ttl) // a missed beat is made up by the next
		}
	}
}

// stop ends the heartbeats and deregisters the instances, as a graceful
// shutdown does (Routers drop them at once, not at their expiry), and
// stops the servers.
func (f *fleet) stop() {
	f.cancel()
	f.wg.Wait()
	for _, id := range f.ids {
		_ = f.admin.Deregister(context.Background(), service, id)
	}
	for _, s := range f.servers {
		s.Close()
	}
}
