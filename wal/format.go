package wal

import (
	"encoding/binary"
	"hash/crc32"
	"time"

	"github.com/hashicorp/raft"
)

// On-disk format, version 1. All integers are little-endian.
//
// A WAL directory holds segment files named by a 20-digit sequence number
// ("00000000000000000007.wal") and one "meta" file (see stable.go). Each
// segment starts with a header, written together with its first batch:
//
//	0      1      2      3      4      5      6      7      8
//	+------+------+------+------+------+------+------+------+
//	| Magic "RBWL"              | Vsn  | Reserved (0)       |
//	+------+------+------+------+------+------+------+------+
//	| Segment sequence number                               |
//	+------+------+------+------+------+------+------+------+
//	| Base index (index of the first entry in the segment)  |
//	+------+------+------+------+------+------+------+------+
//	| Reserved (0)              | CRC32C of bytes 0..28     |
//	+------+------+------+------+------+------+------+------+
//
// Records follow back to back. Every record begins with a CRC32C over the
// rest of the record and a kind byte; a zero word where a record would start
// means "no more records" (preallocated space is zero-filled). An entry
// record holds one raft.Log:
//
//	0      1      2      3      4      5      6      7      8
//	+------+------+------+------+------+------+------+------+
//	| CRC32C of bytes 4..end    | Kind | Type | Flags| Rsvd |
//	+------+------+------+------+------+------+------+------+
//	| Data length               | Extensions length         |
//	+------+------+------+------+------+------+------+------+
//	| Index                                                 |
//	+------+------+------+------+------+------+------+------+
//	| Term                                                  |
//	+------+------+------+------+------+------+------+------+
//	| AppendedAt, Unix nanoseconds (0 for the zero time)    |
//	+------+------+------+------+------+------+------+------+
//	| Data ... | Extensions ...                             |
//	+------+------+------+------+------+------+------+------+
//
// Kind is kindEntry; Type is raft.LogType; Flags bit 0 marks the first entry
// of a batch. A batch (one StoreLogs call) is its entries followed by one
// commit record:
//
//	0      1      2      3      4      5      6      7      8
//	+------+------+------+------+------+------+------+------+
//	| CRC32C of bytes 4..32     | Kind | Reserved (0)       |
//	+------+------+------+------+------+------+------+------+
//	| Entry count               | Batch CRC32C              |
//	+------+------+------+------+------+------+------+------+
//	| First index of the batch                              |
//	+------+------+------+------+------+------+------+------+
//	| Group start: offset where the write holding it began  |
//	+------+------+------+------+------+------+------+------+
//
// The batch CRC32C runs over the entries' own CRC32C words in order, so it
// covers every byte of the batch without hashing the data twice. Several
// batches from concurrent callers may share one write (group commit); each
// keeps its own commit record, and all carry the same group start.
//
// A truncate record has the commit record's layout with Kind kindTruncate,
// count 0 and "first index" set to the first index it removes: entries of
// this segment from that index on are void. It is written only when a
// suffix deletion cuts a batch in the middle, after the later batches have
// been cut off the file, so the survivors of that batch keep a valid commit.
//
// Recovery accepts a batch only if every entry checksum, the batch checksum
// and the commit checksum match and the indexes are consecutive. The tail of
// the log is its last write (one group). Damage inside it cannot be told
// from a torn write, so it is rolled back to the end of the previous write.
// Damage anywhere else (a valid commit record of a later write follows it,
// or it is in a segment that is not the last) is corruption: Open refuses.
const (
	formatVersion = 1
	segMagic      = "RBWL"

	headerSize = 32 // segment header
	entryHead  = 40 // entry record without data and extensions
	markerSize = 32 // commit and truncate records

	kindEntry    = 0xE1
	kindCommit   = 0xC1
	kindTruncate = 0x7C

	flagBatchStart = 1

	// maxSegmentEnd bounds a segment's size: offsets are held as uint32.
	maxSegmentEnd = 1<<32 - 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func crc(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// segHeader is a decoded segment header.
type segHeader struct {
	seq  uint64
	base uint64
}

func putHeader(b []byte, h segHeader) {
	_ = b[headerSize-1]
	copy(b[0:4], segMagic)
	b[4] = formatVersion
	b[5], b[6], b[7] = 0, 0, 0
	binary.LittleEndian.PutUint64(b[8:16], h.seq)
	binary.LittleEndian.PutUint64(b[16:24], h.base)
	binary.LittleEndian.PutUint32(b[24:28], 0)
	binary.LittleEndian.PutUint32(b[28:32], crc(b[0:28]))
}

// decodeHeader parses a segment header. It reports zero=true when all 32
// bytes are zero (an unused, preallocated segment).
func decodeHeader(b []byte) (h segHeader, zero bool, reason string) {
	if len(b) < headerSize {
		return h, false, "short segment header"
	}
	if isZero(b[:headerSize]) {
		return h, true, "zero segment header"
	}
	if string(b[0:4]) != segMagic {
		return h, false, "bad segment magic"
	}
	if binary.LittleEndian.Uint32(b[28:32]) != crc(b[0:28]) {
		return h, false, "bad segment header checksum"
	}
	if b[4] != formatVersion {
		return h, false, "unknown segment format version"
	}
	h.seq = binary.LittleEndian.Uint64(b[8:16])
	h.base = binary.LittleEndian.Uint64(b[16:24])
	if h.base == 0 {
		return h, false, "segment base index 0"
	}
	return h, false, ""
}

func isZero(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b) != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// entrySize is the encoded size of a log entry.
func entrySize(l *raft.Log) int { return entryHead + len(l.Data) + len(l.Extensions) }

// appendEntry encodes l at the end of buf and returns the grown buffer and
// the record's CRC. It does not allocate when buf has room.
func appendEntry(buf []byte, l *raft.Log, flags byte) ([]byte, uint32) {
	n := entrySize(l)
	start := len(buf)
	buf = grow(buf, n)
	b := buf[start : start+n]
	b[4] = kindEntry
	b[5] = byte(l.Type)
	b[6] = flags
	b[7] = 0
	binary.LittleEndian.PutUint32(b[8:12], uint32(len(l.Data)))
	binary.LittleEndian.PutUint32(b[12:16], uint32(len(l.Extensions)))
	binary.LittleEndian.PutUint64(b[16:24], l.Index)
	binary.LittleEndian.PutUint64(b[24:32], l.Term)
	var at int64
	if !l.AppendedAt.IsZero() {
		at = l.AppendedAt.UnixNano()
	}
	binary.LittleEndian.PutUint64(b[32:40], uint64(at))
	copy(b[entryHead:], l.Data)
	copy(b[entryHead+len(l.Data):], l.Extensions)
	c := crc(b[4:])
	binary.LittleEndian.PutUint32(b[0:4], c)
	return buf, c
}

func grow(buf []byte, n int) []byte {
	if cap(buf)-len(buf) < n {
		nb := make([]byte, len(buf), 2*cap(buf)+n)
		copy(nb, buf)
		buf = nb
	}
	return buf[:len(buf)+n]
}

// entryMeta is an entry record's fixed part, decoded.
type entryMeta struct {
	crc     uint32
	typ     raft.LogType
	flags   byte
	dataLen uint32
	extLen  uint32
	index   uint64
	term    uint64
	at      int64
}

func (m entryMeta) size() int64 { return entryHead + int64(m.dataLen) + int64(m.extLen) }

// decodeEntryHead parses the fixed part of an entry record. It checks the
// lengths against maxRecord before anyone allocates for the body.
func decodeEntryHead(b []byte, maxRecord int) (m entryMeta, reason string) {
	if len(b) < entryHead {
		return m, "short entry record"
	}
	if b[4] != kindEntry {
		return m, "not an entry record"
	}
	m.crc = binary.LittleEndian.Uint32(b[0:4])
	m.typ = raft.LogType(b[5])
	m.flags = b[6]
	m.dataLen = binary.LittleEndian.Uint32(b[8:12])
	m.extLen = binary.LittleEndian.Uint32(b[12:16])
	m.index = binary.LittleEndian.Uint64(b[16:24])
	m.term = binary.LittleEndian.Uint64(b[24:32])
	m.at = int64(binary.LittleEndian.Uint64(b[32:40]))
	if b[7] != 0 || m.flags&^flagBatchStart != 0 {
		return m, "reserved entry bits set"
	}
	if uint64(m.dataLen)+uint64(m.extLen) > uint64(maxRecord) {
		return m, "entry length exceeds maximum record size"
	}
	return m, ""
}

// decodeEntry verifies a whole entry record in b (exactly m.size() bytes)
// and fills l. Data and Extensions alias b.
func decodeEntry(b []byte, m entryMeta, l *raft.Log) (reason string) {
	if int64(len(b)) != m.size() {
		return "short entry record"
	}
	if crc(b[4:]) != m.crc {
		return "bad entry checksum"
	}
	l.Index = m.index
	l.Term = m.term
	l.Type = m.typ
	d := entryHead + int(m.dataLen)
	l.Data = nilIfEmpty(b[entryHead:d:d])
	l.Extensions = nilIfEmpty(b[d:])
	if m.at == 0 {
		l.AppendedAt = time.Time{}
	} else {
		l.AppendedAt = time.Unix(0, m.at)
	}
	return ""
}

func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// marker is a decoded commit or truncate record.
type marker struct {
	kind       byte
	count      uint32
	batchCRC   uint32
	first      uint64
	groupStart uint64
}

func putMarker(b []byte, m marker) {
	_ = b[markerSize-1]
	b[4] = m.kind
	b[5], b[6], b[7] = 0, 0, 0
	binary.LittleEndian.PutUint32(b[8:12], m.count)
	binary.LittleEndian.PutUint32(b[12:16], m.batchCRC)
	binary.LittleEndian.PutUint64(b[16:24], m.first)
	binary.LittleEndian.PutUint64(b[24:32], m.groupStart)
	binary.LittleEndian.PutUint32(b[0:4], crc(b[4:markerSize]))
}

// setGroupStart rewrites a marker's group start and checksum in place.
func setGroupStart(b []byte, groupStart uint64) {
	binary.LittleEndian.PutUint64(b[24:32], groupStart)
	binary.LittleEndian.PutUint32(b[0:4], crc(b[4:markerSize]))
}

func decodeMarker(b []byte) (m marker, reason string) {
	if len(b) < markerSize {
		return m, "short commit record"
	}
	m.kind = b[4]
	if m.kind != kindCommit && m.kind != kindTruncate {
		return m, "not a commit record"
	}
	if binary.LittleEndian.Uint32(b[0:4]) != crc(b[4:markerSize]) {
		return m, "bad commit checksum"
	}
	if b[5]|b[6]|b[7] != 0 {
		return m, "reserved commit bits set"
	}
	m.count = binary.LittleEndian.Uint32(b[8:12])
	m.batchCRC = binary.LittleEndian.Uint32(b[12:16])
	m.first = binary.LittleEndian.Uint64(b[16:24])
	m.groupStart = binary.LittleEndian.Uint64(b[24:32])
	return m, ""
}

// appendCRCWord appends an entry's CRC to the words a batch checksum runs
// over; the batch CRC32C is crc() of all of them, in order.
func appendCRCWord(words []byte, entryCRC uint32) []byte {
	return binary.LittleEndian.AppendUint32(words, entryCRC)
}
