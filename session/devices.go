package session

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// DeviceStore keeps remember-me devices: one per browser a user ticked
// "remember me" in. A device is found by its selector, the public half of
// its cookie; the secret half, the validator, is kept only as its SHA-256.
type DeviceStore interface {
	// SaveDevice stores a new device and adds it to its user's index.
	// ErrInvalid when a field is missing or not storable, or when the
	// selector is taken.
	SaveDevice(ctx context.Context, d *DeviceRecord) error
	// GetDevice returns the device selector names. A device that is
	// absent, or expired at now, is ErrNoSession.
	GetDevice(ctx context.Context, selector string, now time.Time) (*DeviceRecord, error)
	// RotateDevice replaces the validator hash oldHash of userID's device
	// by newHash in one compare-and-set step: the old hash becomes the previous one,
	// accepted until prevUntil, LastUsed becomes now and Expires expires.
	// ErrDeviceChanged when the stored hash is not oldHash (another
	// request rotated it first); ErrNoSession when the device is gone or
	// expired at now, or is not userID's.
	RotateDevice(ctx context.Context, userID, selector, oldHash, newHash string, now, prevUntil, expires time.Time) error
	// ListDevices returns userID's devices live at now, oldest first.
	ListDevices(ctx context.Context, userID string, now time.Time) ([]*DeviceRecord, error)
	// DeleteDevice removes one device of userID; a device that is absent
	// or belongs to someone else is left alone and is no error.
	DeleteDevice(ctx context.Context, userID, selector string) error
	// DeleteUserDevices removes every device of userID in one operation
	// and says how many there were.
	DeleteUserDevices(ctx context.Context, userID string) (int, error)
}

// ErrDeviceChanged is RotateDevice's error when the device's validator
// is no longer the one the caller saw: a concurrent request rotated it.
var ErrDeviceChanged = errors.New("session: remember-me device changed")

// Device is a remember-me device as an application shows it: which
// browser, since when, last used when, until when.
//
// The Selector names the device for ForgetDevice. It cannot resume a
// session on its own (that takes the validator too), but presented with a
// wrong validator it ends all the user's devices (see the package doc), so
// show it to no one but the device's own user.
type Device struct {
	Selector string
	UserID   string
	// Label describes the browser, from its User-Agent.
	Label    string
	Created  time.Time
	LastUsed time.Time
	Expires  time.Time
}

// DeviceRecord is a stored device: the Device and the hashes (hex
// SHA-256) of its current and previous validators.
type DeviceRecord struct {
	Device
	Hash string
	// PrevHash is the validator before the last rotation, still accepted
	// until PrevUntil so that two tabs resuming at once both succeed.
	PrevHash  string
	PrevUntil time.Time
}

// Limits on stored device fields: enough for any real User-Agent summary
// or user ID, small enough that no request can make a store hold much.
const (
	maxDeviceLabel = 200
	maxDeviceUser  = 512
)

// validateDevice checks what every store needs of a device before it is
// sent anywhere, naming the bad field.
func validateDevice(d *DeviceRecord) error {
	switch {
	case d == nil:
		return fmt.Errorf("%w: nil device", ErrInvalid)
	case !validSelector(d.Selector):
		return fmt.Errorf("%w: device selector %q is malformed", ErrInvalid, d.Selector)
	case validateDeviceUser(d.UserID) != nil:
		return validateDeviceUser(d.UserID)
	case selectorShard(d.Selector) != shardOf(d.UserID):
		// Redis keeps a user's devices beside the user's index by shard.
		return fmt.Errorf("%w: device selector %s does not start with its user's shard", ErrInvalid, d.Selector)
	case !validHash(d.Hash):
		return fmt.Errorf("%w: device hash: want 64 lowercase hex digits", ErrInvalid)
	case d.PrevHash != "" && !validHash(d.PrevHash):
		return fmt.Errorf("%w: device previous hash: want 64 lowercase hex digits", ErrInvalid)
	case len(d.Label) > maxDeviceLabel || !utf8.ValidString(d.Label) || strings.ContainsRune(d.Label, 0):
		return fmt.Errorf("%w: device label: want at most %d bytes of UTF-8 without NUL", ErrInvalid, maxDeviceLabel)
	case d.Created.IsZero() || d.LastUsed.IsZero() || d.Expires.IsZero():
		return fmt.Errorf("%w: device %s: Created, LastUsed and Expires are required", ErrInvalid, d.Selector)
	case !d.Expires.After(d.LastUsed):
		return fmt.Errorf("%w: device %s: Expires %v is not after LastUsed %v", ErrInvalid, d.Selector, d.Expires, d.LastUsed)
	}
	return nil
}

// validateDeviceUser checks a user ID a device store is asked about:
// PostgreSQL's text refuses NUL and invalid UTF-8, so every store refuses
// them alike.
func validateDeviceUser(userID string) error {
	if userID == "" || len(userID) > maxDeviceUser || !utf8.ValidString(userID) || strings.ContainsRune(userID, 0) {
		return fmt.Errorf("%w: user ID %q: want 1 to %d bytes of UTF-8 without NUL", ErrInvalid, truncate(userID, 40), maxDeviceUser)
	}
	return nil
}

// validHash reports whether h is a hex SHA-256 as the package writes it.
func validHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// truncate shortens s for an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
