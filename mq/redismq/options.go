package redismq

import (
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"time"

	"github.com/groundwork-go/groundwork/mq/driver"
)

// Options configures a connection made by New. The zero value (or nil) is
// usable; each field's default is given with it.
type Options struct {
	// Partitions is the number of streams a topic is split into when this
	// connection is the first to use the topic; default 8. A topic keeps
	// the count it was created with (see the package doc).
	Partitions int
	// MaxLen trims each partition stream to about this many entries as it
	// is appended to (XADD MAXLEN ~); default 1,000,000; -1 turns it off.
	MaxLen int64
	// MaxAge trims entries older than this (XTRIM MINID ~), checked at
	// most once a minute per stream by publishers; default 7 days; -1
	// turns it off.
	MaxAge time.Duration
	// VisibilityTimeout is how long a member may go without renewing its
	// membership and partition leases before it counts as dead: its
	// partitions pass to live members, which reclaim (XCLAIM) what it
	// had received and not acknowledged. Default 30s.
	VisibilityTimeout time.Duration
	// HeartbeatInterval is how often a member renews its leases and looks
	// for members joining or leaving; default VisibilityTimeout/10.
	HeartbeatInterval time.Duration
	// Block is how long one XREADGROUP waits for new entries; default 1s.
	// Close and hand-overs end a blocked read at once where the server
	// allows CLIENT UNBLOCK (see # Connections), and wait up to Block
	// where it does not.
	Block time.Duration
	// ReadCount is how many entries one XREADGROUP returns at most;
	// default 256.
	ReadCount int
	// AckInterval is how long an acknowledgement may wait to be sent
	// with others in one XACK; default 100ms. A member that dies
	// redelivers what it handled in that window.
	AckInterval time.Duration
	// MaxMessageBytes is the largest message Publish accepts (key,
	// payload and headers); default 1 MiB.
	MaxMessageBytes int
	// Logger receives warnings about failing background work (reads,
	// acknowledgements, leases); default slog.Default().
	Logger *slog.Logger
}

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.Partitions <= 0 {
		r.Partitions = 8
	}
	if r.MaxLen == 0 {
		r.MaxLen = 1_000_000
	}
	if r.MaxAge == 0 {
		r.MaxAge = 7 * 24 * time.Hour
	}
	if r.VisibilityTimeout <= 0 {
		r.VisibilityTimeout = 30 * time.Second
	}
	if r.HeartbeatInterval <= 0 {
		r.HeartbeatInterval = r.VisibilityTimeout / 10
	}
	if r.Block <= 0 {
		r.Block = time.Second
	}
	if r.ReadCount <= 0 {
		r.ReadCount = 256
	}
	if r.AckInterval <= 0 {
		r.AckInterval = 100 * time.Millisecond
	}
	if r.MaxMessageBytes <= 0 {
		r.MaxMessageBytes = 1 << 20
	}
	if r.Logger == nil {
		r.Logger = slog.Default()
	}
	return r
}

func (o *Options) validate() error {
	switch {
	case o.Partitions > maxPartitions:
		return fmt.Errorf("Options.Partitions %d: at most %d", o.Partitions, maxPartitions)
	case o.HeartbeatInterval*2 > o.VisibilityTimeout:
		return fmt.Errorf("Options.HeartbeatInterval %v must be at most half of VisibilityTimeout %v", o.HeartbeatInterval, o.VisibilityTimeout)
	case o.Block < time.Millisecond:
		return fmt.Errorf("Options.Block %v: at least 1ms", o.Block)
	}
	return nil
}

const maxPartitions = 1024

// Parameters this package takes out of the URL; the rest go to go-redis.
var ownParams = []string{"partitions", "max_len", "max_age", "visibility_timeout", "heartbeat_interval",
	"block", "read_count", "ack_interval", "max_message_bytes"}

// parseParams takes this package's parameters out of q into Options.
func parseParams(q url.Values) (Options, error) {
	var o Options
	bad := func(k, v, want string) error {
		return fmt.Errorf("%w: %s=%q: want %s", driver.ErrBadURL, k, v, want)
	}
	for _, k := range ownParams {
		vs, ok := q[k]
		if !ok {
			continue
		}
		v := vs[len(vs)-1]
		q.Del(k)
		switch k {
		case "partitions", "read_count", "max_message_bytes":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1<<30 {
				return o, bad(k, v, "a positive integer")
			}
			switch k {
			case "partitions":
				if n > maxPartitions {
					return o, bad(k, v, fmt.Sprintf("at most %d", maxPartitions))
				}
				o.Partitions = n
			case "read_count":
				o.ReadCount = n
			default:
				o.MaxMessageBytes = n
			}
		case "max_len":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || (n < 1 && n != -1) {
				return o, bad(k, v, "a positive integer, or -1 for no limit")
			}
			o.MaxLen = n
		default: // durations
			d, err := time.ParseDuration(v)
			if k == "max_age" && v == "-1" {
				d, err = -1, nil
			}
			if err != nil || d == 0 || (d < 0 && !(k == "max_age" && d == -1)) {
				return o, bad(k, v, "a positive Go duration such as 500ms")
			}
			switch k {
			case "max_age":
				o.MaxAge = d
			case "visibility_timeout":
				o.VisibilityTimeout = d
			case "heartbeat_interval":
				o.HeartbeatInterval = d
			case "block":
				o.Block = d
			default:
				o.AckInterval = d
			}
		}
	}
	return o, nil
}
