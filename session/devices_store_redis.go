package session

import (
	"context"
	_ "embed"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	//go:embed scripts/devices_save.lua
	devicesSaveLua    string
	devicesSaveScript = redis.NewScript(devicesSaveLua)
	//go:embed scripts/devices_rotate.lua
	devicesRotateLua    string
	devicesRotateScript = redis.NewScript(devicesRotateLua)
	//go:embed scripts/devices_list.lua
	devicesListLua    string
	devicesListScript = redis.NewScript(devicesListLua)
	//go:embed scripts/devices_delete.lua
	devicesDeleteLua    string
	devicesDeleteScript = redis.NewScript(devicesDeleteLua)
	//go:embed scripts/devices_delete_user.lua
	devicesDeleteUserLua    string
	devicesDeleteUserScript = redis.NewScript(devicesDeleteUserLua)
)

// deviceKeyPrefix is where the devices of a shard live:
// <prefix>d:{<shard>}:d:<selector>. The user's index,
// <prefix>d:{<shard>}:u:<userID>, shares the hash tag, so one script can
// touch both in a Cluster.
func (s *RedisStore) deviceKeyPrefix(shard string) string { return s.prefix + "d:{" + shard + "}:d:" }

func (s *RedisStore) deviceKey(selector string) string {
	return s.deviceKeyPrefix(selectorShard(selector)) + selector
}

func (s *RedisStore) deviceIndexKey(userID string) string {
	return s.prefix + "d:{" + shardOf(userID) + "}:u:" + userID
}

// SaveDevice stores a new device; see DeviceStore.
func (s *RedisStore) SaveDevice(ctx context.Context, d *DeviceRecord) error {
	if s.closed.isClosed() {
		return ErrClosed
	}
	if err := validateDevice(d); err != nil {
		return err
	}
	ttl := ms(d.Expires) - ms(d.LastUsed)
	if ttl <= 0 {
		return fmt.Errorf("%w: device %s expires within a millisecond", ErrInvalid, d.Selector)
	}
	ok, err := devicesSaveScript.Run(ctx, s.rdb, []string{s.deviceKey(d.Selector), s.deviceIndexKey(d.UserID)},
		d.Selector, d.UserID, d.Hash, d.Label, ms(d.Created), ms(d.LastUsed), ms(d.Expires), ttl).Int()
	if err != nil {
		return wrapOp("redis: save device", err)
	}
	if ok == 0 {
		return fmt.Errorf("%w: device selector %s is taken", ErrInvalid, d.Selector)
	}
	return nil
}

// GetDevice returns a live device; see DeviceStore.
func (s *RedisStore) GetDevice(ctx context.Context, selector string, now time.Time) (*DeviceRecord, error) {
	if s.closed.isClosed() {
		return nil, ErrClosed
	}
	if !validSelector(selector) {
		return nil, ErrNoSession
	}
	f, err := s.rdb.HGetAll(ctx, s.deviceKey(selector)).Result()
	if err != nil {
		return nil, wrapOp("redis: get device", err)
	}
	d, err := deviceFromFields(selector, f)
	if err != nil {
		return nil, err
	}
	if d == nil || !now.Before(d.Expires) {
		return nil, ErrNoSession
	}
	return d, nil
}

// deviceFromFields decodes a device hash; nil for an absent one.
func deviceFromFields(selector string, f map[string]string) (*DeviceRecord, error) {
	if len(f) == 0 {
		return nil, nil
	}
	d := &DeviceRecord{Device: Device{Selector: selector, UserID: f["u"], Label: f["l"]}, Hash: f["h"], PrevHash: f["p"]}
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"c", &d.Created}, {"lu", &d.LastUsed}, {"e", &d.Expires}, {"pu", &d.PrevUntil}} {
		n, err := strconv.ParseInt(f[t.name], 10, 64)
		if err != nil {
			return nil, wrapOp(fmt.Sprintf("redis: device %s: field %s", selector, t.name), err)
		}
		*t.dst = time.UnixMilli(n)
	}
	return d, nil
}

// RotateDevice replaces a device's validator by compare-and-set; see
// DeviceStore.
func (s *RedisStore) RotateDevice(ctx context.Context, userID, selector, oldHash, newHash string, now, prevUntil, expires time.Time) error {
	if s.closed.isClosed() {
		return ErrClosed
	}
	if err := validateDeviceUser(userID); err != nil {
		return err
	}
	if !validSelector(selector) || selectorShard(selector) != shardOf(userID) {
		return ErrNoSession
	}
	if !validHash(newHash) {
		return fmt.Errorf("%w: device hash: want 64 lowercase hex digits", ErrInvalid)
	}
	if ms(expires) <= ms(now) {
		return fmt.Errorf("%w: device %s: expires %v is not after now %v", ErrInvalid, selector, expires, now)
	}
	r, err := devicesRotateScript.Run(ctx, s.rdb, []string{s.deviceKey(selector), s.deviceIndexKey(userID)},
		userID, oldHash, newHash, ms(now), ms(prevUntil), ms(expires)).Int()
	if err != nil {
		return wrapOp("redis: rotate device", err)
	}
	switch r {
	case -1:
		return ErrNoSession
	case 0:
		return ErrDeviceChanged
	}
	return nil
}

// ListDevices returns a user's live devices; see DeviceStore.
func (s *RedisStore) ListDevices(ctx context.Context, userID string, now time.Time) ([]*DeviceRecord, error) {
	if s.closed.isClosed() {
		return nil, ErrClosed
	}
	if err := validateDeviceUser(userID); err != nil {
		return nil, err
	}
	res, err := devicesListScript.Run(ctx, s.rdb, []string{s.deviceIndexKey(userID)},
		s.deviceKeyPrefix(shardOf(userID)), ms(now)).Slice()
	if err != nil {
		return nil, wrapOp("redis: list devices", err)
	}
	out := make([]*DeviceRecord, 0, len(res)/2)
	for i := 0; i+1 < len(res); i += 2 {
		sel, _ := res[i].(string)
		pairs, _ := res[i+1].([]any)
		f := make(map[string]string, len(pairs)/2)
		for j := 0; j+1 < len(pairs); j += 2 {
			k, _ := pairs[j].(string)
			v, _ := pairs[j+1].(string)
			f[k] = v
		}
		d, err := deviceFromFields(sel, f)
		if err != nil {
			return nil, err
		}
		if d != nil {
			out = append(out, d)
		}
	}
	sortDevices(out)
	return out, nil
}

// DeleteDevice removes one of a user's devices; see DeviceStore.
func (s *RedisStore) DeleteDevice(ctx context.Context, userID, selector string) error {
	if s.closed.isClosed() {
		return ErrClosed
	}
	if err := validateDeviceUser(userID); err != nil {
		return err
	}
	if !validSelector(selector) || selectorShard(selector) != shardOf(userID) {
		return nil // no device of userID can have this selector
	}
	if err := devicesDeleteScript.Run(ctx, s.rdb, []string{s.deviceKey(selector), s.deviceIndexKey(userID)},
		userID, selector).Err(); err != nil {
		return wrapOp("redis: delete device", err)
	}
	return nil
}

// DeleteUserDevices removes all of a user's devices; see DeviceStore.
func (s *RedisStore) DeleteUserDevices(ctx context.Context, userID string) (int, error) {
	if s.closed.isClosed() {
		return 0, ErrClosed
	}
	if err := validateDeviceUser(userID); err != nil {
		return 0, err
	}
	n, err := devicesDeleteUserScript.Run(ctx, s.rdb, []string{s.deviceIndexKey(userID)},
		s.deviceKeyPrefix(shardOf(userID))).Int()
	if err != nil {
		return 0, wrapOp("redis: delete user devices", err)
	}
	return n, nil
}
