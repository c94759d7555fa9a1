package sessiontest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/session"
)

// base is the tests' clock: stores judge liveness by the caller's time,
// so the tests move it instead of waiting.
var base = time.UnixMilli(1_700_000_000_000)

func userShard(userID string) string {
	sum := sha256.Sum256([]byte(userID))
	return hex.EncodeToString(sum[:4])
}

func newRef(shard string) session.Ref {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	sum := sha256.Sum256(b)
	if shard == "" {
		shard = hex.EncodeToString(b[:4])
	}
	return session.Ref{Shard: shard, Hash: hex.EncodeToString(sum[:])}
}

// newRecord is a record of userID ("" anonymous) created at base, idle
// 10m, absolute 1h.
func newRecord(userID string, values map[string]string) *session.Record {
	shard := ""
	if userID != "" {
		shard = userShard(userID)
	}
	if values == nil {
		values = map[string]string{}
	}
	return &session.Record{Ref: newRef(shard), UserID: userID, Created: base, Absolute: base.Add(time.Hour),
		Idle: 10 * time.Minute, IdleDeadline: base.Add(10 * time.Minute), Values: values}
}

func mustCreate(t *testing.T, st session.Store, rec *session.Record) {
	t.Helper()
	if err := st.CreateSession(context.Background(), rec); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
}

func testSessions(t *testing.T, h Harness) {
	ctx := context.Background()
	open := func(t *testing.T) session.Store {
		st := h.NewStore(t)
		t.Cleanup(func() { _ = st.Close() })
		return st
	}

	// A load on a clock behind another instance's never moves the idle
	// deadline back: the session lives as long as its latest use says.
	t.Run("SlideNeverBack", func(t *testing.T) {
		st := open(t)
		rec := newRecord("alice", nil)
		mustCreate(t, st, rec)
		if _, err := st.LoadSession(ctx, rec.Ref, base.Add(5*time.Minute)); err != nil {
			t.Fatal(err)
		}
		got, err := st.LoadSession(ctx, rec.Ref, base.Add(time.Minute)) // a clock 4 minutes behind
		if err != nil {
			t.Fatal(err)
		}
		if want := base.Add(15 * time.Minute); got.IdleDeadline.Before(want) {
			t.Fatalf("a load at +1m after one at +5m moved the idle deadline back to %v, want %v", got.IdleDeadline, want)
		}
		if _, err := st.LoadSession(ctx, rec.Ref, base.Add(14*time.Minute)); err != nil {
			t.Fatalf("load at +14m, before the deadline the +5m use set: %v", err)
		}
	})

	t.Run("CreateLoad", func(t *testing.T) {
		st := open(t)
		rec := newRecord("alice", map[string]string{"_p": `{"UserID":"alice"}`, "v:x": "1"})
		mustCreate(t, st, rec)
		got, err := st.LoadSession(ctx, rec.Ref, base.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if got.UserID != "alice" || got.Values["v:x"] != "1" || got.Values["_p"] != rec.Values["_p"] ||
			!got.Created.Equal(base) || !got.Absolute.Equal(rec.Absolute) || got.Idle != rec.Idle {
			t.Fatalf("loaded %+v, stored %+v", got, rec)
		}
		if want := base.Add(11 * time.Minute); !got.IdleDeadline.Equal(want) {
			t.Fatalf("idle deadline %v after a use at +1m, want %v", got.IdleDeadline, want)
		}
		if err := st.CreateSession(ctx, rec); err == nil {
			t.Fatal("CreateSession of an existing ref succeeded")
		}
		if _, err := st.LoadSession(ctx, newRef(""), base); !errors.Is(err, session.ErrNoSession) {
			t.Fatalf("unknown ref: %v, want ErrNoSession", err)
		}
		if _, err := st.LoadSession(ctx, session.Ref{Shard: "x}{", Hash: "../"}, base); !errors.Is(err, session.ErrNoSession) {
			t.Fatalf("malformed ref: %v, want ErrNoSession", err)
		}
	})

	t.Run("IdleExpiry", func(t *testing.T) {
		st := open(t)
		rec := newRecord("", nil)
		mustCreate(t, st, rec)
		// Used at +9m: the idle deadline slides to +19m.
		if _, err := st.LoadSession(ctx, rec.Ref, base.Add(9*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, err := st.LoadSession(ctx, rec.Ref, base.Add(18*time.Minute)); err != nil {
			t.Fatalf("used within the slid idle timeout: %v", err)
		}
		// Unused for 10m from +18m.
		if _, err := st.LoadSession(ctx, rec.Ref, base.Add(28*time.Minute)); !errors.Is(err, session.ErrNoSession) {
			t.Fatalf("after the idle timeout: %v, want ErrNoSession", err)
		}
		if err := st.UpdateSession(ctx, rec.Ref, map[string]string{"v:a": "1"}, nil, base.Add(28*time.Minute)); !errors.Is(err, session.ErrNoSession) {
			t.Fatalf("update after expiry: %v, want ErrNoSession", err)
		}
	})

	t.Run("SlideCappedAtAbsolute", func(t *testing.T) {
		st := open(t)
		rec := newRecord("bob", nil)
		mustCreate(t, st, rec)
		var last *session.Record
		for m := 5; m < 60; m += 5 {
			got, err := st.LoadSession(ctx, rec.Ref, base.Add(time.Duration(m)*time.Minute))
			if err != nil {
				t.Fatalf("busy session at +%dm: %v", m, err)
			}
			last = got
		}
		if !last.IdleDeadline.Equal(rec.Absolute) {
			t.Fatalf("idle deadline %v slid past the absolute expiry %v", last.IdleDeadline, rec.Absolute)
		}
		if _, err := st.LoadSession(ctx, rec.Ref, rec.Absolute); !errors.Is(err, session.ErrNoSession) {
			t.Fatalf("at the absolute expiry: %v, want ErrNoSession", err)
		}
	})

	t.Run("Renew", func(t *testing.T) {
		st := open(t)
		old := newRecord("", map[string]string{"v:cart": "3"})
		mustCreate(t, st, old)
		next := newRecord("carol", map[string]string{"v:cart": "3"})
		if err := st.RenewSession(ctx, old.Ref, next, base.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, err := st.LoadSession(ctx, old.Ref, base.Add(time.Minute)); !errors.Is(err, session.ErrNoSession) {
			t.Fatalf("old session after renew: %v, want ErrNoSession", err)
		}
		got, err := st.LoadSession(ctx, next.Ref, base.Add(time.Minute))
		if err != nil || got.Values["v:cart"] != "3" || got.UserID != "carol" {
			t.Fatalf("new session: %+v, %v", got, err)
		}
		// Renewing a dead session fails and stores nothing.
		third := newRecord("carol", nil)
		if err := st.RenewSession(ctx, old.Ref, third, base.Add(time.Minute)); !errors.Is(err, session.ErrNoSession) {
			t.Fatalf("renew of a dead session: %v, want ErrNoSession", err)
		}
		if _, err := st.LoadSession(ctx, third.Ref, base.Add(time.Minute)); !errors.Is(err, session.ErrNoSession) {
			t.Fatalf("a failed renew stored its record: %v", err)
		}
	})

	t.Run("ConcurrentFieldUpdates", func(t *testing.T) {
		st := open(t)
		rec := newRecord("dave", nil)
		mustCreate(t, st, rec)
		const n = 100
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				errs <- st.UpdateSession(ctx, rec.Ref, map[string]string{fmt.Sprintf("v:k%d", i): "x"}, nil, base.Add(time.Minute))
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		got, err := st.LoadSession(ctx, rec.Ref, base.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if got.Values[fmt.Sprintf("v:k%d", i)] != "x" {
				t.Fatalf("field v:k%d lost among %d concurrent updates (%d fields kept)", i, n, len(got.Values))
			}
		}
		if err := st.UpdateSession(ctx, rec.Ref, map[string]string{"v:new": "1"}, []string{"v:k0", "v:k1"}, base.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		got, _ = st.LoadSession(ctx, rec.Ref, base.Add(time.Minute))
		if _, ok := got.Values["v:k0"]; ok || got.Values["v:new"] != "1" || got.Values["v:k2"] != "x" {
			t.Fatalf("after set+delete: %v", got.Values)
		}
	})

	t.Run("UserSessions", func(t *testing.T) {
		st := open(t)
		var recs []*session.Record
		for i := range 3 {
			r := newRecord("erin", nil)
			r.Created = base.Add(time.Duration(i) * time.Second)
			mustCreate(t, st, r)
			recs = append(recs, r)
		}
		expired := newRecord("erin", nil)
		expired.Absolute, expired.IdleDeadline = base.Add(2*time.Minute), base.Add(2*time.Minute)
		mustCreate(t, st, expired)
		other := newRecord("frank", nil)
		mustCreate(t, st, other)
		anon := newRecord("", nil)
		mustCreate(t, st, anon)
		now := base.Add(5 * time.Minute)
		list, err := st.ListUserSessions(ctx, "erin", now)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 3 {
			t.Fatalf("listed %d sessions, want the 3 live ones", len(list))
		}
		for i, r := range list {
			if r.Ref != recs[i].Ref || r.UserID != "erin" {
				t.Fatalf("list[%d] = %v, want %v (oldest first)", i, r.Ref, recs[i].Ref)
			}
		}
		if err := st.DeleteSession(ctx, recs[0].Ref); err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteSession(ctx, recs[0].Ref); err != nil {
			t.Fatalf("deleting an absent session: %v", err)
		}
		n, err := st.DeleteUserSessions(ctx, "erin", now)
		if err != nil || n != 2 {
			t.Fatalf("DeleteUserSessions = %d, %v; want the 2 live ones", n, err)
		}
		for _, r := range append(recs, expired) {
			if _, err := st.LoadSession(ctx, r.Ref, now); !errors.Is(err, session.ErrNoSession) {
				t.Fatalf("session %v alive after DeleteUserSessions: %v", r.Ref, err)
			}
		}
		for _, r := range []*session.Record{other, anon} {
			if _, err := st.LoadSession(ctx, r.Ref, now); err != nil {
				t.Fatalf("another user's session ended too: %v", err)
			}
		}
		if n, err := st.DeleteUserSessions(ctx, "erin", now); err != nil || n != 0 {
			t.Fatalf("second DeleteUserSessions = %d, %v", n, err)
		}
	})

	t.Run("Closed", func(t *testing.T) {
		st := h.NewStore(t)
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := st.LoadSession(ctx, newRef(""), base); !errors.Is(err, session.ErrClosed) {
			t.Fatalf("LoadSession after Close: %v, want ErrClosed", err)
		}
		if err := st.CreateSession(ctx, newRecord("", nil)); !errors.Is(err, session.ErrClosed) {
			t.Fatalf("CreateSession after Close: %v, want ErrClosed", err)
		}
	})
}
