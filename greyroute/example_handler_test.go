package greyroute_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/greyroute"
)

// ExampleAdmin_Handler mounts the admin page and API under /admin/grey/
// behind the application's own authentication (here a stand-in checking
// a header), then raises a rollout through the API as the page's slider
// does. It runs on an embedded Redis.
func ExampleAdmin_Handler() {
	mr, err := miniredis.Run()
	if err != nil {
		panic(err)
	}
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	admin, err := greyroute.NewAdmin(rdb)
	if err != nil {
		panic(err)
	}
	defer admin.Close()
	ctx := context.Background()
	_ = admin.Register(ctx, greyroute.Instance{ID: "a1", Service: "orders", Version: "v1", Addr: "10.0.0.1:80"}, time.Minute)
	_ = admin.SetStable(ctx, "orders", "v1")

	// The Handler has no login of its own: wrap it in yours.
	requireOperator := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("X-Demo-Operator") != "yes" { // your session and permission check
				http.Error(w, "forbidden", http.StatusForbidden)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	mux := http.NewServeMux()
	mux.Handle("/admin/grey/", http.StripPrefix("/admin/grey", requireOperator(admin.Handler())))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	req, _ := http.NewRequest("PUT", srv.URL+"/admin/grey/api/services/orders/rollout", strings.NewReader(`{"to":"v2","percent":5}`))
	req.Header.Set("Content-Type", "application/json") // writes take JSON bodies only
	req.Header.Set("X-Demo-Operator", "yes")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	res.Body.Close()
	fmt.Println("PUT rollout:", res.StatusCode)

	req, _ = http.NewRequest("GET", srv.URL+"/admin/grey/api/services", nil)
	req.Header.Set("X-Demo-Operator", "yes")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	fmt.Print("GET services: ", string(body))
	// Output:
	// PUT rollout: 204
	// GET services: {"services":["orders"]}
}
