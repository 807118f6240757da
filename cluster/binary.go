package cluster

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"time"

	"github.com/ringbackhq/ringback/actors"
)

// Most of the log is callback creations, so CreateCallback has a compact
// binary body: encoding and decoding it as JSON cost more CPU than
// applying it, once on the leader and again on every replica. A binary
// body starts with binaryBody; a JSON body, which every other kind keeps,
// starts with '{', so logs written before this form still decode.
//
// CreateCallback, integers as uvarints unless noted, strings as a uvarint
// length and bytes:
//
//	binaryBody | tenant | by.kind (byte) | by.user | by.app | queue | domain |
//	customerName | count, numbers... | priority (varint) |
//	scheduledAt: 0, or 1 and unix ns (varint) | count, sorted data keys and values... |
//	idempotencyKey | requestHash
const binaryBody = 0x01

var errBinaryBody = errors.New("malformed binary body")

func appendCreateCallback(dst []byte, c *actors.CreateCallback) []byte {
	dst = append(dst, binaryBody)
	dst = binary.AppendUvarint(dst, uint64(c.Tenant))
	dst = append(dst, byte(c.By.Kind))
	dst = binary.AppendUvarint(dst, uint64(c.By.User))
	dst = binary.AppendUvarint(dst, uint64(c.By.App))
	dst = binary.AppendUvarint(dst, uint64(c.Queue))
	dst = binary.AppendUvarint(dst, uint64(c.Domain))
	dst = appendString(dst, c.CustomerName)
	dst = binary.AppendUvarint(dst, uint64(len(c.Numbers)))
	for _, n := range c.Numbers {
		dst = appendString(dst, n)
	}
	dst = binary.AppendVarint(dst, int64(c.Priority))
	if c.ScheduledAt.IsZero() {
		dst = append(dst, 0)
	} else {
		dst = append(dst, 1)
		dst = binary.AppendVarint(dst, c.ScheduledAt.UnixNano())
	}
	keys := make([]string, 0, len(c.Data))
	for k := range c.Data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = binary.AppendUvarint(dst, uint64(len(keys)))
	for _, k := range keys {
		dst = appendString(appendString(dst, k), c.Data[k])
	}
	dst = appendString(dst, c.IdempotencyKey)
	return appendString(dst, c.RequestHash)
}

func decodeCreateCallback(body []byte, c *actors.CreateCallback, numbers []string) ([]string, error) {
	r := bodyReader{b: body}
	if r.byte() != binaryBody {
		return numbers, errBinaryBody
	}
	c.Tenant = actors.TenantID(r.u32())
	c.By.Kind = actors.PrincipalKind(r.byte())
	c.By.User = actors.UserID(r.u32())
	c.By.App = actors.AppID(r.u32())
	c.Queue = actors.QueueID(r.u32())
	c.Domain = actors.DomainID(r.u32())
	c.CustomerName = r.string()
	if n := r.count(); n > 0 {
		start := len(numbers)
		for range n {
			numbers = append(numbers, r.string())
		}
		c.Numbers = numbers[start:len(numbers):len(numbers)]
	}
	c.Priority = int(r.varint())
	switch r.byte() {
	case 0:
	case 1:
		c.ScheduledAt = time.Unix(0, r.varint()).UTC()
	default:
		return numbers, errBinaryBody
	}
	if n := r.count(); n > 0 {
		c.Data = make(map[string]string, n)
		prev := ""
		for i := range n {
			k := r.string()
			if i > 0 && k <= prev {
				return numbers, errBinaryBody // keys sorted and unique: one encoding per command
			}
			c.Data[k], prev = r.string(), k
		}
	}
	c.IdempotencyKey = r.string()
	c.RequestHash = r.string()
	if r.bad || len(r.b) != 0 {
		return numbers, errBinaryBody
	}
	return numbers, nil
}

func appendString(dst []byte, s string) []byte {
	return append(binary.AppendUvarint(dst, uint64(len(s))), s...)
}

// bodyReader reads a binary body; after the first malformation every read
// returns zero and bad stays set.
type bodyReader struct {
	b   []byte
	bad bool
}

func (r *bodyReader) byte() byte {
	if len(r.b) == 0 {
		r.bad = true
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *bodyReader) uvarint() uint64 { return readVarint(r, binary.Uvarint) }
func (r *bodyReader) varint() int64   { return readVarint(r, binary.Varint) }

func readVarint[T uint64 | int64](r *bodyReader, read func([]byte) (T, int)) T {
	v, n := read(r.b)
	if n <= 0 {
		r.bad, r.b = true, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *bodyReader) u32() uint32 {
	v := r.uvarint()
	if v > math.MaxUint32 {
		r.bad = true
		return 0
	}
	return uint32(v)
}

// count reads a length that the remaining bytes could hold, at one byte
// per element at least.
func (r *bodyReader) count() int {
	v := r.uvarint()
	if v > uint64(len(r.b)) {
		r.bad, r.b = true, nil
		return 0
	}
	return int(v)
}

func (r *bodyReader) string() string {
	n := r.count()
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}
