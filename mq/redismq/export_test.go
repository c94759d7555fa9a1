package redismq

// SetTestHookUnblock sets the hook that runs before every CLIENT UNBLOCK a
// stopping reader sends, with the partition's stream; nil removes it. Set
// it before Subscribe.
func SetTestHookUnblock(f func(stream string)) { testHookUnblock = f }

// SetTestHookRevoke sets the hook that runs when a member starts giving a
// partition up, with the member's name and the partition's stream; nil
// removes it. Set it before Subscribe.
func SetTestHookRevoke(f func(member, stream string)) { testHookRevoke = f }
