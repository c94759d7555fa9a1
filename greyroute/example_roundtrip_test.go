package greyroute_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/greyroute"
)

// ExampleRouter_RoundTripper sends each tenant's request for
// http://orders/... to its version of the orders service: acme is pinned
// to v2, everyone else gets the stable v1. It runs on an embedded Redis.
func ExampleRouter_RoundTripper() {
	mr, err := miniredis.Run()
	if err != nil {
		panic(err)
	}
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	ctx := context.Background()

	version := func(v string) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "%s served %s", v, r.URL.Path)
		}))
	}
	v1, v2 := version("v1"), version("v2")
	defer v1.Close()
	defer v2.Close()

	admin, err := greyroute.NewAdmin(rdb)
	if err != nil {
		panic(err)
	}
	defer admin.Close()
	_ = admin.Register(ctx, greyroute.Instance{ID: "orders-1", Service: "orders", Version: "v1", Addr: v1.Listener.Addr().String()}, time.Minute)
	_ = admin.Register(ctx, greyroute.Instance{ID: "orders-2", Service: "orders", Version: "v2", Addr: v2.URL}, time.Minute)
	_ = admin.SetStable(ctx, "orders", "v1")
	_ = admin.Pin(ctx, "acme", "orders", "v2")

	router, err := greyroute.NewRouter(rdb)
	if err != nil {
		panic(err)
	}
	defer router.Close()
	client := &http.Client{Transport: router.RoundTripper(nil)}
	for _, tenant := range []string{"acme", "globex"} {
		// In a server, TenantMiddleware puts the caller's tenant in the
		// request's context; calls made with that context route by it.
		req, _ := http.NewRequestWithContext(greyroute.WithTenant(ctx, tenant), "GET", "http://orders/invoices", nil)
		resp, err := client.Do(req)
		if err != nil {
			fmt.Println(tenant, err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%s: %s\n", tenant, body)
	}
	// Output:
	// acme: v2 served /invoices
	// globex: v1 served /invoices
}
