package actors

import (
	"cmp"
	"slices"
	"strconv"
)

// sortedKeys returns a map's keys in ascending order: the core iterates
// maps only this way, so nothing depends on Go's map order.
func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// fieldIndex names an element of a list field, e.g. "numbers[1]" or
// "grants[0].scope".
func fieldIndex(field string, i int, sub string) string {
	f := field + "[" + strconv.Itoa(i) + "]"
	if sub != "" {
		f += "." + sub
	}
	return f
}
