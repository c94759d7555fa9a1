package mq_test

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/resilience"
)

var fastBackoff = mq.WithRedeliveryBackoff(resilience.RetryPolicy{InitialInterval: time.Millisecond})

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
