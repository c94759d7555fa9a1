// Package redisx holds what every Redis-backed package of groundwork needs:
// a go-redis client from a URL (standalone or Cluster), the classification
// of errors worth retrying, and cluster hash tags.
package redisx

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"

	"github.com/redis/go-redis/v9"
)

// NewClient builds a client from a redis:// or rediss:// URL. The query may
// hold every parameter go-redis's ParseURL (or ParseClusterURL) knows, plus:
//
//   - cluster=true: connect to a Redis Cluster; more seed nodes may follow
//     as addr=host:port parameters (go-redis's own form).
//
// A host list (redis://h1:6379,h2:6379,h3:6379) is the short cluster form:
// the first host is the URL's host and the rest become addr parameters.
// Errors name the offending part of the URL.
//
// With noRetries, go-redis's own retries are off unless the URL sets
// max_retries: for callers whose retry policy owns retrying, so that a
// failed write is neither retried twice nor delayed by hidden attempts.
func NewClient(u *url.URL, noRetries bool) (redis.UniversalClient, error) {
	simple, cluster, err := ParseOptions(u, noRetries)
	if err != nil {
		return nil, err
	}
	if cluster != nil {
		return redis.NewClusterClient(cluster), nil
	}
	return redis.NewClient(simple), nil
}

// ParseOptions parses u as NewClient does and returns the options of the
// client it would build: Cluster options for a Redis Cluster, else
// standalone ones (exactly one is non-nil).
func ParseOptions(u *url.URL, noRetries bool) (*redis.Options, *redis.ClusterOptions, error) {
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return nil, nil, fmt.Errorf("scheme %q: want redis or rediss", u.Scheme)
	}
	if u.Host == "" {
		return nil, nil, errors.New("the URL names no host")
	}
	q := u.Query()
	cluster := false
	if v := q.Get("cluster"); v != "" {
		switch v {
		case "true", "1":
			cluster = true
		case "false", "0":
		default:
			return nil, nil, fmt.Errorf("cluster=%q: want true or false", v)
		}
		q.Del("cluster")
	}
	c := *u
	if hosts := strings.Split(u.Host, ","); len(hosts) > 1 {
		cluster = true
		for i, h := range hosts {
			if _, _, err := net.SplitHostPort(h); err != nil {
				return nil, nil, fmt.Errorf("host %q: want host:port", h)
			}
			if i > 0 {
				q.Add("addr", h)
			}
		}
		c.Host = hosts[0]
	}
	c.RawQuery = q.Encode()
	retries := 0
	if noRetries && !q.Has("max_retries") {
		retries = -1
	}
	if cluster {
		if c.Path != "" && c.Path != "/" && c.Path != "/0" {
			return nil, nil, fmt.Errorf("path %q: a Redis Cluster has only database 0", c.Path)
		}
		c.Path = ""
		o, err := redis.ParseClusterURL(c.String())
		if err != nil {
			return nil, nil, err
		}
		if retries != 0 {
			o.MaxRetries = retries
		}
		return nil, o, nil
	}
	o, err := redis.ParseURL(c.String())
	if err != nil {
		return nil, nil, err
	}
	if retries != 0 {
		o.MaxRetries = retries
	}
	return o, nil, nil
}

// Retryable reports whether err is a failure that a later attempt may not
// meet: the network, a server loading or failing over, a pool exhausted
// for now, or a cluster being reconfigured. Context errors are not.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, redis.ErrClosed) {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, redis.ErrPoolTimeout) || errors.Is(err, redis.ErrPoolExhausted) {
		return true
	}
	return redis.IsLoadingError(err) || redis.IsClusterDownError(err) || redis.IsTryAgainError(err) ||
		redis.IsMasterDownError(err) || redis.IsReadOnlyError(err) || redis.IsMaxClientsError(err) ||
		redis.IsNoReplicasError(err) || redis.HasErrorPrefix(err, "BUSY")
}

// HashTag returns "{s}", with any "}" in s escaped (and "\\" too, so that
// distinct strings keep distinct tags), so that the whole of s, and nothing
// else, decides the cluster slot of a key that contains the tag.
func HashTag(s string) string {
	if strings.ContainsAny(s, "}\\") {
		s = tagEscaper.Replace(s)
	}
	return "{" + s + "}"
}

var tagEscaper = strings.NewReplacer(`\`, `\\`, "}", `\)`)
