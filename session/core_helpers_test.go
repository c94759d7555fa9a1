package session_test

import (
	"errors"
	"time"
)

var base = time.UnixMilli(1_700_000_000_000)

var errorsIs = errors.Is
