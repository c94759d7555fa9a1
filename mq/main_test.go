package mq_test

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/groundwork-go/groundwork/mq"
)

var fastBackoff = mq.WithRedeliveryBackoff(mq.RetryPolicy{InitialInterval: time.Millisecond})

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
