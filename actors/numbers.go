package actors

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// numberIndex maps a queue and a phone number to the active callback that
// holds it, for the duplicate check. There is an entry per number of every
// non-terminal callback, so it is kept small: a number of up to 16
// characters (every E.164 number) is packed into a uint64, four bits a
// character, and needs no string of its own; longer ones are kept as
// strings. Its JSON is an object from "queue/number" to the callback, keys
// in order, the same as a map[string]CallbackID.
type numberIndex struct {
	short map[shortNumber]CallbackID
	long  map[string]CallbackID // "queue/number", numbers over 16 characters
}

type shortNumber struct {
	queue QueueID
	n     uint64
}

// packNumber packs a number of digits with an optional leading '+' into
// four-bit codes (1-10 for the digits, 11 for '+'), first character in the
// high bits; zero codes pad the end, so distinct numbers pack distinctly.
func packNumber(s string) (uint64, bool) {
	if len(s) > 16 {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		var code uint64
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			code = uint64(c-'0') + 1
		case c == '+':
			code = 11
		default:
			return 0, false
		}
		n |= code << (60 - 4*i)
	}
	return n, true
}

func unpackNumber(n uint64) string {
	var b [16]byte
	k := 0
	for i := 0; i < 16; i++ {
		code := n >> (60 - 4*i) & 0xf
		if code == 0 {
			break
		}
		if code == 11 {
			b[k] = '+'
		} else {
			b[k] = byte('0' + code - 1)
		}
		k++
	}
	return string(b[:k])
}

func (x *numberIndex) get(q QueueID, s string) (CallbackID, bool) {
	if n, ok := packNumber(s); ok {
		id, ok := x.short[shortNumber{q, n}]
		return id, ok
	}
	id, ok := x.long[numberKey(q, s)]
	return id, ok
}

func (x *numberIndex) put(q QueueID, s string, id CallbackID) {
	if n, ok := packNumber(s); ok {
		if x.short == nil {
			x.short = map[shortNumber]CallbackID{}
		}
		x.short[shortNumber{q, n}] = id
		return
	}
	if x.long == nil {
		x.long = map[string]CallbackID{}
	}
	x.long[numberKey(q, s)] = id
}

// release removes the entry of q and s if it is id's.
func (x *numberIndex) release(q QueueID, s string, id CallbackID) {
	if n, ok := packNumber(s); ok {
		k := shortNumber{q, n}
		if x.short[k] == id {
			delete(x.short, k)
		}
		return
	}
	k := numberKey(q, s)
	if x.long[k] == id {
		delete(x.long, k)
	}
}

// Len is the number of entries.
func (x *numberIndex) Len() int { return len(x.short) + len(x.long) }

func numberKey(q QueueID, n string) string {
	return strconv.FormatUint(uint64(q), 10) + "/" + n
}

func (x numberIndex) MarshalJSON() ([]byte, error) {
	type kv struct {
		k  string
		id CallbackID
	}
	all := make([]kv, 0, x.Len())
	for k, id := range x.short {
		all = append(all, kv{numberKey(k.queue, unpackNumber(k.n)), id})
	}
	for k, id := range x.long {
		all = append(all, kv{k, id})
	}
	slices.SortFunc(all, func(a, b kv) int { return strings.Compare(a.k, b.k) })
	var b bytes.Buffer
	b.WriteByte('{')
	for i, e := range all {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(e.k)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.WriteString(strconv.FormatUint(uint64(e.id), 10))
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func (x *numberIndex) UnmarshalJSON(b []byte) error {
	var m map[string]CallbackID
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*x = numberIndex{}
	for k, id := range m {
		q, n, ok := strings.Cut(k, "/")
		qid, err := strconv.ParseUint(q, 10, 32)
		if !ok || err != nil {
			return fmt.Errorf("actors: active number key %q", k)
		}
		x.put(QueueID(qid), n, id)
	}
	return nil
}
