package logship

import (
	"log/slog"
	"strings"
	"testing"
)

// TestReviewSecretNamesInsideValues: SecretKeyRule hid an attribute named
// "password", but not the same secret one level down, in a map or struct
// attribute (a request's headers, a config struct), which is how secrets
// usually reach a log.
func TestReviewSecretNamesInsideValues(t *testing.T) {
	h, c := reviewHandler(t, &HandlerOptions{Service: "svc", Redact: append(DefaultRules(), Rule{Keys: []string{"ssn"}, Drop: true})})
	l := slog.New(h)
	type creds struct {
		User     string
		Password string `json:"password"`
		Nested   map[string][]map[string]string
	}
	l.Info("m",
		"headers", map[string]string{"Authorization": "hunter1", "Accept": "*/*"},
		"cfg", creds{User: "bob", Password: "hunter2", Nested: map[string][]map[string]string{"x": {{"db_password": "hunter3", "ssn": "hunter4"}}}},
		"esc", map[string]string{"<password>": "hunter5", "api\\_key": "visible"},
	)
	doc := string(c.last(t))
	for _, secret := range []string{"hunter1", "hunter2", "hunter3", "hunter4", "hunter5"} {
		if strings.Contains(doc, secret) {
			t.Errorf("%s leaked: %s", secret, doc)
		}
	}
	m := frontDoc(t, Record{JSON: c.last(t)})
	if m["cfg"].(map[string]any)["User"] != "bob" || m["headers"].(map[string]any)["Accept"] != "*/*" || m["esc"].(map[string]any)["api\\_key"] != "visible" {
		t.Errorf("more than the secrets redacted: %s", doc)
	}
	if strings.Contains(doc, `"ssn"`) {
		t.Errorf("dropped key kept: %s", doc)
	}
}

// TestReviewSecretsInBytes: a []byte attribute is written as base64 (as
// encoding/json and slog do), which hid an e-mail address or a token from
// every content rule — and base64 is no redaction.
func TestReviewSecretsInBytes(t *testing.T) {
	h, c := reviewHandler(t, &HandlerOptions{Service: "svc", Redact: DefaultRules()})
	l := slog.New(h)
	l.Info("m", "body", []byte("to bob@example.com"), "hdr", []byte("Authorization: Bearer s3cr3t"), "plain", []byte("ok"))
	m := frontDoc(t, Record{JSON: c.last(t)})
	if m["body"] != "to [REDACTED]" || m["hdr"] != "Authorization: Bearer [REDACTED]" {
		t.Errorf("secrets in bytes not redacted: %s", c.last(t))
	}
	if m["plain"] != "b2s=" { // bytes without a secret stay as they were
		t.Errorf("plain = %v", m["plain"])
	}
}

// TestReviewSecretKeyNames: SecretKeyRule missed attribute names that
// hold secrets as plainly as "password" does.
func TestReviewSecretKeyNames(t *testing.T) {
	for _, k := range []string{"passphrase", "ssh_passphrase", "private_key", "privateKey", "tls-private-key", "credentials", "aws_credential", "db_password", "X-Api-Key"} {
		if !isSecretKey(k) {
			t.Errorf("%q is not taken for a secret", k)
		}
	}
	for _, k := range []string{"user", "path", "status", "priority", "credit"} {
		if isSecretKey(k) {
			t.Errorf("%q is taken for a secret", k)
		}
	}
}
