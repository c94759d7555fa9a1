package outbox_test

import (
	"context"
	"errors"
	"testing"

	"github.com/groundwork-go/groundwork/mq/outbox"
)

// TestTableNamesCannotCollide: a table name ending in a suffix the
// package derives names with (_partitions, _pending, _sent) is refused.
// Otherwise outbox "o_sent" and outbox "o" share a relation name: made
// first, table o_sent makes "o"'s CREATE INDEX IF NOT EXISTS o_sent a
// silent no-op (o relays without its index), and outbox "o_partitions"
// is "o"'s partitions table, whose rows the other's relay would lock.
func TestTableNamesCannotCollide(t *testing.T) {
	bus, _ := newBus(t)
	pool := newPool(t, newDB(t))
	for _, name := range []string{"o_partitions", "o_pending", "o_sent"} {
		ob, err := outbox.New(context.Background(), pool, bus, outbox.WithTable(name))
		if err == nil {
			ob.Close()
		}
		if !errors.Is(err, outbox.ErrInvalid) {
			t.Errorf("New(WithTable(%q)): %v, want ErrInvalid", name, err)
		}
	}
}
