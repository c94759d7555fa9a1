package eventstore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/groundwork-go/groundwork/mq/driver"
	"github.com/groundwork-go/groundwork/mq/eventstore"
	"github.com/groundwork-go/groundwork/mq/eventstore/backendtest"
)

// The environment of a child process: which child, and its database.
const (
	childEnv  = "GROUNDWORK_ES_CHILD"
	childURL  = "GROUNDWORK_ES_PG_URL"
	childDB   = "GROUNDWORK_ES_PG_DB"
	crashedID = "crashed-event"
)

// childPool opens the pool the parent named.
func childPool(t *testing.T) *pgxpool.Pool {
	cfg, err := pgxpool.ParseConfig(os.Getenv(childURL))
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Database = os.Getenv(childDB)
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return pool
}

// child starts this test binary running test as a child on the database
// of cfg.
func child(t *testing.T, test, url string, cfg *pgxpool.Config, kind string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+kind, childURL+"="+url, childDB+"="+cfg.ConnConfig.Database)
	cmd.Stderr = os.Stderr
	return cmd
}

// TestSIGKILLBetweenStoreAndPublish: a process killed right after its
// Append committed, before its relay could publish (its bus is
// unreachable, so nothing can go out first), leaves the event in the
// outbox; the Store of the restarted process publishes it, exactly once,
// under the event's ID.
func TestSIGKILLBetweenStoreAndPublish(t *testing.T) {
	if os.Getenv(childEnv) == "sigkill" {
		sigkillChild(t)
		return
	}
	url := pg.Get(t)
	cfg := newDatabase(t, url)
	cmd := child(t, "TestSIGKILLBetweenStoreAndPublish", url, cfg, "sigkill")
	out, err := cmd.Output()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Exited() {
		t.Fatalf("the child was not killed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "COMMITTING") || strings.Contains(string(out), "RETURNED") {
		t.Fatalf("the child did not die inside Append:\n%s", out)
	}

	// The restart: a Store on the same database, with a bus that works.
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	b, err := eventstore.NewPostgresBackend(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	s, rec := newStore(t, b)
	evs := mustLoadAll(t, s, "order-1")
	if len(evs) != 1 || evs[0].ID != crashedID {
		t.Fatalf("stored after the crash: %+v, want the crashed event", evs)
	}
	rec.Wait(t, "the crashed event", func(log []driver.Message, _ int) bool { return len(log) >= 1 })
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	log := rec.Log()
	if len(log) != 1 || log[0].ID != crashedID || log[0].Key != "order-1" {
		t.Fatalf("published %v, want the crashed event once", log)
	}
}

func sigkillChild(t *testing.T) {
	pool := childPool(t)
	b, err := eventstore.NewPostgresBackend(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	bus, rec := backendtest.NewBus(t)
	rec.Broker.SetReachable(false) // nothing can be published before the kill
	s, err := eventstore.New(b, bus)
	if err != nil {
		t.Fatal(err)
	}
	eventstore.SetAfterCommit(b, func() {
		p, _ := os.FindProcess(os.Getpid())
		p.Kill() // SIGKILL: no deferred call, no relay round
		select {}
	})
	fmt.Println("COMMITTING")
	_, err = s.Append(context.Background(), "order-1", 0, eventstore.Event{ID: crashedID, Type: "placed"})
	fmt.Println("RETURNED", err)
}

// TestThreeProcessesAppend: 3 processes × 8 goroutines append to one
// aggregate, each Store with its own relay: versions contiguous,
// conflicts reported, no event lost, and every event published (by one of
// the relays) under its ID.
func TestThreeProcessesAppend(t *testing.T) {
	const procs, writers, each = 3, 8, 5
	if os.Getenv(childEnv) == "append" {
		appendChild(t, writers, each)
		return
	}
	url := pg.Get(t)
	cfg := newDatabase(t, url)
	// The tables first, so that the children do not race to make them.
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	b, err := eventstore.NewPostgresBackend(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	b.Close()

	var mu sync.Mutex
	published := map[string]int{}
	conflicts := 0
	var wg sync.WaitGroup
	errs := make(chan error, procs)
	for p := range procs {
		cmd := child(t, "TestThreeProcessesAppend", url, cfg, "append")
		cmd.Env = append(cmd.Env, fmt.Sprintf("GROUNDWORK_ES_PROC=%d", p))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				line := sc.Text()
				mu.Lock()
				if id, ok := strings.CutPrefix(line, "PUBLISHED "); ok {
					published[id]++
				} else if strings.HasPrefix(line, "CONFLICT") {
					conflicts++
				}
				mu.Unlock()
			}
			if err := cmd.Wait(); err != nil {
				errs <- fmt.Errorf("child %d: %v", p, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if conflicts < writers*procs-1 {
		t.Fatalf("%d conflicts reported, want at least %d (all started at 0)", conflicts, writers*procs-1)
	}
	evs, err := b2(t, pool).Load(context.Background(), "one", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != procs*writers*each {
		t.Fatalf("%d events stored, want %d", len(evs), procs*writers*each)
	}
	for i, e := range evs {
		if e.Version != uint64(i+1) {
			t.Fatalf("event %d has version %d", i, e.Version)
		}
	}
	// At least once each, under its ID: a relay stopped by its process's
	// Shutdown between a publish and marking it sent leaves the row to
	// another relay, which publishes it again with the same ID (dedup).
	for _, e := range evs {
		if published[e.ID] == 0 {
			t.Fatalf("event %s (version %d) never published", e.ID, e.Version)
		}
	}
	if len(published) != len(evs) {
		t.Fatalf("%d IDs published, want %d", len(published), len(evs))
	}
}

// b2 returns a backend on pool to read with, closed when t ends.
func b2(t *testing.T, pool *pgxpool.Pool) eventstore.Backend {
	b, err := eventstore.NewPostgresBackend(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func appendChild(t *testing.T, writers, each int) {
	proc := os.Getenv("GROUNDWORK_ES_PROC")
	pool := childPool(t)
	defer pool.Close()
	b, err := eventstore.NewPostgresBackend(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	bus, rec := backendtest.NewBus(t)
	s, err := eventstore.New(b, bus)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	var out sync.Mutex
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var expected uint64
			for i := 0; i < each; {
				v, err := s.Append(ctx, "one", expected, eventstore.Event{ID: fmt.Sprintf("p%s-w%d-%d", proc, w, i), Type: "t"})
				var ce *eventstore.ConflictError
				switch {
				case err == nil:
					expected = v
					i++
				case errors.As(err, &ce) && ce.Actual > expected:
					expected = ce.Actual
					out.Lock()
					fmt.Println("CONFLICT")
					out.Unlock()
				default:
					t.Errorf("append: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	// Shutdown waits until every row stored so far is sent, by any
	// process's relay.
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for _, m := range rec.Log() {
		fmt.Println("PUBLISHED " + m.ID)
	}
}
