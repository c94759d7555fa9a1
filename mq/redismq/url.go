package redismq

import (
	"errors"
	"fmt"
	"net/url"
	"reflect"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/redisx"
	"github.com/groundwork-go/groundwork/mq/driver"
)

// ParseURL splits a URL of this package (see # URLs) into the go-redis
// client options it names and this package's Options, so that one URL —
// one REDIS_URL — configures one go-redis client that mq (through New),
// lock, cache and the application share:
//
//	ropts, opts, err := redismq.ParseURL(os.Getenv("REDIS_URL"))
//	rdb := redis.NewUniversalClient(ropts) // a ClusterClient for a Cluster URL
//	conn, err := redismq.New(rdb, opts)
//
// The client is the one mq.Open would build from the same URL, retries
// included: go-redis's own are off unless the URL sets max_retries (see #
// URLs). Errors wrap mq.ErrBadURL and name the parameter.
func ParseURL(rawURL string) (*redis.UniversalOptions, *Options, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// Not url.Error's text: it quotes the URL, password and all.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		var esc url.EscapeError
		if errors.As(err, &esc) {
			err = errors.New("invalid URL escape") // its text would quote the password
		}
		return nil, nil, fmt.Errorf("%w: the URL does not parse: %v", driver.ErrBadURL, err)
	}
	simple, cluster, o, err := splitURL(u)
	if err != nil {
		return nil, nil, err
	}
	var uo *redis.UniversalOptions
	if cluster != nil {
		uo, err = universalOptions(cluster)
		if uo != nil {
			uo.IsClusterMode = true
		}
	} else {
		uo, err = universalOptions(simple)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", driver.ErrBadURL, err)
	}
	return uo, &o, nil
}

// parseURL splits u into this package's Options and a go-redis client
// built from the rest.
func parseURL(u *url.URL) (redis.UniversalClient, Options, error) {
	simple, cluster, o, err := splitURL(u)
	if err != nil {
		return nil, o, err
	}
	if cluster != nil {
		return redis.NewClusterClient(cluster), o, nil
	}
	return redis.NewClient(simple), o, nil
}

// splitURL takes this package's parameters out of u into Options and
// parses the rest as go-redis options: Cluster ones for a Redis Cluster,
// else standalone ones.
func splitURL(u *url.URL) (*redis.Options, *redis.ClusterOptions, Options, error) {
	q, err := url.ParseQuery(u.RawQuery) // u.Query() drops a malformed pair
	if err != nil {
		return nil, nil, Options{}, fmt.Errorf("%w: query: %v", driver.ErrBadURL, err)
	}
	o, err := parseParams(q)
	if err != nil {
		return nil, nil, o, err
	}
	rest := *u
	rest.RawQuery = q.Encode()
	simple, cluster, err := redisx.ParseOptions(&rest, true)
	if err != nil {
		return nil, nil, o, fmt.Errorf("%w: %v (redismq takes %v; any other parameter goes to go-redis)", driver.ErrBadURL, err, ownParams)
	}
	d := o.withDefaults()
	if err := d.validate(); err != nil {
		return nil, nil, o, fmt.Errorf("%w: %v (parameters heartbeat_interval, visibility_timeout, block)", driver.ErrBadURL, err)
	}
	return simple, cluster, o, nil
}

// universalOptions copies the fields go-redis set in src (a
// *redis.Options or *redis.ClusterOptions parsed from a URL) into
// UniversalOptions, by name. A field set in src that UniversalOptions has
// no place for is an error, not dropped: a URL parameter must not be
// silently lost, whatever go-redis adds to its URLs in a later version.
func universalOptions(src any) (*redis.UniversalOptions, error) {
	dst := &redis.UniversalOptions{}
	dv := reflect.ValueOf(dst).Elem()
	sv := reflect.ValueOf(src).Elem()
	for i := range sv.NumField() {
		f, v := sv.Type().Field(i), sv.Field(i)
		if !f.IsExported() || v.IsZero() {
			continue
		}
		switch {
		case f.Name == "Addr":
			dst.Addrs = []string{v.String()}
			continue
		case f.Name == "Network" && v.String() == "tcp": // UniversalOptions' only network
			continue
		}
		d := dv.FieldByName(f.Name)
		if !d.IsValid() || d.Type() != f.Type {
			return nil, fmt.Errorf("go-redis option %s=%v has no place in redis.UniversalOptions", f.Name, v)
		}
		d.Set(v)
	}
	return dst, nil
}
