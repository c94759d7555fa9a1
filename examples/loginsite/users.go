package main

import (
	"context"
	"slices"
	"sort"

	"github.com/groundwork-go/groundwork/session"
)

// user is one account of the demo user database.
type user struct {
	ID, Name, Display string
	Roles             []string
	hash              []byte // bcrypt
}

// userDB is the site's user database: in a real service, a table.
type userDB struct{ byName map[string]*user }

// demoUsers are the accounts the site starts with; the passwords are
// hashed once at start-up.
var demoUsers = []struct {
	id, name, display, password string
	roles                       []string
}{
	{"u1", "alice", "Alice Liddell", "wonderland", []string{"admin", "user"}},
	{"u2", "bob", "Bob the Builder", "builder", []string{"user"}},
	{"u3", "carol", "Carol Danvers", "marvel", []string{"user"}},
}

func newUserDB() (*userDB, error) {
	db := &userDB{byName: map[string]*user{}}
	for _, d := range demoUsers {
		h, err := session.HashPassword(d.password)
		if err != nil {
			return nil, err
		}
		db.byName[d.name] = &user{ID: d.id, Name: d.name, Display: d.display, Roles: d.roles, hash: h}
	}
	return db, nil
}

// lookup is what the session package's password authenticator asks: the
// hash and principal of a username, or nil for an unknown one.
func (db *userDB) lookup(_ context.Context, username string) ([]byte, *session.Principal, error) {
	u, ok := db.byName[username]
	if !ok {
		return nil, nil, nil
	}
	return u.hash, db.principal(u), nil
}

// load re-reads a user's principal (fresh roles) when a remembered device
// starts a new session.
func (db *userDB) load(_ context.Context, userID string) (*session.Principal, error) {
	for _, u := range db.byName {
		if u.ID == userID {
			return db.principal(u), nil
		}
	}
	return nil, session.ErrInvalidCredentials
}

func (db *userDB) principal(u *user) *session.Principal {
	return &session.Principal{UserID: u.ID, Username: u.Name, Roles: slices.Clone(u.Roles),
		Attrs: map[string]string{"display": u.Display}}
}

// all returns the users sorted by name, for the admin page.
func (db *userDB) all() []*user {
	us := make([]*user, 0, len(db.byName))
	for _, u := range db.byName {
		us = append(us, u)
	}
	sort.Slice(us, func(i, j int) bool { return us[i].Name < us[j].Name })
	return us
}
