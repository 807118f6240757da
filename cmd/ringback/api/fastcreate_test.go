package api

import (
	"fmt"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// fastCreate answers exactly as huma does: every request is sent once with
// fastCreate off and once with it on, and the answers must match (status,
// content type, Link, body), the values that differ between two creates
// (id, time, place in line) set aside.
func TestFastCreateMatchesHuma(t *testing.T) {
	ts := startServer(t)
	srv := ts.srv
	if !srv.fast.Load() {
		t.Fatal("fastCreate is off: the create operation's schema is not the one it implements")
	}
	f := ts.tenant("acme")
	other := ts.tenant("globex")
	q := f.queue
	long := strings.Repeat("é", 500)
	wide := strings.Repeat("😀", 500) // 2,000 bytes
	cases := []struct {
		name    string
		body    string
		token   string
		headers []string
		fast    bool // fastCreate answers it (otherwise huma does)
	}{
		{"minimal", fmt.Sprintf(`{"queueId":%d,"callbackNumbers":["+15550100"],"callbackUserName":"C"}`, q), f.admin, nil, true},
		{"all plain fields", fmt.Sprintf(` {"callbackUserName":"Zoë \"Z\" \u00e9","priority":7,"domainId":1,"callbackNumbers":["+1","+2","+3"],"queueId":%d} `, q), f.admin, nil, true},
		{"500 runes", fmt.Sprintf(`{"queueId":%d,"callbackNumbers":["+1"],"callbackUserName":%q}`, q, long), f.admin, nil, true},
		{"501 runes", fmt.Sprintf(`{"queueId":%d,"callbackNumbers":["+1"],"callbackUserName":%q}`, q, long+"e"), f.admin, nil, false},
		{"priority 1000", fmt.Sprintf(`{"queueId":%d,"callbackNumbers":["+1"],"callbackUserName":"C","priority":1000}`, q), f.admin, nil, true},
		{"priority 1001", fmt.Sprintf(`{"queueId":%d,"callbackNumbers":["+1"],"callbackUserName":"C","priority":1001}`, q), f.admin, nil, false},
		{"priority -1", fmt.Sprintf(`{"queueId":%d,"callbackNumbers":["+1"],"callbackUserName":"C","priority":-1}`, q), f.admin, nil, false},
		{"unknown queue", `{"queueId":999,"callbackNumbers":["+1"],"callbackUserName":"C"}`, f.admin, nil, true},
		{"other tenant's queue", fmt.Sprintf(`{"queueId":%d,"callbackNumbers":["+1"],"callbackUserName":"C"}`, other.queue+50), f.admin, nil, true},
		{"unknown domain", fmt.Sprintf(`{"queueId":%d,"callbackNumbers":["+1"],"callbackUserName":"C","domainId":77}`, q), f.admin, nil, true},
		{"agent", fmt.Sprintf(`{"queueId":%d,"callbackNumbers":["+1"],"callbackUserName":"C"}`, q), f.agent, nil, true},
		{"channel app", fmt.Sprintf(`{"queueId":%d,"callbackNumbers":["+1"],"callbackUserName":"C","domainId":%d}`, q, f.sales), f.app, nil, true},
		{"queueId 0", `{"queueId":0,"callbackNumbers":["+1"],"callbackUserName":"C"}`, f.admin, nil, false},
		{"queueId string", fmt.Sprintf(`{"queueId":"%d","callbackNumbers":["+1"],"callbackUserName":"C"}`, q), f.admin, nil, false},
		{"queueId 1.0", `{"queueId":1.0,"callbackNumbers":["+1"],"callbackUserName":"C"}`, f.admin, nil, false},
		{"queueId 1e0", `{"queueId":1e0,"callbackNumbers":["+1"],"callbackUserName":"C"}`, f.admin, nil, false},
		{"queueId huge", `{"queueId":4294967296,"callbackNumbers":["+1"],"callbackUserName":"C"}`, f.admin, nil, false},
		{"queueId null", `{"queueId":null,"callbackNumbers":["+1"],"callbackUserName":"C"}`, f.admin, nil, false},
		{"no name", fmt.Sprintf(`{"queueId":%d,"callbackNumbers":["+1"]}`, q), f.admin, nil, false},
		{"empty name", fmt.Sprintf(`{"queueId":%d,"callbackNumbers":["+1"],"callbackUserName":""}`, q), f.admin, nil, false},
		{"null name", fmt.Sprintf(`{"queueId":%d,"callbackNumbers":["+1"],"callbackUserName":null}`, q), f.admin, nil, false},
		{"no numbers", fmt.Sprintf(`{"queueId":%d,"callbackNumbers":[],"callbackUserName":"C"}`, q), f.admin, nil, false},
		{"null numbers", fmt.Sprintf(`{"queueId":%d,"callbackNumbers":null,"callbackUserName":"C"}`, q), f.admin, nil, false},
		{"null number", fmt.Sprintf(`{"queueId":%d,"callbackNumbers":[null],"callbackUserName":"C"}`, q), f.admin, nil, false},
		{"number not a string", fmt.Sprintf(`{"queueId":%d,"callbackNumbers":[15550100],"callbackUserName":"C"}`, q), f.admin, nil, false},
		{"11 numbers", fmt.Sprintf(`{"queueId":%d,"callbackNumbers":["1","2","3","4","5","6","7","8","9","10","11"],"callbackUserName":"C"}`, q), f.admin, nil, false},
		{"extra field", fmt.Sprintf(`{"queueId":%d,"callbackNumbers":["+1"],"callbackUserName":"C","color":"red"}`, q), f.admin, nil, false},
		{"field case", fmt.Sprintf(`{"QueueId":%d,"callbackNumbers":["+1"],"callbackUserName":"C"}`, q), f.admin, nil, false},
		{"$schema", fmt.Sprintf(`{"$schema":"x","queueId":%d,"callbackNumbers":["+1"],"callbackUserName":"C"}`, q), f.admin, nil, false},
		{"data", fmt.Sprintf(`{"queueId":%d,"callbackNumbers":["+1"],"callbackUserName":"C","data":{"k":"v"}}`, q), f.admin, nil, false},
		{"scheduled", fmt.Sprintf(`{"queueId":%d,"callbackNumbers":["+1"],"callbackUserName":"C","callbackScheduledTime":"2000-01-01T00:00:00Z"}`, q), f.admin, nil, false},
		{"duplicate key", fmt.Sprintf(`{"queueId":%d,"callbackNumbers":["+1"],"callbackUserName":"A","callbackUserName":"B"}`, q), f.admin, nil, true},
		{"escaped key", fmt.Sprintf(`{"queue\u0049d":%d,"callbackNumbers":["+1"],"callbackUserName":"C"}`, q), f.admin, nil, false},
		{"escapes in values", fmt.Sprintf(`{"queueId":%d,"callbackNumbers":["+1", "+2\"]}{"],"callbackUserName":"C \"}{[\\"}`, q), f.admin, nil, true},
		{"object value", fmt.Sprintf(`{"queueId":%d,"callbackNumbers":["+1"],"callbackUserName":{"a":"b"}}`, q), f.admin, nil, false},
		{"nested array", fmt.Sprintf(`{"queueId":%d,"callbackNumbers":[["+1"]],"callbackUserName":"C"}`, q), f.admin, nil, false},
		{"priority null", fmt.Sprintf(`{"queueId":%d,"callbackNumbers":["+1"],"callbackUserName":"C","priority":null}`, q), f.admin, nil, false},
		{"priority 5.5", fmt.Sprintf(`{"queueId":%d,"callbackNumbers":["+1"],"callbackUserName":"C","priority":5.5}`, q), f.admin, nil, false},
		{"priority -0", fmt.Sprintf(`{"queueId":%d,"callbackNumbers":["+1"],"callbackUserName":"C","priority":-0}`, q), f.admin, nil, true},
		{"domainId null", fmt.Sprintf(`{"queueId":%d,"callbackNumbers":["+1"],"callbackUserName":"C","domainId":null}`, q), f.admin, nil, false},
		{"queueId 2^31", `{"queueId":2147483648,"callbackNumbers":["+1"],"callbackUserName":"C"}`, f.admin, nil, false},
		{"spaces", fmt.Sprintf("\n\t{ \"queueId\" : %d ,\r\n \"callbackNumbers\" : [ \"+1\" , \"+2\" ] , \"callbackUserName\" : \"C\" }\n", q), f.admin, nil, true},
		{"two objects", fmt.Sprintf(`{"queueId":%d,"callbackNumbers":["+1"],"callbackUserName":"C"}{}`, q), f.admin, nil, false},
		{"trailing garbage", fmt.Sprintf(`{"queueId":%d,"callbackNumbers":["+1"],"callbackUserName":"C"}x`, q), f.admin, nil, false},
		{"not json", `queueId=1`, f.admin, nil, false},
		{"array", `[]`, f.admin, nil, false},
		{"null body", `null`, f.admin, nil, false},
		{"invalid utf-8", fmt.Sprintf("{\"queueId\":%d,\"callbackNumbers\":[\"+1\"],\"callbackUserName\":\"\xff\"}", q), f.admin, nil, true},
		{"no token", fmt.Sprintf(`{"queueId":%d,"callbackNumbers":["+1"],"callbackUserName":"C"}`, q), "", nil, false},
		{"bad token", fmt.Sprintf(`{"queueId":%d,"callbackNumbers":["+1"],"callbackUserName":"C"}`, q), "rbk_1_nope", nil, false},
		{"operator", fmt.Sprintf(`{"queueId":%d,"callbackNumbers":["+1"],"callbackUserName":"C"}`, q), opToken, nil, false},
		{"idempotency key", fmt.Sprintf(`{"queueId":%d,"callbackNumbers":["+1"],"callbackUserName":"C"}`, q), f.admin, []string{"Idempotency-Key", "k1"}, false},
		{"accept json", fmt.Sprintf(`{"queueId":%d,"callbackNumbers":["+1"],"callbackUserName":"C"}`, q), f.admin, []string{"Accept", "application/json"}, true},
		{"accept any", fmt.Sprintf(`{"queueId":%d,"callbackNumbers":["+1"],"callbackUserName":"C"}`, q), f.admin, []string{"Accept", "*/*"}, true},
		{"accept xml", fmt.Sprintf(`{"queueId":%d,"callbackNumbers":["+1"],"callbackUserName":"C"}`, q), f.admin, []string{"Accept", "application/xml"}, true}, // huma falls back to JSON
		{"content type text", fmt.Sprintf(`{"queueId":%d,"callbackNumbers":["+1"],"callbackUserName":"C"}`, q), f.admin, []string{"Content-Type", "text/plain"}, false},
		{"host", fmt.Sprintf(`{"queueId":%d,"callbackNumbers":["+1"],"callbackUserName":"C"}`, q), f.admin, []string{"Host", "api.example.com"}, true},
		{"forwarded host", fmt.Sprintf(`{"queueId":%d,"callbackNumbers":["+1"],"callbackUserName":"C"}`, q), f.admin, []string{"X-Forwarded-Host", "edge.example.com", "X-Forwarded-Proto", "https"}, true},
		{"forwarded", fmt.Sprintf(`{"queueId":%d,"callbackNumbers":["+1"],"callbackUserName":"C"}`, q), f.admin, []string{"Forwarded", `for=1.2.3.4;host="fwd.example.com";proto=https`}, true},
		{"localhost", fmt.Sprintf(`{"queueId":%d,"callbackNumbers":["+1"],"callbackUserName":"C"}`, q), f.admin, []string{"Host", "localhost:8080"}, true},
		{"localhost, https", fmt.Sprintf(`{"queueId":%d,"callbackNumbers":["+1"],"callbackUserName":"C"}`, q), f.admin, []string{"Host", "localhost:8080", "X-Forwarded-Proto", "https"}, true}, // the links fastCreate keeps ignore what huma ignores
		{"answer over 2 KB", fmt.Sprintf(`{"queueId":%d,"callbackNumbers":["+1","+2","+3"],"callbackUserName":%q}`, q, wide), f.admin, nil, true},                                               // chunked
	}
	vary := regexp.MustCompile(`"(id|createdTime|queuePosition|estimatedWaitSeconds)":("[^"]*"|[0-9.e+-]+)`)
	// The tenants refuse a second active callback for a number, so every
	// request gets numbers of its own ("+1" becomes "+<n>1").
	number, digits, seq := regexp.MustCompile(`"\+([0-9]+)"`), regexp.MustCompile(`\+[0-9]+`), 0
	send := func(fast bool, body, token string, headers []string) (int, http.Header, string) {
		t.Helper()
		srv.fast.Store(fast)
		seq++
		body = number.ReplaceAllString(body, fmt.Sprintf(`"+%d$1"`, seq*100))
		req, _ := http.NewRequest("POST", ts.url+"/v1/callbacks", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		for i := 0; i+1 < len(headers); i += 2 {
			v := headers[i+1]
			switch headers[i] {
			case "Host":
				req.Host = v
			case "Idempotency-Key":
				v += fmt.Sprint(seq)
			}
			req.Header.Set(headers[i], v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		// Every header but the date, and how the body is framed.
		h := resp.Header.Clone()
		h.Del("Date")
		if h.Get("Content-Length") != "" {
			h.Set("Content-Length", "_")
		}
		h["Transfer-Encoding"] = resp.TransferEncoding
		return resp.StatusCode, h, digits.ReplaceAllString(vary.ReplaceAllString(string(raw), `"$1":_`), `+_`)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code0, h0, body0 := send(false, c.body, c.token, c.headers)
			for range 2 { // the second time from what fastCreate keeps of the first
				served := srv.fastServed.Load()
				code1, h1, body1 := send(true, c.body, c.token, c.headers)
				fast := srv.fastServed.Load() > served
				if code0 != code1 || body0 != body1 {
					t.Fatalf("huma: %d %s\nfast: %d %s", code0, body0, code1, body1)
				}
				if !reflect.DeepEqual(h0, h1) {
					t.Fatalf("headers: huma %q, fast %q", h0, h1)
				}
				if fast != c.fast {
					t.Fatalf("fastCreate served it: %v, want %v (answer %d %s)", fast, c.fast, code1, body1)
				}
			}
			t.Logf("%d %v %s", code0, h0, body0)
		})
	}
	srv.fast.Store(true)
}

// scanCreateBody decodes what it accepts exactly as encoding/json does.
//
//	go test ./cmd/ringback/api -run '^$' -fuzz FuzzScanCreateBody -fuzztime 60s
func FuzzScanCreateBody(f *testing.F) {
	for _, s := range []string{
		`{"queueId":1,"callbackNumbers":["+15550100"],"callbackUserName":"C"}`,
		` {"callbackUserName":"Zoë","priority":7,"domainId":1,"callbackNumbers":["+1","+2","+3"],"queueId":2147483647} `,
		"\n\t{ \"queueId\" : 1 ,\r\n \"callbackNumbers\" : [ \"+1\" , \"+2\" ] , \"callbackUserName\" : \"C\" }\n",
		`{"queueId":1,"callbackNumbers":["+1"],"callbackUserName":"A","callbackUserName":"B","callbackNumbers":[]}`,
		`{"queueId":01,"callbackNumbers":["+1"],"callbackUserName":"C"}`,
		`{"queueId":1.0,"callbackNumbers":["+1"],"callbackUserName":"C"}`,
		`{"queueId":4294967296,"callbackNumbers":["+1"],"callbackUserName":"C"}`,
		`{"queueId":12345678901,"callbackNumbers":["+1"],"callbackUserName":"C"}`,
		`{"queueId":1,"callbackNumbers":["+1"],"callbackUserName":"C","priority":-0}`,
		`{"queueId":1,"callbackNumbers":["+1"],"callbackUserName":"C","priority":1e2}`,
		`{"queueId":1,"callbackNumbers":[null],"callbackUserName":"C \"x\""}`,
		"{\"queueId\":1,\"callbackNumbers\":[\"+1\"],\"callbackUserName\":\"\xff\t\"}",
		`{"queueId":1,"callbackNumbers":["+1"],"callbackUserName":"C"}x`,
		`{"queueId":1,"callbackNumbers":["+1"],"callbackUserName":"C",}`,
		`{"queueId":1 2,"callbackNumbers":["+1"],"callbackUserName":"C"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		var seen [5]bool
		var scanned, decoded createCallbackBody
		// parseCreateBody scans only bodies with the required keys.
		if !plainKeys([]byte(raw), &seen) || !seen[0] || !seen[1] || !seen[2] || !scanCreateBody([]byte(raw), &scanned) {
			return
		}
		if !unmarshalCreateBody([]byte(raw), &seen, &decoded) || !reflect.DeepEqual(scanned, decoded) {
			t.Fatalf("%q: scanned %+v, encoding/json %+v", raw, scanned, decoded)
		}
	})
}
