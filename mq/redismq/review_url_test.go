package redismq_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/redismq"
)

// TestReviewParseURLRedactsPassword: a URL that does not parse must not
// have its password copied into the error, which ends up in logs.
func TestReviewParseURLRedactsPassword(t *testing.T) {
	for _, u := range []string{
		"redis://user:s3cretpw%zz@host:6379",   // a bad escape in the password
		"redis://user:s3cretpw@host:6379,h2:x", // a bad port in a host list
		"redis://user:s3cretpw@[::1",           // a bad host
		"redis://user:s3cretpw@host:6379/0?partitions=%zz",
	} {
		_, _, err := redismq.ParseURL(u)
		if !errors.Is(err, mq.ErrBadURL) {
			t.Errorf("ParseURL(%q) = %v, want ErrBadURL", u, err)
			continue
		}
		if strings.Contains(err.Error(), "s3cretpw") {
			t.Errorf("ParseURL error shows the password: %v", err)
		}
	}
}
