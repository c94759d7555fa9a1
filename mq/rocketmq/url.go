package rocketmq

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/groundwork-go/groundwork/mq/driver"
)

// params are the URL's parameters, listed in errors about an unknown one.
var params = []string{"namespace", "producer_group", "instance", "access_key", "secret_key", "security_token",
	"send_timeout", "queues", "create_topics", "consume_batch_size", "pull_batch_size", "max_message_bytes",
	"suspend_interval", "lock_interval"}

// config is what a rocketmq:// URL says: the name servers and Options.
type config struct {
	nameServers []string
	opts        Options
}

// parseURL reads a rocketmq:// URL (see # URLs). Every error wraps
// driver.ErrBadURL and names what is wrong; none quotes the secret key.
func parseURL(u *url.URL) (config, error) {
	var c config
	if u.Host == "" {
		return c, fmt.Errorf("%w: rocketmq:// URL names no name server", driver.ErrBadURL)
	}
	if u.Path != "" && u.Path != "/" {
		return c, fmt.Errorf("%w: rocketmq:// URLs take no path (%q)", driver.ErrBadURL, u.Path)
	}
	if u.Opaque != "" || u.Fragment != "" {
		return c, fmt.Errorf("%w: rocketmq:// URLs take no opaque part or fragment", driver.ErrBadURL)
	}
	for _, s := range strings.FieldsFunc(u.Host, func(r rune) bool { return r == ';' || r == ',' }) {
		host, port, err := net.SplitHostPort(s)
		if err != nil || host == "" {
			return c, fmt.Errorf("%w: name server %q: want host:port", driver.ErrBadURL, s)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return c, fmt.Errorf("%w: name server %q: port %q is not a number from 1 to 65535", driver.ErrBadURL, s, port)
		}
		c.nameServers = append(c.nameServers, s)
	}
	if len(c.nameServers) == 0 {
		return c, fmt.Errorf("%w: rocketmq:// URL names no name server", driver.ErrBadURL)
	}
	o := &c.opts
	if u.User != nil {
		// Credentials may come as userinfo: access key as the user, secret
		// key as the password.
		o.Credentials.AccessKey = u.User.Username()
		o.Credentials.SecretKey, _ = u.User.Password()
	}
	q, err := url.ParseQuery(u.RawQuery) // u.Query() drops a malformed pair
	if err != nil {
		return c, fmt.Errorf("%w: query: %v", driver.ErrBadURL, queryErr(err))
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys) // the first bad parameter reported is always the same one
	for _, k := range keys {
		vs := q[k]
		v := vs[len(vs)-1]
		if err := setParam(o, k, v); err != nil {
			return c, err
		}
	}
	if err := o.validate(); err != nil {
		return c, fmt.Errorf("%w: %v", driver.ErrBadURL, err)
	}
	return c, nil
}

// queryErr keeps url's error about a bad escape but not the text it
// quotes, which may be a secret.
func queryErr(err error) error {
	var esc url.EscapeError
	if errors.As(err, &esc) {
		return errors.New("invalid URL escape")
	}
	return err
}

// setParam applies one URL parameter to o.
func setParam(o *Options, k, v string) error {
	bad := func(want string) error {
		if k == "secret_key" || k == "security_token" || k == "access_key" {
			return fmt.Errorf("%w: %s: want %s", driver.ErrBadURL, k, want)
		}
		return fmt.Errorf("%w: %s=%q: want %s", driver.ErrBadURL, k, v, want)
	}
	intIn := func(lo, hi int) (int, error) {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return 0, bad(fmt.Sprintf("an integer from %d to %d", lo, hi))
		}
		return n, nil
	}
	dur := func() (time.Duration, error) {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > time.Hour {
			return 0, bad("a positive Go duration up to 1h, such as 3s")
		}
		return d, nil
	}
	var err error
	switch k {
	case "namespace":
		o.Namespace = v
	case "producer_group":
		if v == "" {
			return bad("a group name")
		}
		o.ProducerGroup = v
	case "instance":
		o.Instance = v
	case "access_key":
		o.Credentials.AccessKey = v
	case "secret_key":
		o.Credentials.SecretKey = v
	case "security_token":
		o.Credentials.SecurityToken = v
	case "send_timeout":
		o.SendTimeout, err = dur()
	case "suspend_interval":
		o.SuspendInterval, err = dur()
	case "lock_interval":
		o.LockInterval, err = dur()
	case "queues":
		o.Queues, err = intIn(1, 1024)
	case "consume_batch_size":
		o.ConsumeBatchSize, err = intIn(1, 1024)
	case "pull_batch_size":
		o.PullBatchSize, err = intIn(1, 1024)
	case "max_message_bytes":
		o.MaxMessageBytes, err = intIn(minMessageBytes, 1<<30)
	case "create_topics":
		b, perr := strconv.ParseBool(v)
		if perr != nil {
			return bad("true or false")
		}
		o.NoCreateTopics = !b
	default:
		return fmt.Errorf("%w: unknown parameter %q (known: %s)", driver.ErrBadURL, k, strings.Join(params, ", "))
	}
	return err
}

// credentialsSet reports whether any credential is given.
func credentialsSet(c primitive.Credentials) bool {
	return c.AccessKey != "" || c.SecretKey != "" || c.SecurityToken != ""
}
