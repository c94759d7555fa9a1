package rocketmq

import (
	rmq "github.com/apache/rocketmq-client-go/v2"
)

// Scheme is the URL scheme the provider registers.
const Scheme = "rocketmq"

var _ rmq.Producer = rmq.Producer(nil)
