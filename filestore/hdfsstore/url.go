package hdfsstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/user"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/colinmarc/hdfs/v2"

	"github.com/groundwork-go/groundwork/filestore/driver"
)

// DefaultPort is the namenode RPC port used when an address has none.
const DefaultPort = "8020"

// config is what a URL says.
type config struct {
	addresses []string // host:port of each namenode
	base      string   // the store's directory, absolute and clean
	user      string   // "" until resolved by Open
	hostnames bool     // connect to datanodes by host name
	opts      Options
}

// knownParams are the URL's query parameters, for the error naming an
// unknown one.
const knownParams = "user, replication, block_size, datanode_hostname, timeout"

// parseURL reads an hdfs:// URL; it does no I/O and reads no environment.
func parseURL(u *url.URL) (*config, error) {
	if u.Scheme != Scheme {
		return nil, fmt.Errorf("%w: scheme %q, want %s://", driver.ErrBadURL, u.Scheme, Scheme)
	}
	if u.Opaque != "" || u.Host == "" {
		return nil, fmt.Errorf("%w: hdfs URL needs namenode addresses: hdfs://namenode:8020/base/dir", driver.ErrBadURL)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%w: user information in the host part is not used: give the HDFS user as ?user=", driver.ErrBadURL)
	}
	if u.Fragment != "" {
		return nil, fmt.Errorf("%w: a fragment (#%s) means nothing in an hdfs URL", driver.ErrBadURL, u.Fragment)
	}
	c := &config{}
	for _, a := range strings.Split(u.Host, ",") {
		addr, err := namenodeAddr(a)
		if err != nil {
			return nil, fmt.Errorf("%w: namenode address %q: %v", driver.ErrBadURL, a, err)
		}
		c.addresses = append(c.addresses, addr)
	}
	if !strings.HasPrefix(u.Path, "/") || path.Clean(u.Path) != strings.TrimSuffix(u.Path, "/") && path.Clean(u.Path) != u.Path {
		return nil, fmt.Errorf("%w: base directory %q: want an absolute, clean path", driver.ErrBadURL, u.Path)
	}
	c.base = path.Clean(u.Path)
	if c.base == "/" {
		return nil, fmt.Errorf("%w: hdfs URL needs a base directory other than /: hdfs://namenode:8020/base/dir", driver.ErrBadURL)
	}
	if reservedBase(c.base) {
		return nil, fmt.Errorf("%w: base directory %q: %s", driver.ErrBadURL, c.base, reservedBaseMsg)
	}
	if strings.ContainsRune(c.base, 0) {
		return nil, fmt.Errorf("%w: base directory %q holds NUL", driver.ErrBadURL, c.base)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("%w: query: %v", driver.ErrBadURL, err)
	}
	for k, vs := range q {
		if len(vs) > 1 {
			return nil, fmt.Errorf("%w: parameter %s given %d times", driver.ErrBadURL, k, len(vs))
		}
		v := vs[0]
		var err error
		switch k {
		case "user":
			if v == "" {
				err = errors.New("want a user name")
			}
			c.user = v
		case "replication":
			var n uint64
			n, err = strconv.ParseUint(v, 10, 15)
			if err == nil && n == 0 {
				err = errors.New("want > 0")
			}
			c.opts.Replication = int(n)
		case "block_size":
			c.opts.BlockSize, err = strconv.ParseInt(v, 10, 64)
			if err == nil {
				err = checkBlockSize(c.opts.BlockSize)
			}
		case "datanode_hostname":
			c.hostnames, err = strconv.ParseBool(v)
		case "timeout":
			c.opts.Timeout, err = time.ParseDuration(v)
			if err == nil && c.opts.Timeout <= 0 {
				err = errors.New("want > 0")
			}
		default:
			return nil, fmt.Errorf("%w: unknown parameter %q (known: %s)", driver.ErrBadURL, k, knownParams)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: parameter %s=%q: %v", driver.ErrBadURL, k, v, err)
		}
	}
	return c, nil
}

// namenodeAddr checks one address of the URL's host part, adding the
// default port when it has none.
func namenodeAddr(a string) (string, error) {
	if a == "" {
		return "", errors.New("empty")
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		if strings.Contains(a, ":") && !strings.HasPrefix(a, "[") {
			return "", err
		}
		host, port = strings.Trim(a, "[]"), DefaultPort
	}
	if host == "" {
		return "", errors.New("no host")
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return "", fmt.Errorf("port %q: want 1-65535", port)
	}
	return net.JoinHostPort(host, port), nil
}

func checkBlockSize(n int64) error {
	if n <= 0 || n%512 != 0 {
		return fmt.Errorf("block size %d: want a positive multiple of 512", n)
	}
	return nil
}

type hdfsDriver struct{}

// Open builds a client for the URL's namenodes, its connections bounded
// by the timeout, and opens the store on it.
func (hdfsDriver) Open(ctx context.Context, u *url.URL) (driver.Bucket, error) {
	c, err := parseURL(u)
	if err != nil {
		return nil, err
	}
	if c.user == "" {
		c.user = defaultUser()
	}
	if c.user == "" {
		return nil, fmt.Errorf("%w: no HDFS user: give ?user= (HADOOP_USER_NAME is unset and the OS user unknown)", driver.ErrBadURL)
	}
	timeout := c.opts.Timeout
	if timeout == 0 {
		timeout = defaultTimeout
	}
	client, err := hdfs.NewClient(hdfs.ClientOptions{
		Addresses:           c.addresses,
		User:                c.user,
		UseDatanodeHostname: c.hostnames,
		NamenodeDialFunc:    Dialer(timeout),
		DatanodeDialFunc:    Dialer(timeout),
	})
	if err != nil {
		return nil, fmt.Errorf("hdfs: connect to %s: %w", strings.Join(c.addresses, ","), err)
	}
	b, err := newBucket(ctx, client, c.base, &c.opts, true)
	if err != nil {
		client.Close()
		return nil, err
	}
	return b, nil
}

// defaultUser is the user Hadoop's own client would act as without
// Kerberos: HADOOP_USER_NAME, else the OS user.
func defaultUser() string {
	if u := os.Getenv("HADOOP_USER_NAME"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return ""
}
