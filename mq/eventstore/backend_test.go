package eventstore_test

import (
	"testing"

	"github.com/groundwork-go/groundwork/mq/eventstore"
	"github.com/groundwork-go/groundwork/mq/eventstore/backendtest"
)

func TestMemoryBackend(t *testing.T) {
	backendtest.Run(t, backendtest.Harness{New: func(testing.TB) eventstore.Backend { return eventstore.NewMemoryBackend() }})
}

func TestPostgresBackend(t *testing.T) {
	backendtest.Run(t, backendtest.Harness{New: newPostgresBackend})
}
