package mqtest

import (
	"runtime"
	"time"
)

var timeZero time.Time

func runtimeGosched() { runtime.Gosched() }
