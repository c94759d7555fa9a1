package registry

import (
	"net/url"
	"strings"
	"testing"
)

func TestRedacted(t *testing.T) {
	for raw, want := range map[string]string{
		"rocketmq://h:1?access_key=AK&secret_key=S1&security_token=S2&queues=4": "rocketmq://h:1?access_key=AK&secret_key=xxxxx&security_token=xxxxx&queues=4",
		"redis://u:S1@h:1/0?Password=S2&db=1":                                   "redis://u:xxxxx@h:1/0?Password=xxxxx&db=1",
		"x://h?secret%5Fkey=S1&a=b&secret_key":                                  "x://h?secret%5Fkey=xxxxx&a=b&secret_key=xxxxx",
		"kafka://h:1":                                                           "kafka://h:1",
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		got := Redacted(u)
		if got != want || strings.Contains(got, "S1") || strings.Contains(got, "S2") {
			t.Errorf("Redacted(%s) = %s, want %s", raw, got, want)
		}
	}
}
