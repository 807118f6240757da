package api

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// appendCallbackFields appends v's JSON as jsonFormat writes it, newline
// included, without the opening brace: `"id":…}`. A callback written
// plainly (see appendPlainCallback) is appended directly, any other is
// encoded by jsonFormat.
func appendCallbackFields(b []byte, v *CallbackView) ([]byte, error) {
	if plain, ok := appendPlainCallback(b, v); ok {
		return plain, nil
	}
	var buf bytes.Buffer
	if err := jsonFormat.Marshal(&buf, v); err != nil {
		return b, err
	}
	return append(b, buf.Bytes()[1:]...), nil
}

// appendPlainCallback appends v's JSON, as appendCallbackFields, when
// writing it needs none of encoding/json's finer rules: no data, strings
// without escapes, UTC times of four-digit years, wait times that
// encoding/json writes without exponent. Otherwise it returns false.
func appendPlainCallback(b []byte, v *CallbackView) ([]byte, bool) {
	if len(v.Data) != 0 {
		return b, false
	}
	w := plainJSON{b: b, ok: true}
	w.key(`"id":`)
	w.b = strconv.AppendUint(w.b, v.ID, 10)
	w.key(`,"state":`)
	w.str(v.State)
	w.key(`,"queueId":`)
	w.b = strconv.AppendUint(w.b, uint64(v.QueueID), 10)
	w.key(`,"domainIds":`)
	appendList(&w, v.DomainIDs, func(d uint32) { w.b = strconv.AppendUint(w.b, uint64(d), 10) })
	w.key(`,"callbackUserName":`)
	w.str(v.CallbackUserName)
	w.key(`,"callbackNumbers":`)
	appendList(&w, v.CallbackNumbers, w.str)
	if v.CallbackScheduledTime != nil {
		w.key(`,"callbackScheduledTime":`)
		w.time(*v.CallbackScheduledTime)
	}
	w.key(`,"priority":`)
	w.b = strconv.AppendInt(w.b, int64(v.Priority), 10)
	w.key(`,"attempts":`)
	w.b = strconv.AppendInt(w.b, int64(v.Attempts), 10)
	if v.AgentID != 0 {
		w.key(`,"agentId":`)
		w.b = strconv.AppendUint(w.b, uint64(v.AgentID), 10)
	}
	if v.QueuePosition != 0 {
		w.key(`,"queuePosition":`)
		w.b = strconv.AppendInt(w.b, int64(v.QueuePosition), 10)
	}
	if v.EstimatedWaitSeconds != 0 {
		w.key(`,"estimatedWaitSeconds":`)
		w.float(v.EstimatedWaitSeconds)
	}
	w.key(`,"createdTime":`)
	w.time(v.CreatedTime)
	if v.Disposition != 0 {
		w.key(`,"disposition":`)
		w.b = strconv.AppendUint(w.b, uint64(v.Disposition), 10)
	}
	if v.Comment != "" {
		w.key(`,"comment":`)
		w.str(v.Comment)
	}
	w.key("}\n")
	return w.b, w.ok
}

// plainJSON appends JSON values that need none of encoding/json's finer
// rules; ok turns false at the first that would.
type plainJSON struct {
	b  []byte
	ok bool
}

func (w *plainJSON) key(k string) { w.b = append(w.b, k...) }

// str appends a string that encoding/json writes as is: valid UTF-8
// without quotes, backslashes, control characters or U+2028/U+2029.
func (w *plainJSON) str(s string) {
	ascii := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' {
			w.ok = false
			return
		}
		ascii = ascii && c < utf8.RuneSelf
	}
	if !ascii && (!utf8.ValidString(s) || strings.ContainsRune(s, '\u2028') || strings.ContainsRune(s, '\u2029')) {
		w.ok = false
		return
	}
	w.b = append(append(append(w.b, '"'), s...), '"')
}

// time appends a UTC time of a four-digit year, as its MarshalJSON does.
func (w *plainJSON) time(t time.Time) {
	if t.Location() != time.UTC || t.Year() < 0 || t.Year() > 9999 {
		w.ok = false
		return
	}
	w.b = append(t.AppendFormat(append(w.b, '"'), time.RFC3339Nano), '"')
}

// float appends a number encoding/json writes without exponent.
func (w *plainJSON) float(f float64) {
	if a := math.Abs(f); !(a >= 1e-6 && a < 1e21) { // nor NaN
		w.ok = false
		return
	}
	w.b = strconv.AppendFloat(w.b, f, 'f', -1, 64)
}

// appendList appends a JSON array, or null for a nil slice.
func appendList[T any](w *plainJSON, xs []T, item func(T)) {
	if xs == nil {
		w.key("null")
		return
	}
	w.b = append(w.b, '[')
	for i, x := range xs {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		item(x)
	}
	w.b = append(w.b, ']')
}
