package redismq

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// blockingReader runs one partition reader's XREADGROUPs so that stopping
// the reader ends a blocked read at once (interrupt) rather than after
// Block.
//
// Cancelling the command's context would not do: go-redis v9 does not
// watch a context once the command is written (it takes only a deadline
// from it, and only with ContextTimeoutEnabled), so the read runs until
// the reply or Block+10s. Cutting the connection would not do either: a
// reply cut off leaves the entries the server delivered pending for this
// member, unseen. CLIENT UNBLOCK <id> TIMEOUT, sent to the same server on
// another connection, makes the server answer the blocked XREADGROUP as
// if its block had run out: no entries, and the connection goes back to
// the pool clean. If the server served the read first, UNBLOCK does
// nothing and the reply arrives whole; the stopped reader hands its
// entries back.
//
// So a read that would block runs on a connection whose client ID is
// known: it is taken from the pool for the one read (Conn), asked CLIENT
// ID, and given back after, so a reader holds a pooled connection only
// while it blocks, as a plain read does. Each read first goes without
// BLOCK through the pool, and only an empty answer pays for CLIENT ID: a
// busy partition's reads cost what they did.
//
// The UNBLOCK goes through the provider's control client for that server
// (control.go), not the pool the reads take their connections from: the
// blocked reads may hold all of it.
//
// It needs the server of the stream: a *redis.Client (standalone or
// Sentinel), a *redis.ClusterClient (the stream's master) or a
// *redis.Ring. Any other UniversalClient, or a server that refuses CLIENT
// ID or CLIENT UNBLOCK (an ACL without them), gets plain reads, which
// stop within Block.
type blockingReader struct {
	rdb    redis.UniversalClient
	ctl    *controls // sends the UNBLOCKs
	stream string
	noID   bool // CLIENT ID refused: plain reads (the reader goroutine's)

	// mu is held by interrupt while its UNBLOCK is on the wire, and by
	// read to clear id before the connection goes back to the pool: an
	// UNBLOCK must never reach a connection that serves someone else. One
	// that went unanswered may arrive later still: the connection is
	// then killed rather than given back (doubt).
	mu      sync.Mutex
	node    *redis.Client // the stream's server, while id is set
	id      int64         // client ID of the connection a read blocks on; 0 for none
	stopped bool          // interrupt began: no read blocks any more
	doubt   bool          // an UNBLOCK went unanswered: it may still arrive
}

func newBlockingReader(rdb redis.UniversalClient, ctl *controls, stream string) *blockingReader {
	return &blockingReader{rdb: rdb, ctl: ctl, stream: stream}
}

// read runs XREADGROUP with args (whose Block is the longest wait). ctx
// must not be cancelled while a read runs (see claim): only interrupt
// ends it. Called from one goroutine.
func (b *blockingReader) read(ctx context.Context, args *redis.XReadGroupArgs) ([]redis.XStream, error) {
	res, err := readNow(ctx, b.rdb, args)
	if !errors.Is(err, redis.Nil) {
		return res, err // entries, or a failure
	}
	node, err := b.server(ctx)
	if node == nil || err != nil {
		if err == nil {
			res, err = b.rdb.XReadGroup(ctx, args).Result()
		}
		return res, err
	}
	conn := node.Conn()
	defer conn.Close()
	id, err := conn.ClientID(ctx).Result()
	var rerr redis.Error
	switch {
	case errors.As(err, &rerr): // refused: plain reads from now on
		b.noID = true
		return conn.XReadGroup(ctx, args).Result()
	case err != nil:
		return nil, err
	}
	b.mu.Lock()
	if b.stopped {
		b.mu.Unlock()
		return nil, redis.Nil
	}
	b.node, b.id = node, id
	b.mu.Unlock()
	res, err = conn.XReadGroup(ctx, args).Result()
	b.mu.Lock()
	doubt := b.doubt
	b.node, b.id = nil, 0
	b.mu.Unlock()
	if doubt {
		// An UNBLOCK went unanswered and may reach the server yet, when
		// the connection would serve someone else: it must not go back
		// to the pool. Killed, its client ID is gone for good (Redis
		// never reuses one), and the PING that then fails has go-redis
		// drop it instead of pooling it (SKIPME no: a client's own
		// kill is skipped by default).
		_ = conn.ClientKillByFilter(ctx, "ID", strconv.FormatInt(id, 10), "SKIPME", "no").Err()
		_ = conn.Ping(ctx).Err()
	}
	if redis.HasErrorPrefix(err, "MOVED") || redis.HasErrorPrefix(err, "ASK") {
		if cc, ok := b.rdb.(*redis.ClusterClient); ok {
			cc.ReloadState(ctx) // the slot moved: find its new master
		}
	}
	return res, err
}

// server returns the client of the stream's server, or nil when reads
// cannot be interrupted.
func (b *blockingReader) server(ctx context.Context) (*redis.Client, error) {
	if b.noID {
		return nil, nil
	}
	switch c := b.rdb.(type) {
	case *redis.Client:
		return c, nil
	case *redis.ClusterClient:
		return c.MasterForKey(ctx, b.stream)
	case *redis.Ring:
		return c.GetShardClientForKey(b.stream)
	}
	b.noID = true
	return nil, nil
}

// interrupt ends the reader's blocked reads until done is closed (the
// reader has exited); the reader's context must be cancelled first, so
// that it starts no more. An UNBLOCK may come before the XREADGROUP
// reaches the server, which would then block for the whole of Block, so
// it is repeated, more and more rarely, until the reader is gone.
func (b *blockingReader) interrupt(done <-chan struct{}) {
	b.mu.Lock()
	b.stopped = true
	b.mu.Unlock()
	t := time.NewTimer(0)
	defer t.Stop()
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		select {
		case <-done:
			return
		case <-t.C:
		}
		if b.unblock() != nil {
			<-done // refused (ACL): the read ends within Block
			return
		}
		t.Reset(wait)
	}
}

// unblock sends CLIENT UNBLOCK for the read blocked now, if any; it fails
// only when the server refuses the command.
func (b *blockingReader) unblock() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.id == 0 {
		return nil
	}
	if testHookUnblock != nil {
		testHookUnblock(b.stream)
	}
	// The wait for a connection (other UNBLOCKs hold the control
	// client's few) is short: while mu is held the reader cannot give
	// its own back.
	ctx, cancel := context.WithTimeout(context.Background(), unblockPoolWait)
	defer cancel()
	// Never re-sent by go-redis (noRetry): one re-sent would hide that
	// the first went unanswered.
	cmd := redis.NewIntCmd(ctx, "client", "unblock", b.id)
	_ = b.ctl.of(b.node).Process(ctx, noRetry{cmd})
	err := cmd.Err()
	var rerr redis.Error
	if errors.As(err, &rerr) {
		return err
	}
	if err != nil {
		// Perhaps written and not yet read by the server: it may end
		// whatever blocks on the connection when it arrives (see read).
		b.doubt = true
	}
	return nil // unblocked, not blocked yet, or unreachable: try again
}

// unblockPoolWait bounds how long one UNBLOCK waits for a connection of
// the control client, or its dial (and, on a client with
// ContextTimeoutEnabled, for its answer) before interrupt tries again.
const unblockPoolWait = 250 * time.Millisecond

// testHookUnblock, when set (by tests only, before Subscribe), runs before
// every CLIENT UNBLOCK a stopping reader sends.
var testHookUnblock func(stream string)
