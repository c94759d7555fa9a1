package privilege

// StoreOption configures a store made by NewMemoryStore or
// NewPostgresStore.
type StoreOption func(*storeOptions)

type storeOptions struct {
	allowConflicts bool
}

// AllowConflicts makes PutPolicy accept a policy that would make a
// same-priority permit and deny apply to overlapping targets, overriding
// the default of refusing it with ErrConflict. Such a pair is then
// resolved at check time by the engine's combining algorithm
// (WithCombining: DenyOverrides by default, or PermitOverrides). Use it
// when that resolution is what is meant, for example a broad permit with
// narrow denies at one priority. The switch belongs to the store value,
// not to the data: instances sharing one PostgreSQL database should all
// be made with it or all without it, or one refuses what another wrote.
func AllowConflicts() StoreOption {
	return func(o *storeOptions) { o.allowConflicts = true }
}

// applyStoreOptions folds opts into storeOptions, skipping a nil one
// (the options after it still apply); ok is false when one was nil.
func applyStoreOptions(opts []StoreOption) (o storeOptions, ok bool) {
	ok = true
	for _, opt := range opts {
		if opt == nil {
			ok = false
			continue
		}
		opt(&o)
	}
	return o, ok
}
