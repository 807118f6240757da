package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"
	json "github.com/goccy/go-json"

	"github.com/ringbackhq/ringback/actors"
)

// An entry is one Raft log command: a batch of core commands sharing the
// time the leader stamped on it. Layout (integers big-endian, n = uvarint):
//
//	+-------+---------+----------------+-----------+
//	| 'R'   | version | time (int64 ns) | count (n) |
//	+-------+---------+----------------+-----------+
//	then count times:
//	+------------------+----------+------------------+
//	| kind (uint16)    | len (n)  | body             |
//	+------------------+----------+------------------+
//
// Kinds are actors.Kind, an append-only list: decoding an unknown kind is
// an error, never a skip. A body is the command as JSON, or, for the kinds
// in binary.go, a compact binary form that JSON can never start with.
const (
	entryMagic   = 'R'
	entryVersion = 1
)

// Errors of the codec.
var (
	// ErrBadEntry: a log entry cannot be decoded. A node that meets one
	// stops rather than skip a committed command.
	ErrBadEntry = errors.New("cluster: undecodable log entry")
)

// Entry is a decoded log entry.
type Entry struct {
	Time     int64 // unix nanoseconds, stamped by the leader
	Commands []actors.Command
}

// EncodeEntry appends the encoding of an entry to dst.
func EncodeEntry(dst []byte, e Entry) ([]byte, error) {
	dst = appendEntryHeader(dst, e.Time, len(e.Commands))
	for _, c := range e.Commands {
		var err error
		if dst, err = appendCommand(dst, c); err != nil {
			return nil, err
		}
	}
	return dst, nil
}

// appendEntryHeader appends an entry's header; count commands encoded by
// appendCommand follow it.
func appendEntryHeader(dst []byte, time int64, count int) []byte {
	dst = append(dst, entryMagic, entryVersion)
	dst = binary.BigEndian.AppendUint64(dst, uint64(time))
	return binary.AppendUvarint(dst, uint64(count))
}

// appendCommand appends one command's encoding: kind, length, body (see
// binary.go for the kinds with a binary body; the others are JSON).
func appendCommand(dst []byte, c actors.Command) ([]byte, error) {
	dst = binary.BigEndian.AppendUint16(dst, uint16(c.Kind()))
	if cc, ok := c.(*actors.CreateCallback); ok {
		// The length goes before the body: encode the body, then move it
		// up to make room for the length.
		start := len(dst)
		dst = appendCreateCallback(dst, cc)
		var l [binary.MaxVarintLen64]byte
		n := binary.PutUvarint(l[:], uint64(len(dst)-start))
		dst = append(dst, l[:n]...)
		copy(dst[start+n:], dst[start:len(dst)-n])
		copy(dst[start:], l[:n])
		return dst, nil
	}
	body, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("cluster: encode %T: %w", c, err)
	}
	dst = binary.AppendUvarint(dst, uint64(len(body)))
	return append(dst, body...), nil
}

// DecodeEntry decodes an entry; any malformation is ErrBadEntry.
func DecodeEntry(b []byte) (Entry, error) {
	var d entryDecoder
	return d.decode(b)
}

// entryDecoder decodes entries into memory it reuses from one entry to the
// next: the entry's command list, and its CreateCallback commands (most of
// the log) with their number lists. It is the FSM's: once an entry is
// applied its commands are done with (the core copies what it keeps of a
// command, see actors.CreateCallback), so decoding the next one allocates
// nothing for them.
type entryDecoder struct {
	cmds    []actors.Command
	creates []actors.CreateCallback // slabs: a full one is replaced, never grown
	numbers []string
}

func (d *entryDecoder) decode(b []byte) (Entry, error) {
	d.cmds, d.creates, d.numbers = d.cmds[:0], d.creates[:0], d.numbers[:0]
	bad := func(format string, args ...any) (Entry, error) {
		return Entry{}, fmt.Errorf("%w: %s", ErrBadEntry, fmt.Sprintf(format, args...))
	}
	if len(b) < 11 || b[0] != entryMagic {
		return bad("no entry header")
	}
	if b[1] != entryVersion {
		return bad("version %d, this build reads %d", b[1], entryVersion)
	}
	e := Entry{Time: int64(binary.BigEndian.Uint64(b[2:10]))}
	n, k := binary.Uvarint(b[10:])
	if k <= 0 || n > uint64(len(b)) {
		return bad("bad command count")
	}
	rest := b[10+k:]
	for i := uint64(0); i < n; i++ {
		if len(rest) < 2 {
			return bad("command %d: truncated", i)
		}
		kind := actors.Kind(binary.BigEndian.Uint16(rest))
		l, k := binary.Uvarint(rest[2:])
		if k <= 0 || l > uint64(len(rest)-2-k) {
			return bad("command %d: bad length", i)
		}
		body := rest[2+k : 2+k+int(l)]
		rest = rest[2+k+int(l):]
		cmd, err := d.command(kind, body)
		if err != nil {
			return bad("command %d: %v", i, err)
		}
		d.cmds = append(d.cmds, cmd)
	}
	if len(rest) != 0 {
		return bad("%d trailing bytes", len(rest))
	}
	e.Commands = d.cmds
	return e, nil
}

// command decodes one command's body, binary or JSON.
func (d *entryDecoder) command(kind actors.Kind, body []byte) (actors.Command, error) {
	if kind == actors.KindCreateCallback && len(body) > 0 && body[0] == binaryBody {
		if len(d.creates) == cap(d.creates) {
			d.creates = make([]actors.CreateCallback, 0, max(64, 2*cap(d.creates)))
		}
		d.creates = d.creates[:len(d.creates)+1]
		c := &d.creates[len(d.creates)-1]
		*c = actors.CreateCallback{}
		var err error
		if d.numbers, err = decodeCreateCallback(body, c, d.numbers); err != nil {
			return nil, fmt.Errorf("(%T): %v", c, err)
		}
		return c, nil
	}
	cmd, ok := newCommand(kind)
	if !ok {
		return nil, fmt.Errorf("unknown kind %d", kind)
	}
	if err := json.Unmarshal(body, cmd); err != nil {
		return nil, fmt.Errorf("(%T): %v", cmd, err)
	}
	return cmd, nil
}

// Announce is the cluster's own command: a new leader says at which HTTP
// address it serves, so followers know where to forward writes. Its kind
// lies above the core's, in a range reserved for the cluster.
type Announce struct {
	ID       string `json:"id"`
	HTTPAddr string `json:"httpAddr"`
}

const kindAnnounce actors.Kind = 0x8001

// Kind implements actors.Command.
func (Announce) Kind() actors.Kind { return kindAnnounce }

func newCommand(k actors.Kind) (actors.Command, bool) {
	if k == kindAnnounce {
		return new(Announce), true
	}
	return actors.NewCommand(k)
}
