package wal

import (
	"testing"

	"github.com/hashicorp/raft"
)

func TestSmoke(t *testing.T) {
	dir := t.TempDir()
	w, err := Open(dir, WithSegmentSize(8192))
	if err != nil {
		t.Fatal(err)
	}
	for i := uint64(1); i <= 200; i++ {
		if err := w.StoreLogs([]*raft.Log{{Index: i, Term: 1, Data: []byte("hello world")}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w, err = Open(dir, WithSegmentSize(8192))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	f, _ := w.FirstIndex()
	l, _ := w.LastIndex()
	if f != 1 || l != 200 {
		t.Fatalf("bounds %d %d", f, l)
	}
	var lg raft.Log
	if err := w.GetLog(150, &lg); err != nil || string(lg.Data) != "hello world" {
		t.Fatal(err, lg)
	}
	if err := w.DeleteRange(120, 200); err != nil {
		t.Fatal(err)
	}
	if err := w.DeleteRange(1, 50); err != nil {
		t.Fatal(err)
	}
	f, _ = w.FirstIndex()
	l, _ = w.LastIndex()
	if f != 51 || l != 119 {
		t.Fatalf("bounds %d %d", f, l)
	}
}
