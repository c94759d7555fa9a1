// Package rocketmq is the RocketMQ provider of package mq, on
// github.com/apache/rocketmq-client-go/v2. Import it for its side effect:
//
//	import _ "github.com/groundwork-go/groundwork/mq/rocketmq"
//
// and open a client with mq.Open(ctx, "rocketmq://ns1:9876;ns2:9876").
//
// Work in progress (issue 19): the provider is being built.
package rocketmq
