package cluster

import (
	"encoding/binary"
	"reflect"
	"testing"
	"time"

	json "github.com/goccy/go-json"

	"github.com/ringbackhq/ringback/actors"
)

// createCallbacks covers every field of CreateCallback, empty and full.
func createCallbacks() []*actors.CreateCallback {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	return []*actors.CreateCallback{
		{},
		{Target: actors.Target{Tenant: 1, By: actors.AsUser(1)}, Queue: 2, CustomerName: "Carol", Numbers: []string{"+15550100"}},
		{Target: actors.Target{Tenant: 4_000_000_000, By: actors.AsApp(9)}, Queue: 3, Domain: 7, CustomerName: "Zoë «quoted»",
			Numbers: []string{"+15550100", "0044207"}, Priority: -5, ScheduledAt: at.Add(time.Hour),
			Data: map[string]string{"order": "42", "a": "", "z": "x"}, IdempotencyKey: "web-42", RequestHash: "abc"},
	}
}

// TestCreateCallbackBinaryRoundTrip: the binary body gives back the same
// command, and a JSON body (logs written before the binary form) still
// decodes to the same command.
func TestCreateCallbackBinaryRoundTrip(t *testing.T) {
	for i, want := range createCallbacks() {
		b, err := EncodeEntry(nil, Entry{Time: 1, Commands: []actors.Command{want}})
		if err != nil {
			t.Fatal(err)
		}
		e, err := DecodeEntry(b)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if got := e.Commands[0]; !reflect.DeepEqual(got, want) {
			t.Errorf("%d: binary round trip = %+v, want %+v", i, got, want)
		}
		body, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		old := appendEntryHeader(nil, 1, 1)
		old = binary.BigEndian.AppendUint16(old, uint16(want.Kind()))
		old = append(binary.AppendUvarint(old, uint64(len(body))), body...)
		e, err = DecodeEntry(old)
		if err != nil {
			t.Fatalf("%d: JSON body: %v", i, err)
		}
		got := e.Commands[0].(*actors.CreateCallback)
		if !got.ScheduledAt.Equal(want.ScheduledAt) {
			t.Errorf("%d: JSON body scheduledAt = %v, want %v", i, got.ScheduledAt, want.ScheduledAt)
		}
		got.ScheduledAt = want.ScheduledAt
		if len(got.Numbers) == 0 && len(want.Numbers) == 0 {
			got.Numbers = want.Numbers
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%d: JSON body decodes to %+v, want %+v", i, got, want)
		}
	}
}

// TestCreateCallbackBinaryRefusesDamage: every truncation and trailing
// byte is refused, never decoded into some other command.
func TestCreateCallbackBinaryRefusesDamage(t *testing.T) {
	full := createCallbacks()[2]
	body := appendCreateCallback(nil, full)
	for n := range len(body) {
		if _, err := decodeCreateCallback(body[:n], new(actors.CreateCallback), nil); err == nil {
			t.Errorf("body truncated to %d of %d bytes decoded", n, len(body))
		}
	}
	if _, err := decodeCreateCallback(append(body, 0), new(actors.CreateCallback), nil); err == nil {
		t.Error("body with a trailing byte decoded")
	}
}

// TestEntryDecoderReuse decodes entries one after another with one
// decoder, as the FSM does, each entry's commands overwriting the memory
// of the one before: every entry still decodes to its own commands.
func TestEntryDecoderReuse(t *testing.T) {
	var d entryDecoder
	cbs := createCallbacks()
	entries := [][]actors.Command{
		{cbs[2], cbs[1], &actors.CreateQueue{Target: actors.Target{Tenant: 1, By: actors.AsUser(1)}, Name: "q", Domain: 1}},
		{cbs[0], cbs[1], cbs[2], cbs[2], cbs[1]},
		{cbs[1]},
	}
	for round := 0; round < 3; round++ {
		for i, cmds := range entries {
			raw, err := EncodeEntry(nil, Entry{Time: int64(i), Commands: cmds})
			if err != nil {
				t.Fatal(err)
			}
			got, err := d.decode(raw)
			if err != nil {
				t.Fatalf("round %d entry %d: %v", round, i, err)
			}
			if !reflect.DeepEqual(got.Commands, cmds) {
				t.Fatalf("round %d entry %d: decoded %+v, want %+v", round, i, got.Commands, cmds)
			}
		}
	}
}
