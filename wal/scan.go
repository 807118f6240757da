package wal

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// segScan is what one pass over a segment file found. It is pure
// observation: deciding whether a problem is a torn tail or corruption needs
// to know whether the segment is the last one, which analyze does.
type segScan struct {
	name string
	size int64

	hdr       segHeader
	hdrZero   bool   // the 32 header bytes are zero (unused segment)
	hdrReason string // why the header is invalid; "" when valid or zero

	offsets []uint32 // committed entries: offsets[i] holds index hdr.base+i
	end     int64    // end of the last committed record; where the next write goes
	stop    int64    // where parsing stopped
	reason  string   // why parsing stopped; "" for a clean end (EOF or zero word)
	pending int      // entries parsed after end without a commit record

	later      int64 // offset of a valid commit record of a later write after end, or -1
	laterGroup uint64

	maxBuf int // largest buffer the scan allocated for one record
}

func (s *segScan) first() uint64 { return s.hdr.base }
func (s *segScan) last() uint64  { return s.hdr.base + uint64(len(s.offsets)) - 1 }
func (s *segScan) dirty() bool   { return s.reason != "" || s.pending > 0 || s.stop != s.end }

// window reads a file sequentially through a fixed buffer, allocating a
// separate buffer only for a record larger than the window, and never more
// than the caller has already bounded.
type window struct {
	r     io.ReaderAt
	size  int64
	buf   []byte
	off   int64 // file offset of buf[0]
	n     int   // valid bytes in buf
	big   []byte
	maxBf int
}

const windowSize = 256 << 10

func newWindow(r io.ReaderAt, size int64) *window {
	bs := windowSize
	if size < int64(bs) {
		bs = int(size)
	}
	return &window{r: r, size: size, buf: make([]byte, bs), maxBf: bs}
}

// read returns n bytes at off, or ok=false when the file is shorter.
func (w *window) read(off int64, n int) (b []byte, ok bool, err error) {
	if n < 0 || off < 0 || off+int64(n) > w.size {
		return nil, false, nil
	}
	if off >= w.off && off+int64(n) <= w.off+int64(w.n) {
		return w.buf[off-w.off : off-w.off+int64(n)], true, nil
	}
	dst := w.buf
	if n > len(w.buf) {
		if cap(w.big) < n {
			w.big = make([]byte, n)
			w.maxBf = max(w.maxBf, n)
		}
		dst = w.big[:n]
	} else if rest := w.size - off; rest < int64(len(dst)) {
		dst = dst[:rest]
	}
	k, err := w.r.ReadAt(dst, off)
	if k < n {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, false, err
	}
	if n <= len(w.buf) {
		w.off, w.n = off, k
	}
	return dst[:n], true, nil
}

// scanSegment reads a whole segment image and reports what it holds.
// It returns an error only for an I/O failure, never for bad content.
func scanSegment(name string, r io.ReaderAt, size int64, maxRecord int) (*segScan, error) {
	s := &segScan{name: name, size: size, later: -1}
	w := newWindow(r, size)
	defer func() { s.maxBuf = w.maxBf }()

	hb, ok, err := w.read(0, headerSize)
	if err != nil {
		return nil, err
	}
	switch {
	case !ok && size == 0:
		s.hdrZero = true
		return s, nil
	case !ok:
		rest, _, err := w.read(0, int(size))
		if err != nil {
			return nil, err
		}
		if isZero(rest) {
			s.hdrZero = true
		} else {
			s.hdrReason = "short segment header"
		}
		return s, nil
	}
	var reason string
	s.hdr, s.hdrZero, reason = decodeHeader(hb)
	if s.hdrZero || reason != "" {
		if !s.hdrZero {
			s.hdrReason = reason
		}
		// A zero header with any commit record after it, or a damaged header
		// with a commit record of a second write, means the segment held
		// committed data: its first write (header included) starts at 0.
		minGroup := int64(0)
		if s.hdrZero {
			minGroup = -1
		}
		return s, s.findLater(w, 0, minGroup)
	}

	pos, next := int64(headerSize), s.hdr.base
	s.end = pos
	var (
		pending   []uint32
		words     []byte // entry CRCs of the pending batch
		batchFrom int64
	)
	stop := func(why string) { s.reason = why }
scan:
	for {
		if pos == size {
			break
		}
		if size-pos < 8 {
			tail, _, err := w.read(pos, int(size-pos))
			if err != nil {
				return nil, err
			}
			if !isZero(tail) {
				stop("truncated record")
			}
			break
		}
		b, _, err := w.read(pos, 8)
		if err != nil {
			return nil, err
		}
		if isZero(b) {
			break
		}
		switch b[4] {
		case kindEntry:
			hb, ok, err := w.read(pos, entryHead)
			if err != nil {
				return nil, err
			}
			if !ok {
				stop("truncated entry record")
				break scan
			}
			m, why := decodeEntryHead(hb, maxRecord)
			switch {
			case why != "":
				stop(why)
				break scan
			case m.index != next:
				stop(fmt.Sprintf("entry index %d, want %d", m.index, next))
				break scan
			case len(pending) == 0 && m.flags&flagBatchStart == 0:
				stop("batch does not begin with a batch-start entry")
				break scan
			case len(pending) > 0 && m.flags&flagBatchStart != 0:
				stop("batch-start entry inside a batch")
				break scan
			case pos+m.size() > maxSegmentEnd:
				stop("entry past the maximum segment size")
				break scan
			}
			full, ok, err := w.read(pos, int(m.size()))
			if err != nil {
				return nil, err
			}
			if !ok {
				stop("truncated entry record")
				break scan
			}
			if crc(full[4:]) != m.crc {
				stop("bad entry checksum")
				break scan
			}
			if len(pending) == 0 {
				batchFrom = pos
				words = words[:0]
			}
			pending = append(pending, uint32(pos))
			words = appendCRCWord(words, m.crc)
			next++
			pos += m.size()
		case kindCommit, kindTruncate:
			mb, ok, err := w.read(pos, markerSize)
			if err != nil {
				return nil, err
			}
			if !ok {
				stop("truncated commit record")
				break scan
			}
			mk, why := decodeMarker(mb)
			if why != "" {
				stop(why)
				break scan
			}
			if mk.kind == kindTruncate {
				switch {
				case len(pending) > 0:
					stop("truncate record inside a batch")
					break scan
				case mk.first <= s.hdr.base || mk.first > next:
					stop("truncate record out of range")
					break scan
				case mk.groupStart != uint64(pos):
					stop("truncate record with a bad group start")
					break scan
				}
				s.offsets = s.offsets[:mk.first-s.hdr.base]
				next = mk.first
			} else {
				switch {
				case len(pending) == 0:
					stop("commit record without entries")
					break scan
				case int(mk.count) != len(pending) || mk.first != next-uint64(len(pending)):
					stop("commit record does not match its batch")
					break scan
				case mk.batchCRC != crc(words):
					stop("bad batch checksum")
					break scan
				case mk.groupStart > uint64(batchFrom):
					stop("commit record with a bad group start")
					break scan
				}
				s.offsets = append(s.offsets, pending...)
				pending = pending[:0]
			}
			pos += markerSize
			s.end = pos
		default:
			stop("unknown record kind")
			break scan
		}
	}
	s.stop = pos
	s.pending = len(pending)
	return s, s.findLater(w, s.end, int64(s.end))
}

// findLater looks from offset from for a valid commit or truncate record
// whose group started after minGroup. Finding one means a later write
// completed after the damage, so the damage is not a torn tail.
func (s *segScan) findLater(w *window, from, minGroup int64) error {
	const chunk = 1 << 20
	if from >= s.size {
		return nil
	}
	buf := make([]byte, min(chunk, s.size-from)+markerSize)
	for off := from; off < s.size; off += chunk {
		n := min(int64(len(buf)), s.size-off)
		b := buf[:n]
		if k, err := w.r.ReadAt(b, off); k < int(n) {
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		// Kind bytes at [4, chunk+4) belong to records starting in
		// [off, off+chunk); the buffer overlaps the next chunk to hold them.
		lim := min(int64(chunk)+4, n)
		for _, kind := range []byte{kindCommit, kindTruncate} {
			for i := int64(4); i < lim; {
				j := bytes.IndexByte(b[i:lim], kind)
				if j < 0 {
					break
				}
				p := i + int64(j) - 4 // kind is byte 4 of a record
				i += int64(j) + 1
				if p < 0 || p+markerSize > n {
					continue
				}
				mk, why := decodeMarker(b[p : p+markerSize])
				at := off + p
				if why == "" && int64(mk.groupStart) > minGroup && int64(mk.groupStart) < at+markerSize {
					if s.later < 0 || at < s.later {
						s.later, s.laterGroup = at, mk.groupStart
					}
				}
			}
		}
		if s.later >= 0 {
			return nil
		}
	}
	return nil
}
