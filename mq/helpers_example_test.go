package mq_test

import (
	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/memmq"
)

// outage takes the in-process broker behind client down (down=true) and
// returns it, so the example can bring it back.
func outage(client *mq.Client, down bool) *memmq.Broker {
	var b *memmq.Broker
	if !client.As(&b) {
		panic("not a memmq client")
	}
	b.SetReachable(!down)
	return b
}
