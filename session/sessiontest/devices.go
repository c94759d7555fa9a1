package sessiontest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/session"
)

// testDevices checks the DeviceStore part of the contract: remember-me
// devices stored, found, rotated by compare-and-set, listed and deleted.
func testDevices(t *testing.T, h Harness) {
	// Whole milliseconds: the finest time every store keeps (Redis).
	now := time.Now().Truncate(time.Millisecond)
	ctx := context.Background()
	open := func(t *testing.T) session.Store {
		s := h.NewStore(t)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}

	t.Run("SaveGet", func(t *testing.T) {
		s := open(t)
		d := newDevice("alice", now, time.Hour)
		if err := s.SaveDevice(ctx, d); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetDevice(ctx, d.Selector, now)
		if err != nil {
			t.Fatal(err)
		}
		sameDevice(t, got, d)
		if err := s.SaveDevice(ctx, d); !errors.Is(err, session.ErrInvalid) {
			t.Fatalf("saving a taken selector again: %v, want ErrInvalid", err)
		}
		if _, err := s.GetDevice(ctx, newDevice("alice", now, time.Hour).Selector, now); !errors.Is(err, session.ErrNoSession) {
			t.Fatalf("an unknown device: %v, want ErrNoSession", err)
		}
		if _, err := s.GetDevice(ctx, "not a selector", now); !errors.Is(err, session.ErrNoSession) {
			t.Fatalf("a malformed selector: %v, want ErrNoSession", err)
		}
	})

	t.Run("Invalid", func(t *testing.T) {
		s := open(t)
		for name, mod := range map[string]func(d *session.DeviceRecord){
			"selector":    func(d *session.DeviceRecord) { d.Selector = "x" },
			"other shard": func(d *session.DeviceRecord) { d.Selector = newDevice("bob", now, time.Hour).Selector },
			"user NUL": func(d *session.DeviceRecord) {
				d.UserID = "a\x00b"
				d.Selector = newDevice(d.UserID, now, time.Hour).Selector
			},
			"user empty": func(d *session.DeviceRecord) { d.UserID = "" },
			"user not UTF8": func(d *session.DeviceRecord) {
				d.UserID = "\xff"
				d.Selector = newDevice(d.UserID, now, time.Hour).Selector
			},
			"hash":       func(d *session.DeviceRecord) { d.Hash = "ABC" },
			"label":      func(d *session.DeviceRecord) { d.Label = strings.Repeat("x", 201) },
			"label NUL":  func(d *session.DeviceRecord) { d.Label = "a\x00" },
			"expired":    func(d *session.DeviceRecord) { d.Expires = d.LastUsed },
			"no created": func(d *session.DeviceRecord) { d.Created = time.Time{} },
		} {
			d := newDevice("alice", now, time.Hour)
			mod(d)
			if err := s.SaveDevice(ctx, d); !errors.Is(err, session.ErrInvalid) {
				t.Errorf("%s: %v, want ErrInvalid", name, err)
			}
		}
		if err := s.SaveDevice(ctx, nil); !errors.Is(err, session.ErrInvalid) {
			t.Errorf("nil device: %v, want ErrInvalid", err)
		}
	})

	t.Run("Expiry", func(t *testing.T) {
		s := open(t)
		d := newDevice("alice", now, time.Hour)
		if err := s.SaveDevice(ctx, d); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetDevice(ctx, d.Selector, now.Add(time.Hour-time.Millisecond)); err != nil {
			t.Fatalf("a millisecond before expiry: %v", err)
		}
		later := now.Add(time.Hour)
		if _, err := s.GetDevice(ctx, d.Selector, later); !errors.Is(err, session.ErrNoSession) {
			t.Fatalf("at expiry: %v, want ErrNoSession", err)
		}
		if err := s.RotateDevice(ctx, "alice", d.Selector, d.Hash, hashOf("v2"), later, later.Add(time.Minute), later.Add(time.Hour)); !errors.Is(err, session.ErrNoSession) {
			t.Fatalf("rotating an expired device: %v, want ErrNoSession", err)
		}
		if ds, err := s.ListDevices(ctx, "alice", later); err != nil || len(ds) != 0 {
			t.Fatalf("listing after expiry: %v %v, want none", ds, err)
		}
	})

	t.Run("Rotate", func(t *testing.T) {
		s := open(t)
		d := newDevice("alice", now, time.Hour)
		if err := s.SaveDevice(ctx, d); err != nil {
			t.Fatal(err)
		}
		at := now.Add(10 * time.Minute)
		if err := s.RotateDevice(ctx, "alice", d.Selector, d.Hash, hashOf("v2"), at, at.Add(time.Minute), at.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetDevice(ctx, d.Selector, at)
		if err != nil {
			t.Fatal(err)
		}
		want := *d
		want.Hash, want.PrevHash, want.PrevUntil, want.LastUsed, want.Expires = hashOf("v2"), d.Hash, at.Add(time.Minute), at, at.Add(time.Hour)
		sameDevice(t, got, &want)
		// The expiry moved with the use: the device lives past its first.
		if _, err := s.GetDevice(ctx, d.Selector, now.Add(time.Hour)); err != nil {
			t.Fatalf("after the first expiry, the rotated device: %v", err)
		}
		if err := s.RotateDevice(ctx, "alice", d.Selector, d.Hash, hashOf("v3"), at, at, at.Add(time.Hour)); !errors.Is(err, session.ErrDeviceChanged) {
			t.Fatalf("rotating from a stale hash: %v, want ErrDeviceChanged", err)
		}
		if err := s.RotateDevice(ctx, "mallory", d.Selector, hashOf("v2"), hashOf("v3"), at, at, at.Add(time.Hour)); !errors.Is(err, session.ErrNoSession) && !errors.Is(err, session.ErrInvalid) {
			t.Fatalf("rotating another user's device: %v, want ErrNoSession", err)
		}
		if err := s.RotateDevice(ctx, "alice", newDevice("alice", now, time.Hour).Selector, d.Hash, hashOf("v3"), at, at, at.Add(time.Hour)); !errors.Is(err, session.ErrNoSession) {
			t.Fatalf("rotating an unknown device: %v, want ErrNoSession", err)
		}
		if got, _ := s.GetDevice(ctx, d.Selector, at); got == nil || got.Hash != hashOf("v2") {
			t.Fatalf("after refused rotations the hash is %+v, want v2's", got)
		}
	})

	t.Run("RotateRace", func(t *testing.T) {
		// Of callers rotating from the same hash at once, exactly one wins.
		s := open(t)
		d := newDevice("alice", now, time.Hour)
		if err := s.SaveDevice(ctx, d); err != nil {
			t.Fatal(err)
		}
		const n = 8
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				errs[i] = s.RotateDevice(ctx, "alice", d.Selector, d.Hash, hashOf(string(rune('a'+i))), now, now.Add(time.Minute), now.Add(time.Hour))
			})
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, session.ErrDeviceChanged):
				t.Errorf("a losing rotation: %v, want ErrDeviceChanged", err)
			}
		}
		if won != 1 {
			t.Fatalf("%d rotations won, want exactly 1", won)
		}
	})

	t.Run("ListDelete", func(t *testing.T) {
		s := open(t)
		var alice []*session.DeviceRecord
		for i := range 3 {
			d := newDevice("alice", now.Add(time.Duration(i)*time.Second), time.Hour)
			alice = append(alice, d)
			if err := s.SaveDevice(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
		bob := newDevice("bob", now, time.Hour)
		if err := s.SaveDevice(ctx, bob); err != nil {
			t.Fatal(err)
		}
		list := func(user string) []*session.DeviceRecord {
			ds, err := s.ListDevices(ctx, user, now)
			if err != nil {
				t.Fatal(err)
			}
			return ds
		}
		got := list("alice")
		if len(got) != 3 {
			t.Fatalf("alice's devices: %d, want 3", len(got))
		}
		for i := range got {
			sameDevice(t, got[i], alice[i]) // oldest first
		}
		if ds := list("nobody"); len(ds) != 0 {
			t.Fatalf("a user with no devices has %d", len(ds))
		}
		// Bob cannot delete Alice's device by its selector.
		if err := s.DeleteDevice(ctx, "bob", alice[0].Selector); err != nil {
			t.Fatal(err)
		}
		if len(list("alice")) != 3 {
			t.Fatal("another user's DeleteDevice removed a device")
		}
		if err := s.DeleteDevice(ctx, "alice", alice[1].Selector); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetDevice(ctx, alice[1].Selector, now); !errors.Is(err, session.ErrNoSession) {
			t.Fatalf("a deleted device: %v, want ErrNoSession", err)
		}
		if got := list("alice"); len(got) != 2 || got[0].Selector != alice[0].Selector || got[1].Selector != alice[2].Selector {
			t.Fatalf("after deleting one: %+v", got)
		}
		if err := s.DeleteDevice(ctx, "alice", alice[1].Selector); err != nil {
			t.Fatalf("deleting it again: %v", err)
		}
		if n, err := s.DeleteUserDevices(ctx, "alice"); err != nil || n != 2 {
			t.Fatalf("DeleteUserDevices: %d %v, want 2", n, err)
		}
		if ds := list("alice"); len(ds) != 0 {
			t.Fatalf("after DeleteUserDevices alice has %d", len(ds))
		}
		for _, d := range alice {
			if _, err := s.GetDevice(ctx, d.Selector, now); !errors.Is(err, session.ErrNoSession) {
				t.Fatalf("device %s after DeleteUserDevices: %v", d.Selector, err)
			}
		}
		if ds := list("bob"); len(ds) != 1 {
			t.Fatalf("bob's devices after alice's went: %d, want 1", len(ds))
		}
		if n, err := s.DeleteUserDevices(ctx, "alice"); err != nil || n != 0 {
			t.Fatalf("DeleteUserDevices again: %d %v, want 0", n, err)
		}
	})

	t.Run("Closed", func(t *testing.T) {
		s := h.NewStore(t)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		d := newDevice("alice", now, time.Hour)
		if err := s.SaveDevice(ctx, d); !errors.Is(err, session.ErrClosed) {
			t.Fatalf("SaveDevice after Close: %v", err)
		}
		if _, err := s.GetDevice(ctx, d.Selector, now); !errors.Is(err, session.ErrClosed) {
			t.Fatalf("GetDevice after Close: %v", err)
		}
		if _, err := s.ListDevices(ctx, "alice", now); !errors.Is(err, session.ErrClosed) {
			t.Fatalf("ListDevices after Close: %v", err)
		}
		if _, err := s.DeleteUserDevices(ctx, "alice"); !errors.Is(err, session.ErrClosed) {
			t.Fatalf("DeleteUserDevices after Close: %v", err)
		}
	})
}

// newDevice returns a device of userID as the session package makes them:
// a selector of the user's shard and 16 random bytes, a validator hash.
func newDevice(userID string, created time.Time, lifetime time.Duration) *session.DeviceRecord {
	sum := sha256.Sum256([]byte(userID))
	var r [16]byte
	_, _ = rand.Read(r[:])
	sel := hex.EncodeToString(sum[:4]) + base64.RawURLEncoding.EncodeToString(r[:])
	return &session.DeviceRecord{
		Device: session.Device{Selector: sel, UserID: userID, Label: "Firefox on Linux",
			Created: created, LastUsed: created, Expires: created.Add(lifetime)},
		Hash: hashOf(sel),
	}
}

func hashOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func sameDevice(t *testing.T, got, want *session.DeviceRecord) {
	t.Helper()
	if got.Selector != want.Selector || got.UserID != want.UserID || got.Label != want.Label ||
		got.Hash != want.Hash || got.PrevHash != want.PrevHash ||
		!got.Created.Equal(want.Created) || !got.LastUsed.Equal(want.LastUsed) || !got.Expires.Equal(want.Expires) ||
		(want.PrevHash != "" && !got.PrevUntil.Equal(want.PrevUntil)) {
		t.Fatalf("device\n got %+v\nwant %+v", got, want)
	}
}
