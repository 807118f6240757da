package cluster

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ringbackhq/ringback/actors"
)

// fuzzSeedEntries are realistic entries: one of each kind of command the
// workload and the cluster write, alone and batched.
func fuzzSeedEntries() []Entry {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	admin := actors.Target{Tenant: 1, By: actors.AsUser(1)}
	agent := actors.Target{Tenant: 1, By: actors.AsUser(2)}
	all := []actors.Command{
		&actors.CreateTenant{Profile: actors.Profile{CompanyName: "Acme", AdminUsername: "ada", AdminEmail: "ada@acme.test", AdminFirstName: "Ada"},
			Limits: actors.Limits{StorageQuotaBytes: 1 << 30}, Features: map[actors.Feature]bool{}},
		&actors.CreateDomain{Target: admin, Name: "east", Parent: actors.HomeDomain},
		&actors.CreateQueue{Target: admin, Name: "support", Domain: actors.HomeDomain},
		&actors.CreateUser{Target: admin, Name: "bob", Home: 1, Grants: []actors.Grant{{Role: actors.RoleAgent, Scope: actors.Scope{All: true}}},
			Positions: []actors.Position{{Name: "p", Domain: 1}}, Memberships: []actors.Membership{{Queue: 1, Tier: 1}}},
		&actors.CreateCode{Target: admin, CodeKind: actors.WrapUpCode, Name: "resolved"},
		&actors.SetPresence{Target: agent, Agent: 2, Presence: actors.Available},
		&actors.CreateCallback{Target: admin, Queue: 1, CustomerName: "Carol", Numbers: []string{"+15550100"}, Priority: 3,
			ScheduledAt: at.Add(time.Hour), Data: map[string]string{"order": "42"}, IdempotencyKey: "web-42", RequestHash: "abc"},
		&actors.AcceptOffer{Target: agent, Callback: 1, Offer: 7},
		&actors.CompleteCallback{Target: agent, Callback: 1, Disposition: 1, Comment: "ok"},
		&actors.CancelCallback{Target: admin, Callback: 1},
		&actors.Tick{},
		&Announce{ID: "node1", HTTPAddr: "127.0.0.1:8081"},
	}
	var out []Entry
	for i, c := range all {
		out = append(out, Entry{Time: at.Add(time.Duration(i) * time.Second).UnixNano(), Commands: []actors.Command{c}})
	}
	out = append(out, Entry{Time: at.UnixNano(), Commands: all}, Entry{Time: 0, Commands: nil})
	return out
}

// FuzzDecodeEntry: decoding arbitrary bytes never panics; whatever decodes
// re-encodes, and the re-encoding is a fixed point (decode then encode
// gives the same bytes), so a leader and its followers agree on an entry.
//
//	go test ./cluster -run '^$' -fuzz FuzzDecodeEntry -fuzztime 30s
func FuzzDecodeEntry(f *testing.F) {
	for _, e := range fuzzSeedEntries() {
		b, err := EncodeEntry(nil, e)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{entryMagic, entryVersion})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeEntry(b)
		if err != nil {
			return
		}
		b2, err := EncodeEntry(nil, e)
		if err != nil {
			t.Fatalf("EncodeEntry(DecodeEntry(%q)) = %v; a decodable entry must re-encode", b, err)
		}
		e2, err := DecodeEntry(b2)
		if err != nil {
			t.Fatalf("DecodeEntry(re-encoded %q) = %v", b2, err)
		}
		if e2.Time != e.Time || len(e2.Commands) != len(e.Commands) {
			t.Fatalf("re-decoded entry = time %d, %d commands; want %d, %d", e2.Time, len(e2.Commands), e.Time, len(e.Commands))
		}
		for i := range e.Commands {
			if e.Commands[i].Kind() != e2.Commands[i].Kind() {
				t.Fatalf("command %d kind = %d after re-encoding, want %d", i, e2.Commands[i].Kind(), e.Commands[i].Kind())
			}
		}
		b3, err := EncodeEntry(nil, e2)
		if err != nil || !bytes.Equal(b3, b2) {
			t.Fatalf("encoding is not a fixed point:\n%q\n%q (%v)", b2, b3, err)
		}
	})
}

// TestWriteFuzzCorpus rewrites the committed seed corpus under
// testdata/fuzz/FuzzDecodeEntry when RINGBACK_WRITE_CORPUS is set.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("RINGBACK_WRITE_CORPUS") == "" {
		t.Skip("set RINGBACK_WRITE_CORPUS=1 to rewrite testdata/fuzz/FuzzDecodeEntry")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzDecodeEntry")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, e := range fuzzSeedEntries() {
		b, err := EncodeEntry(nil, e)
		if err != nil {
			t.Fatal(err)
		}
		// Also damaged variants: truncated, and a flipped length byte.
		for j, v := range [][]byte{b, b[:len(b)/2], flip(b, 11)} {
			body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", v)
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d-%d", i, j)), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	if i < len(c) {
		c[i] ^= 0x40
	}
	return c
}
