package main

import "testing"

// TestLocalPath: after login the site follows next= only within itself.
func TestLocalPath(t *testing.T) {
	for next, want := range map[string]string{
		"/profile":              "/profile",
		"/admin?tab=users":      "/admin?tab=users",
		"":                      "/",
		"https://evil.example/": "/",
		"//evil.example/":       "/",
		"/\\evil.example/":      "/",
		"evil.example":          "/",
		"javascript:alert(1)":   "/",
	} {
		if got := localPath(next); got != want {
			t.Errorf("localPath(%q) = %q, want %q", next, got, want)
		}
	}
}
