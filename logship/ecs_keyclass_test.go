package logship

import (
	"strings"
	"sync"
	"testing"
)

// TestKeyClassesAgreeUncached: the cached classification of a key is
// what classifying it afresh gives — for literals, for keys built at run
// time with the same text at another address, for more keys than slots
// (collisions fall back, never mix two keys up), and from goroutines
// racing to fill the slots.
func TestKeyClassesAgreeUncached(t *testing.T) {
	rd, err := compileRules(DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{"", "path", "password", "log", "log.x", "labels", "é", "a\"b", "token", "Authorization", "service.name"}
	for i := range 300 { // more than the 64 slots
		keys = append(keys, strings.Repeat("k", i%7+1)+string(rune('a'+i%26))+strings.Repeat("x", i/26))
	}
	var kc keyClasses
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := range 3 {
				for i, k := range keys {
					if (i+g+round)%2 == 0 {
						k = strings.Clone(k) // same text, another address
					}
					got, want := kc.classify(k, rd), classifyKey(k, rd)
					if got.reserved != want.reserved || got.plain != want.plain || got.rule != want.rule || got.key != k {
						t.Errorf("classify(%q) = %+v, want %+v", k, got, want)
					}
				}
			}
		}()
	}
	wg.Wait()
}
