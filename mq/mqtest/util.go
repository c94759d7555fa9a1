package mqtest

import "time"

var timeZero time.Time
