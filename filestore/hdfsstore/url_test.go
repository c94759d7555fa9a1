package hdfsstore

import (
	"errors"
	"net/url"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/filestore/driver"
)

func TestParseURL(t *testing.T) {
	for _, c := range []struct {
		url   string
		addrs []string
		base  string
		user  string
		opts  Options
		host  bool
	}{
		{url: "hdfs://nn:8020/base", addrs: []string{"nn:8020"}, base: "/base"},
		{url: "hdfs://nn/a/b/", addrs: []string{"nn:8020"}, base: "/a/b"},
		{url: "hdfs://nn1:9000,nn2:9001/data?user=etl", addrs: []string{"nn1:9000", "nn2:9001"}, base: "/data", user: "etl"},
		{url: "hdfs://nn1,nn2/data", addrs: []string{"nn1:8020", "nn2:8020"}, base: "/data"},
		{url: "hdfs://10.0.0.1:8020,10.0.0.2:8020/x", addrs: []string{"10.0.0.1:8020", "10.0.0.2:8020"}, base: "/x"},
		{url: "hdfs://[::1]:9000/x", addrs: []string{"[::1]:9000"}, base: "/x"},
		{url: "hdfs://nn/x?replication=2&block_size=1048576&timeout=5s&datanode_hostname=true", addrs: []string{"nn:8020"}, base: "/x",
			opts: Options{Replication: 2, BlockSize: 1 << 20, Timeout: 5 * time.Second}, host: true},
	} {
		u, err := url.Parse(c.url)
		if err != nil {
			t.Fatalf("%s: %v", c.url, err)
		}
		got, err := parseURL(u)
		if err != nil {
			t.Fatalf("%s: %v", c.url, err)
		}
		if !slices.Equal(got.addresses, c.addrs) || got.base != c.base || got.user != c.user || got.opts != c.opts || got.hostnames != c.host {
			t.Errorf("%s: %+v", c.url, got)
		}
	}
}

func TestParseURLRefuses(t *testing.T) {
	for _, c := range []struct{ url, says string }{
		{"hdfs://nn:8020/base?colour=blue", `unknown parameter "colour"`},
		{"hdfs://nn:8020/base?User=x", `unknown parameter "User"`},
		{"hdfs://nn:8020/base?replication=0", "replication"},
		{"hdfs://nn:8020/base?replication=-1", "replication"},
		{"hdfs://nn:8020/base?block_size=1000", "multiple of 512"},
		{"hdfs://nn:8020/base?block_size=0", "multiple of 512"},
		{"hdfs://nn:8020/base?timeout=0s", "timeout"},
		{"hdfs://nn:8020/base?timeout=soon", "timeout"},
		{"hdfs://nn:8020/base?datanode_hostname=maybe", "datanode_hostname"},
		{"hdfs://nn:8020/base?user=", "user"},
		{"hdfs://nn:8020/base?user=a&user=b", "given 2 times"},
		{"hdfs://nn:8020", "base directory"},
		{"hdfs://nn:8020/", "base directory"},
		{"hdfs://nn:8020/a/../b", "clean"},
		{"hdfs://nn:8020/a//b", "clean"},
		{"hdfs:///base", "namenode"},
		{"hdfs://etl@nn:8020/base", "?user="},
		{"hdfs://nn:0/base", "port"},
		{"hdfs://nn1:8020,,nn2:8020/base", "empty"},
		{"hdfs://:8020/base", "no host"},
		{"hdfs://nn/base#frag", "fragment"},
		{"s3://nn/base", "scheme"},
	} {
		u, err := url.Parse(c.url)
		if err != nil {
			t.Fatalf("%s: %v", c.url, err)
		}
		_, err = parseURL(u)
		if !errors.Is(err, driver.ErrBadURL) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %v, want driver.ErrBadURL saying %q", c.url, err, c.says)
		}
	}
}

// FuzzParseURL: any URL is parsed or refused with ErrBadURL, never a
// panic; what is accepted is usable: namenode addresses with ports, an
// absolute clean base other than /, valid options.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"hdfs://nn:8020/base", "hdfs://nn1:8020,nn2:8020/base?user=etl", "hdfs://[::1]/x?replication=3",
		"hdfs://nn/x?block_size=134217728&timeout=1m&datanode_hostname=1", "hdfs://nn/x?bogus=1", "hdfs://a@nn/x",
		"hdfs://nn/", "hdfs://nn/a/../b", "hdfs://,/x", "hdfs://nn:99999/x", "hdfs://nn/%00", "hdfs://nn/x?user=%zz",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := url.Parse(s)
		if err != nil {
			return
		}
		c, err := parseURL(u)
		if err != nil {
			if !errors.Is(err, driver.ErrBadURL) {
				t.Fatalf("%q: %v, not ErrBadURL", s, err)
			}
			return
		}
		if len(c.addresses) == 0 || c.base == "/" || !path.IsAbs(c.base) || path.Clean(c.base) != c.base || strings.ContainsRune(c.base, 0) {
			t.Fatalf("%q accepted as %+v", s, c)
		}
		for _, a := range c.addresses {
			if _, err := namenodeAddr(a); err != nil {
				t.Fatalf("%q: address %q: %v", s, a, err)
			}
		}
		if c.opts.Replication < 0 || c.opts.BlockSize < 0 || c.opts.BlockSize%512 != 0 || c.opts.Timeout < 0 {
			t.Fatalf("%q: options %+v", s, c.opts)
		}
	})
}
