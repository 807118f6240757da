package wal

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/hashicorp/raft"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite the seed corpus in testdata/fuzz")

// fuzzMaxRecord is the record bound the fuzz targets decode with.
const fuzzMaxRecord = 1024

// seedSegments returns segment images worth starting from: a clean
// segment, one with a truncate record, a torn tail, an oversized length.
func seedSegments(t testing.TB) map[string][]byte {
	out := map[string][]byte{}
	build := func(name string, do func(w *WAL)) {
		fs := NewMemFS()
		w, err := Open("/d", WithFS(fs), WithSegmentSize(1<<20), WithPreallocate(false), WithMaxRecordSize(fuzzMaxRecord))
		if err != nil {
			t.Fatalf("Open = %v", err)
		}
		do(w)
		if err := w.Close(); err != nil {
			t.Fatalf("Close = %v", err)
		}
		img, err := fs.ReadFile(lastSegmentPath(fs))
		if err != nil {
			t.Fatalf("ReadFile = %v", err)
		}
		out[name] = img
	}
	build("clean", func(w *WAL) {
		_ = w.StoreLogs(entries(1, 3, 1))
		_ = w.StoreLogs(entries(4, 4, 1))
	})
	build("truncated-batch", func(w *WAL) {
		_ = w.StoreLogs(entries(10, 15, 1))
		_ = w.DeleteRange(13, 15)
		_ = w.StoreLogs(entries(13, 14, 2))
	})
	clean := out["clean"]
	out["torn"] = clean[:len(clean)-7]
	huge := append([]byte(nil), clean...)
	huge[headerSize+8] = 0xff // data length of the first entry
	huge[headerSize+9] = 0xff
	out["huge-length"] = huge
	out["empty"] = nil
	out["zero-header"] = make([]byte, 64)
	return out
}

func lastSegmentPath(fs *MemFS) string {
	names, _ := fs.ReadDir("/d")
	var last string
	for _, n := range names {
		if _, ok := parseSegName(n); ok {
			last = n
		}
	}
	return "/d/" + last
}

// writeCorpus stores seeds in the go fuzz corpus format.
func writeCorpus(t *testing.T, target string, seeds map[string][]byte) {
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range seeds {
		body := "go test fuzz v1\n[]byte(" + strconv.Quote(string(b)) + ")\n"
		if err := os.WriteFile(filepath.Join(dir, "seed-"+name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestUpdateFuzzCorpus(t *testing.T) {
	if !*updateCorpus {
		t.Skip("run with -update-corpus to rewrite testdata/fuzz")
	}
	segs := seedSegments(t)
	writeCorpus(t, "FuzzScanSegment", segs)
	recs := map[string][]byte{}
	for name, img := range segs {
		if len(img) > headerSize {
			recs[name] = img[headerSize:]
		}
	}
	writeCorpus(t, "FuzzDecodeRecord", recs)
}

// FuzzDecodeRecord decodes one record from arbitrary bytes: it must not
// panic, must refuse lengths over the maximum before allocating, and an
// entry that decodes must encode back to the same bytes.
func FuzzDecodeRecord(f *testing.F) {
	for _, img := range seedSegments(f) {
		if len(img) > headerSize {
			f.Add(img[headerSize:])
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) >= 5 && (b[4] == kindCommit || b[4] == kindTruncate) {
			m, why := decodeMarker(b)
			if why == "" {
				re := make([]byte, markerSize)
				putMarker(re, m)
				if !bytes.Equal(re, b[:markerSize]) {
					t.Fatalf("marker %+v re-encodes to %x, want %x", m, re, b[:markerSize])
				}
			}
			return
		}
		m, why := decodeEntryHead(b, fuzzMaxRecord)
		if why != "" {
			return
		}
		if m.size() > entryHead+fuzzMaxRecord {
			t.Fatalf("accepted record of %d bytes, max %d", m.size(), entryHead+fuzzMaxRecord)
		}
		if m.size() > int64(len(b)) {
			return
		}
		var l raft.Log
		if decodeEntry(b[:m.size()], m, &l) != "" {
			return
		}
		re, _ := appendEntry(nil, &l, m.flags)
		if !bytes.Equal(re, b[:m.size()]) {
			t.Fatalf("entry %+v re-encodes to %x, want %x", l, re, b[:m.size()])
		}
	})
}

// FuzzScanSegment scans arbitrary segment images: it must not panic, must
// never buffer more than one maximum record, and every entry it reports as
// committed must decode with its index.
func FuzzScanSegment(f *testing.F) {
	for _, img := range seedSegments(f) {
		f.Add(img)
	}
	f.Fuzz(func(t *testing.T, img []byte) {
		s, err := scanSegment("f.wal", bytes.NewReader(img), int64(len(img)), fuzzMaxRecord)
		if err != nil {
			t.Fatalf("scanSegment = %v, want no i/o error from memory", err)
		}
		if limit := max(windowSize, entryHead+fuzzMaxRecord); s.maxBuf > limit {
			t.Fatalf("scan buffered %d bytes, limit %d", s.maxBuf, limit)
		}
		if s.end > int64(len(img)) || s.stop < s.end {
			t.Fatalf("end %d stop %d size %d", s.end, s.stop, len(img))
		}
		for i, off := range s.offsets {
			m, why := decodeEntryHead(img[off:], fuzzMaxRecord)
			if why != "" || m.index != s.hdr.base+uint64(i) {
				t.Fatalf("committed entry %d at %d: %s, index %d", i, off, why, m.index)
			}
			var l raft.Log
			if why := decodeEntry(img[off:int64(off)+m.size()], m, &l); why != "" {
				t.Fatalf("committed entry %d at %d: %s", i, off, why)
			}
		}
		_, _ = analyze([]*segScan{s}, 0)
		_ = fmt.Sprint(s.reason)
	})
}
