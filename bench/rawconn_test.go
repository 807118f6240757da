package bench

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ringbackhq/ringback/cmd/ringback/api"
)

// TestRawConnAnswers checks the load generator's lean answer reading
// against the answers net/http's server writes: small bodies with a
// length, a large one sent chunked, errors, and a connection the server
// closes.
func TestRawConnAnswers(t *testing.T) {
	big := strings.Repeat("x", 20000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/created":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte(`{"id":7}`))
		case "/big":
			_, _ = w.Write([]byte(`{"s":"` + big + `"}`))
		case "/close":
			w.Header().Set("Connection", "close")
			_, _ = w.Write([]byte(`{"id":8}`))
		default:
			http.Error(w, "no such thing", http.StatusNotFound)
		}
	}))
	defer srv.Close()
	conn := (&apiServer{url: srv.URL}).dial()
	defer conn.close()
	var v struct {
		ID int    `json:"id"`
		S  string `json:"s"`
	}
	for round := 0; round < 2; round++ { // the same connection, twice over
		if err := conn.post("/created", "k", nil, &v); err != nil || v.ID != 7 {
			t.Fatalf("round %d: /created: %v, id %d", round, err, v.ID)
		}
		var id uint64
		if err := conn.post("/created", "k", nil, &id); err != nil || id != 7 {
			t.Fatalf("round %d: /created, id scanned: %v, id %d", round, err, id)
		}
		if err := conn.post("/big", "k", nil, &id); err == nil {
			t.Fatalf("round %d: /big has no id, scanned %d", round, id)
		}
		if err := conn.post("/created", "k", nil, nil); err != nil {
			t.Fatalf("round %d: /created, body discarded: %v", round, err)
		}
		if err := conn.post("/big", "k", nil, &v); err != nil || v.S != big {
			t.Fatalf("round %d: /big (chunked): %v, %d bytes", round, err, len(v.S))
		}
		if err := conn.post("/missing", "k", nil, nil); err == nil || !strings.Contains(err.Error(), "404 no such thing") {
			t.Fatalf("round %d: /missing: %v, want the 404 and its body", round, err)
		}
		if err := conn.post("/close", "k", nil, &v); err != nil || v.ID != 8 || conn.c != nil {
			t.Fatalf("round %d: /close: %v, id %d, connection kept %v", round, err, v.ID, conn.c != nil)
		}
	}
}

// The offer test's stream reader scans the server's JSON by hand: it must
// find exactly the offers the server encodes, and nothing else.
func TestOfferedEvent(t *testing.T) {
	frame := func(e any) []byte {
		data, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		return append(append([]byte("data: "), data...), '\n')
	}
	want := api.OfferEvent{Type: "offered", CallbackID: 18446744073709551615, OfferID: 7, QueueID: 3, DomainID: 2}
	got, ok := offeredEvent(frame(want))
	if !ok || got.CallbackID != want.CallbackID || got.OfferID != want.OfferID {
		t.Fatalf("offered: got %+v, %v; want callback %d offer %d", got, ok, want.CallbackID, want.OfferID)
	}
	for _, line := range [][]byte{
		frame(api.OfferEvent{Type: "revoked", CallbackID: 1, OfferID: 2, Reason: "timed out"}),
		frame(api.Heartbeat{}),
		[]byte("event: offer\n"),
		[]byte("data: {\"type\":\"offered\",\"offerId\":2}\n"),
	} {
		if e, ok := offeredEvent(line); ok {
			t.Errorf("%q read as an offer: %+v", line, e)
		}
	}
}
