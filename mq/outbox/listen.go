package outbox

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/groundwork-go/groundwork/internal/retrying"
)

// listen wakes the relay on each notification Enqueue sends, over a
// connection of its own taken from the pool, until ctx ends. A lost
// connection is opened again after a backoff; polling covers the gap.
func (o *Outbox) listen(ctx context.Context, wake chan<- struct{}) {
	bo := retrying.NewLoopBackOff(o.opts.retry)
	for {
		err := o.listenOnce(ctx, wake, bo.Reset)
		if ctx.Err() != nil {
			return
		}
		o.opts.logger.Debug("outbox: listening for notifications failed; polling meanwhile", "table", o.opts.table, "err", err)
		t := time.NewTimer(bo.NextBackOff())
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

func (o *Outbox) listenOnce(ctx context.Context, wake chan<- struct{}, listening func()) error {
	pc, err := o.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// Hijacked: the connection is ours until we close it, and never goes
	// back to the pool LISTENing.
	conn := pc.Hijack()
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{o.opts.table}.Sanitize()); err != nil {
		return err
	}
	listening()
	for {
		// Also once at the start: rows may have come before LISTEN.
		select {
		case wake <- struct{}{}:
		default:
		}
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
	}
}
