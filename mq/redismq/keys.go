package redismq

import (
	"strconv"

	"github.com/groundwork-go/groundwork/internal/redisx"
)

// Key layout. Every partition has its own hash tag, so its stream and its
// group leases live in one cluster slot and partitions spread over the
// cluster; topic-wide keys share the topic's tag. No script touches keys
// of two tags.
//
//	mq:{topic}:meta                    the topic's partition count
//	mq:{topic}:members:<group>         sorted set: live members by expiry
//	mq:{topic/p}                       stream of partition p
//	mq:{topic/p}:lease:<group>         the member that owns p in group
type keys struct {
	meta    string
	streams []string
}

func topicKeys(topic string, partitions int) keys {
	k := keys{meta: "mq:" + redisx.HashTag(topic) + ":meta", streams: make([]string, partitions)}
	for p := range k.streams {
		k.streams[p] = "mq:" + redisx.HashTag(topic+"/"+strconv.Itoa(p))
	}
	return k
}

func membersKey(topic, group string) string {
	return "mq:" + redisx.HashTag(topic) + ":members:" + group
}

func leaseKey(stream, group string) string { return stream + ":lease:" + group }

// partitionOf maps a key to a partition with 32-bit FNV-1a, the same for
// every client of any language that follows the package doc.
func partitionOf(key string, partitions int) int {
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= 16777619
	}
	return int(h % uint32(partitions))
}
