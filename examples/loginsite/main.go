// Command loginsite is a small web site whose logins are package
// session's: a login form protected against CSRF, a dashboard, a profile
// page listing the user's sessions and remembered devices, an admin page
// that logs any user out everywhere, and logout.
//
//	go run ./examples/loginsite
//	open http://localhost:8080 and log in as alice / wonderland (an admin)
//	or bob / builder
//
// Sessions live in an embedded Redis (miniredis) unless
// GROUNDWORK_REDIS_URL names a Redis server. The cookie is not marked
// Secure on plain-HTTP localhost; behind TLS, run with -secure.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

func main() {
	addr := flag.String("addr", "localhost:8080", "address to listen on")
	secure := flag.Bool("secure", false, "mark cookies Secure with the __Host- prefix (serve over TLS)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *addr, *secure); err != nil {
		fmt.Fprintln(os.Stderr, "loginsite:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, addr string, secure bool) error {
	rdb, closeRedis, err := redisClient()
	if err != nil {
		return err
	}
	defer closeRedis()
	site, err := newSite(rdb, secure)
	if err != nil {
		return err
	}
	defer site.Close()
	srv := &http.Server{Addr: addr, Handler: site, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	slog.Info("loginsite listening", "url", "http://"+addr)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// redisClient connects to GROUNDWORK_REDIS_URL, or starts an embedded
// Redis when it is unset.
func redisClient() (redis.UniversalClient, func(), error) {
	if u := os.Getenv("GROUNDWORK_REDIS_URL"); u != "" {
		opts, err := redis.ParseURL(u)
		if err != nil {
			return nil, nil, fmt.Errorf("GROUNDWORK_REDIS_URL: %w", err)
		}
		rdb := redis.NewClient(opts)
		return rdb, func() { _ = rdb.Close() }, nil
	}
	mr, err := miniredis.Run()
	if err != nil {
		return nil, nil, err
	}
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	return rdb, func() { _ = rdb.Close(); mr.Close() }, nil
}
