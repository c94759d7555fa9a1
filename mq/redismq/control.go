package redismq

import (
	"sync"

	"github.com/redis/go-redis/v9"
)

// controls are the provider's own small clients, one per server, that send
// the CLIENT UNBLOCKs ending blocked reads (blocking.go). They keep apart
// from the pool of the go-redis client the provider was given: blocked
// reads may hold every connection of that pool (subscriptions × partitions
// above pool_size), and an UNBLOCK waiting for one of them would wait for
// a read to end by itself, after Block.
//
// A control client reaches the server of the node it is made for (the
// same address, dialer, credentials and TLS), which matters: a client ID
// means another connection on another server. It dials on first use and
// keeps one idle connection until the provider closes.
type controls struct {
	mu      sync.Mutex
	closed  bool
	clients map[string]*redis.Client // by the server's network and address
}

// controlPoolSize bounds the connections of one control client: UNBLOCKs
// are single round trips, and a Close sends one per partition at once.
const controlPoolSize = 4

// failoverAddr is the address go-redis gives a Sentinel (failover)
// client, whose dialer asks the sentinels for the master at every dial.
const failoverAddr = "FailoverClient"

// of returns the control client for node's server, or node itself once the
// provider is closed (a receiver outliving its conn still stops) and for
// a Sentinel client: go-redis drops that client's pooled connections to a
// demoted master on failover, but would not drop ours, and an UNBLOCK on
// the old master would end whatever blocks there under that client ID.
func (cs *controls) of(node *redis.Client) *redis.Client {
	o := node.Options()
	key := o.Network + "/" + o.Addr
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.closed || o.Addr == failoverAddr {
		return node
	}
	if c := cs.clients[key]; c != nil {
		return c
	}
	c := redis.NewClient(&redis.Options{
		// How node reaches its server: the same one, as the same user.
		Network:                      o.Network,
		Addr:                         o.Addr,
		Dialer:                       o.Dialer,
		OnConnect:                    o.OnConnect,
		Username:                     o.Username,
		Password:                     o.Password,
		CredentialsProvider:          o.CredentialsProvider,
		CredentialsProviderContext:   o.CredentialsProviderContext,
		StreamingCredentialsProvider: o.StreamingCredentialsProvider,
		DB:                           o.DB,
		TLSConfig:                    o.TLSConfig,
		ClientName:                   o.ClientName,
		DisableIdentity:              o.DisableIdentity,
		IdentitySuffix:               o.IdentitySuffix,
		DialTimeout:                  o.DialTimeout,
		ReadTimeout:                  o.ReadTimeout,
		WriteTimeout:                 o.WriteTimeout,
		ContextTimeoutEnabled:        o.ContextTimeoutEnabled,
		// Nothing else: RESP2 (no push notifications), no retries (an
		// UNBLOCK is never re-sent: see unblock), no pipeline pool.
		Protocol:         2,
		MaxRetries:       -1,
		PipelinePoolSize: -1,
		PoolSize:         controlPoolSize,
		MaxIdleConns:     1,
	})
	if cs.clients == nil {
		cs.clients = map[string]*redis.Client{}
	}
	cs.clients[key] = c
	return c
}

// close closes every control client; later UNBLOCKs go through the
// node's own pool.
func (cs *controls) close() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.closed = true
	for _, c := range cs.clients {
		_ = c.Close()
	}
	cs.clients = nil
}
