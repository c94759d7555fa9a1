package rocketmq_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/mq"
)

// TestReviewOpenErrorHidesSecrets: the package doc offers the ACL secret
// key and security token as query parameters; an Open that fails (here:
// nothing listens on the name server's port) must not quote them in its
// error, as it does not quote a URL's password.
func TestReviewOpenErrorHidesSecrets(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // refused from now on
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, raw := range []string{
		"rocketmq://" + addr + "?access_key=AK&secret_key=TOPSECRET1&security_token=TOPSECRET2",
		"rocketmq://AK:TOPSECRET1@" + addr + "?security_token=TOPSECRET2",
		"rocketmq://" + addr + "?secret_key=TOPSECRET1&security_token=TOPSECRET2&access_key=AK&queues=x",
	} {
		c, err := mq.Open(ctx, raw)
		if err == nil {
			c.Close()
			t.Fatalf("%s: opened with nothing listening", addr)
		}
		if !errors.Is(err, mq.ErrUnreachable) && !errors.Is(err, mq.ErrBadURL) {
			t.Errorf("error %v: want ErrUnreachable or ErrBadURL", err)
		}
		if strings.Contains(err.Error(), "TOPSECRET") {
			t.Errorf("the error quotes a secret: %v", err)
		}
	}
}
