package actors

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"unicode"
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

// setIndexed keeps a map keyed by small identifiers and its dense copy
// (indexed by identifier, for the hot path) in step: it sets id to v, or
// removes id when v is nil.
func setIndexed[K ~uint32, V comparable](m map[K]V, dense *[]V, id K, v V) {
	var none V
	if v == none {
		delete(m, id)
		if int(id) < len(*dense) {
			(*dense)[id] = none
		}
		return
	}
	m[id] = v
	if int(id) >= len(*dense) {
		*dense = append(*dense, make([]V, int(id)+1-len(*dense))...)
	}
	(*dense)[id] = v
}

// foldName is the key under which names that strings.EqualFold finds
// equal meet: each rune replaced by the smallest rune of its Unicode
// simple case-folding orbit (K, k and the Kelvin sign all become K).
func foldName(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		b.WriteRune(least)
	}
	return b.String()
}
