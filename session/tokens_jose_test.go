package session_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/session"
)

// joseVersion is the npm jose release the interop test runs.
const joseVersion = "6.2.18"

// joseScript verifies the token in argv[2] with the JWK in argv[3] (alg
// argv[4]), then signs a token with the private JWK argv[5] (kid
// argv[6]) carrying the claims argv[7], and prints both as JSON.
const joseScript = `
import * as jose from 'jose';
const [tok, pub, alg, priv, kid, claims] = process.argv.slice(2);
const key = alg === 'HS256' ? new TextEncoder().encode(pub) : await jose.importJWK(JSON.parse(pub), alg);
const { payload, protectedHeader } = await jose.jwtVerify(tok, key, { algorithms: [alg] });
const skey = alg === 'HS256' ? new TextEncoder().encode(priv) : await jose.importJWK(JSON.parse(priv), alg);
const made = await new jose.SignJWT(JSON.parse(claims)).setProtectedHeader({ alg, kid })
  .setIssuedAt().setNotBefore('0s').setExpirationTime('2m').setJti('jose-' + Date.now()).sign(skey);
console.log(JSON.stringify({ payload, header: protectedHeader, made }));
`

// joseDir returns a directory with jose installed, installing it into
// $GROUNDWORK_TOOLS once.
func joseDir(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		testserver.Unavailable(t, "node is not installed (apt-get install nodejs npm): %v", err)
	}
	_ = node
	tools := os.Getenv("GROUNDWORK_TOOLS")
	if tools == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			t.Fatal(err)
		}
		tools = filepath.Join(cache, "groundwork-tools")
	}
	dir := filepath.Join(tools, "jose-"+joseVersion)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "jose", "package.json")); err == nil {
		return dir
	}
	if _, err := exec.LookPath("npm"); err != nil {
		testserver.Unavailable(t, "npm is not installed: %v", err)
	}
	out, err := exec.Command("npm", "install", "--no-audit", "--no-fund", "--prefix", dir, "jose@"+joseVersion).CombinedOutput()
	if err != nil {
		testserver.Unavailable(t, "npm install jose@%s: %v\n%s", joseVersion, err, out)
	}
	return dir
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func TestJoseInterop(t *testing.T) {
	dir := joseDir(t)
	script := filepath.Join(dir, "interop.mjs")
	if err := os.WriteFile(script, []byte(joseScript), 0o644); err != nil {
		t.Fatal(err)
	}
	ed, ec := edKey(t), ecKey(t)
	secret := "0123456789abcdef0123456789abcdef"
	edPub := ed.Public().(ed25519.PublicKey)
	ecPub := ec.Public().(*ecdsa.PublicKey)
	ecPubBytes, _ := ecPub.Bytes() // 0x04 || X || Y
	jwk := func(m map[string]string) string { b, _ := json.Marshal(m); return string(b) }
	cases := []struct {
		alg, pub, priv string
		opt            session.Option
	}{
		{"EdDSA", jwk(map[string]string{"kty": "OKP", "crv": "Ed25519", "x": b64(edPub)}),
			jwk(map[string]string{"kty": "OKP", "crv": "Ed25519", "x": b64(edPub), "d": b64(ed.Seed())}),
			session.WithSigningKey("k", ed)},
		{"ES256", jwk(map[string]string{"kty": "EC", "crv": "P-256", "x": b64(ecPubBytes[1:33]), "y": b64(ecPubBytes[33:])}),
			jwk(map[string]string{"kty": "EC", "crv": "P-256", "x": b64(ecPubBytes[1:33]), "y": b64(ecPubBytes[33:]), "d": b64(must(ec.Bytes()))}),
			session.WithSigningKey("k", ec)},
		{"HS256", secret, secret, session.WithHMACKey("k", []byte(secret))},
	}
	for _, c := range cases {
		t.Run(c.alg, func(t *testing.T) {
			m := newTokenManager(t, session.NewMemoryStore(), c.opt)
			access, _ := issue(t, m, alice)
			claims := `{"sub":"u2","name":"bob","roles":["viewer"],"ver":0,"typ":"access"}`
			out, err := exec.Command("node", script, access, c.pub, c.alg, c.priv, "k", claims).CombinedOutput()
			if err != nil {
				t.Fatalf("node: %v\n%s", err, out)
			}
			var res struct {
				Payload map[string]any `json:"payload"`
				Header  map[string]any `json:"header"`
				Made    string         `json:"made"`
			}
			if err := json.Unmarshal(out, &res); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if res.Payload["sub"] != "u1" || res.Payload["name"] != "alice" || res.Header["kid"] != "k" {
				t.Fatalf("jose read %v %v", res.Header, res.Payload)
			}
			p, err := m.VerifyToken(context.Background(), strings.TrimSpace(res.Made))
			if err != nil {
				t.Fatalf("a token made by jose: %v", err)
			}
			if p.UserID != "u2" || p.Username != "bob" || p.Roles[0] != "viewer" {
				t.Fatalf("principal %+v", p)
			}
		})
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
