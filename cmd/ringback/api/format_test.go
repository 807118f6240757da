package api

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// TestJSONFormatMatchesEncodingJSON: the answers jsonFormat writes are
// byte for byte what huma's default (encoding/json) would write, for
// random values of the answer types with awkward strings, numbers and
// times.
func TestJSONFormatMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	pieces := []string{"", "a", "Zoë", "<b>&amp;", "\u2028\u2029", "\x00\x1f", "\"quoted\\", "日本", "😀", "\xff\xfe", "tab\tnl\n", "+15550100"}
	str := func() string {
		var b strings.Builder
		for range r.IntN(4) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		return b.String()
	}
	floats := []float64{0, 1, -1, 0.5, 1e-7, 1e-6, 123456789.125, 1e20, 1e21, 1e300, math.SmallestNonzeroFloat64, 300}
	when := func() time.Time {
		return time.Unix(r.Int64N(4e9), r.Int64N(1e9)).In(time.FixedZone("x", (r.IntN(48)-24)*1800))
	}
	for i := range 300 {
		due := when()
		data := map[string]string{}
		for range r.IntN(3) {
			data[str()] = str()
		}
		values := []any{
			CallbackView{ID: r.Uint64(), State: str(), QueueID: r.Uint32(), DomainIDs: []uint32{r.Uint32()}, CallbackUserName: str(),
				CallbackNumbers: []string{str(), str()}, CallbackScheduledTime: &due, Priority: r.IntN(2000) - 1000, Data: data,
				QueuePosition: r.IntN(1e6), EstimatedWaitSeconds: floats[r.IntN(len(floats))], CreatedTime: when(), Comment: str()},
			CallbackView{CreatedTime: time.Unix(0, 0).UTC()},
			TenantView{ID: r.Uint32(), CompanyName: str(), Host: str(), Features: map[string]bool{str(): true, str(): false},
				Limits: LimitsBody{MaxAgents: r.IntN(1e6), StorageQuotaBytes: r.Int64(), MaxDomains: r.IntN(100)}},
			&huma.ErrorModel{Type: str(), Title: str(), Status: 400 + r.IntN(200), Detail: str(),
				Errors: []*huma.ErrorDetail{{Message: str(), Location: str(), Value: str()}, {Message: str(), Value: r.Float64()}}},
			map[string]any{"items": []any{str(), r.Int64(), nil, true, floats[r.IntN(len(floats))]}, str(): map[string]int{}},
		}
		for _, v := range values {
			var want, got bytes.Buffer
			if err := huma.DefaultJSONFormat.Marshal(&want, v); err != nil {
				t.Fatal(err)
			}
			if err := jsonFormat.Marshal(&got, v); err != nil {
				t.Fatalf("%d: %T: %v", i, v, err)
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Fatalf("%d: %T:\ngoccy    %s\nstdlib   %s", i, v, got.Bytes(), want.Bytes())
			}
		}
	}
	// And the answers stay valid JSON.
	var v any
	var b bytes.Buffer
	_ = jsonFormat.Marshal(&b, map[string]string{"k": "\xff"})
	if err := json.Unmarshal(b.Bytes(), &v); err != nil {
		t.Errorf("invalid UTF-8 gives invalid JSON: %s", b.Bytes())
	}
}

// appendCallbackFields writes what jsonFormat writes, for random callbacks
// with every field set (a field added to CallbackView is set too, so it
// cannot be forgotten), plainly written ones and the others.
func TestCallbackJSONMatchesJSONFormat(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	pieces := []string{"", "a", "Zoë", "+15550100", "queued", "<b>&amp;", "\u2028", "\x00\x1f", "\"quoted\\", "back\\slash", "日本", "😀", "\xff", "tab\t", "\x7f"}
	str := func() string {
		if r.IntN(2) == 0 {
			return pieces[r.IntN(5)] // plain
		}
		return pieces[r.IntN(len(pieces))]
	}
	floats := []float64{0, 1, -1, 0.5, 300, 123456789.125, 1e-6, 1e20, 1e-7, 1e21, math.SmallestNonzeroFloat64, math.MaxFloat64}
	when := func() time.Time {
		t := time.Unix(r.Int64N(4e9)-1e9, r.Int64N(1e9)).UTC()
		switch r.IntN(8) {
		case 0:
			return t.In(time.FixedZone("x", 3600))
		case 1:
			return t.In(time.FixedZone("y", 25*3600))
		case 2:
			return time.Date(10000+r.IntN(10), 1, 1, 0, 0, 0, 0, time.UTC)
		}
		return t
	}
	fill := func(f reflect.Value) {
		switch p := f.Addr().Interface().(type) {
		case *uint64, *uint32, *int:
			if r.IntN(4) != 0 { // else zero, for omitempty
				f.Set(reflect.ValueOf(r.Uint64() >> r.IntN(64)).Convert(f.Type()))
			}
		case *string:
			*p = str()
		case *float64:
			*p = floats[r.IntN(len(floats))]
		case *time.Time:
			*p = when()
		case **time.Time:
			if r.IntN(2) == 0 {
				due := when()
				*p = &due
			}
		case *[]uint32:
			for n := r.IntN(4) - 1; n >= 0; n-- { // nil, empty or some
				*p = append(*p, r.Uint32()>>r.IntN(32))
			}
			if *p == nil && r.IntN(2) == 0 {
				*p = []uint32{}
			}
		case *[]string:
			for n := r.IntN(4) - 1; n >= 0; n-- {
				*p = append(*p, str())
			}
			if *p == nil && r.IntN(2) == 0 {
				*p = []string{}
			}
		case *map[string]string:
			switch r.IntN(4) {
			case 0:
				*p = map[string]string{str(): str()}
			case 1:
				*p = map[string]string{}
			}
		default:
			t.Fatalf("CallbackView.%s: a type this test does not fill", f.Type())
		}
	}
	plain := 0
	for i := range 5000 {
		var v CallbackView
		rv := reflect.ValueOf(&v).Elem()
		for f := range rv.NumField() {
			fill(rv.Field(f))
		}
		var want bytes.Buffer
		wantErr := jsonFormat.Marshal(&want, &v)
		got, err := appendCallbackFields([]byte("{"), &v)
		if (err != nil) != (wantErr != nil) || err == nil && !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("%d: %+v:\nappended  %s (%v)\njsonFormat %s (%v)", i, v, got, err, want.Bytes(), wantErr)
		}
		if _, ok := appendPlainCallback(nil, &v); ok {
			plain++
		}
	}
	if plain < 200 {
		t.Errorf("only %d of 5000 callbacks written plainly", plain)
	}
}
