package api

import (
	"strconv"
	"time"
)

func itoa(v uint64) string { return strconv.FormatUint(v, 10) }

func seconds(n int) time.Duration { return time.Duration(n) * time.Second }
