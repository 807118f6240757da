package api

import (
	"cmp"
	"slices"
	"strconv"
	"time"
)

func sortedIDs[K cmp.Ordered, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func itoa(v uint64) string { return strconv.FormatUint(v, 10) }

func seconds(n int) time.Duration { return time.Duration(n) * time.Second }
