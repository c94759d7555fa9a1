package cache

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Token stands for one write of one key, for read-your-writes: a Get or
// GetOrLoad whose ctx carries the token (WithTokens) returns that write
// or a newer one, even on an instance whose L1 has not yet heard of the
// write — it reads Redis instead of L1 until the write's invalidation has
// reached it. Get a token with the ReturnToken SetOption; pass it between
// processes (a cookie, a header) as its String and back with ParseToken.
//
// Without Redis, or when L1 has no copy of the key, a token changes
// nothing: Redis always has the newest write.
type Token struct {
	Key   string
	write uint64
}

// String encodes t as "<16 hex digits>:<key>".
func (t Token) String() string {
	return fmt.Sprintf("%016x:%s", t.write, t.Key)
}

// ParseToken decodes what Token.String made.
func ParseToken(s string) (Token, error) {
	id, key, ok := strings.Cut(s, ":")
	if !ok || len(id) != 16 || key == "" {
		return Token{}, fmt.Errorf("%w: token %q: want <16 hex digits>:<key>", ErrInvalid, s)
	}
	w, err := strconv.ParseUint(id, 16, 64)
	if err != nil {
		return Token{}, fmt.Errorf("%w: token %q: write id: %v", ErrInvalid, s, err)
	}
	return Token{Key: key, write: w}, nil
}

type tokensKey struct{}

// WithTokens returns a ctx carrying toks, added to those ctx carries.
func WithTokens(ctx context.Context, toks ...Token) context.Context {
	have, _ := ctx.Value(tokensKey{}).([]Token)
	all := append(append([]Token(nil), have...), toks...)
	return context.WithValue(ctx, tokensKey{}, all)
}

// tokensSeen reports whether this instance has seen every write that
// ctx's tokens name for key.
func (c *Cache[V]) tokensSeen(ctx context.Context, key string) bool {
	toks, _ := ctx.Value(tokensKey{}).([]Token)
	for _, t := range toks {
		if t.Key == key && !c.seen.Contains(t.write) {
			return false
		}
	}
	return true
}
