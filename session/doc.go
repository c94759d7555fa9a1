// Package session is login sessions for Go web services: sessions in Redis
// (or memory, or PostgreSQL), JWT access and refresh tokens with
// revocation, an authentication middleware, CSRF protection, login
// throttling and remember-me devices.
//
// # Sessions
//
// (core)
//
// # Tokens
//
// (tokens)
//
// # Login throttling
//
// (throttle)
//
// # CSRF
//
// (csrf)
//
// # Remember me
//
// (remember-me)
//
// # Keys
//
// (each part lists its Redis keys here)
//
// # Errors
//
// # Guarantees
package session
