package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
)

// POST /v1/callbacks is the hot request. huma serves it through generic
// reflection: the body is decoded twice (into a map to validate it against
// the schema, then into the input struct) and every parameter is walked.
// fastCreate serves the common request itself: no Idempotency-Key, a JSON
// body of only queueId, callbackNumbers, callbackUserName and optionally
// priority and domainId, every value plainly valid, a caller that
// authenticates. Anything else (a refusal, an unusual body, an optional
// field, a header it does not handle) it leaves to huma untouched, so every
// error and every unusual case is still answered by huma. It negotiates
// as huma does and answers the same bytes: an error through huma's own
// transformers ($schema, Link) and formats, a created callback with what
// those transformers add taken from huma once per host (writeCreated).
// fastcreate_test.go compares the two, format_test.go the JSON.
//
// It accepts only what the registered schema accepts: fastCreateOK checks,
// when the server is built, that the schema still has exactly the
// constraints fastCreate implements, and turns it off otherwise.

// fastCreateOK reports whether the registered create operation is the one
// fastCreate implements.
func (s *Server) fastCreateOK() bool {
	op := s.createOp
	if op == nil || op.RequestBody == nil || len(op.RequestBody.Content) != 1 || op.MaxBodyBytes <= 0 {
		return false
	}
	if len(op.Parameters) != 1 || op.Parameters[0].In != "header" || op.Parameters[0].Name != "Idempotency-Key" {
		return false
	}
	mt := op.RequestBody.Content["application/json"]
	if mt == nil || mt.Schema == nil || mt.Schema.Ref == "" {
		return false
	}
	sc := s.api.OpenAPI().Components.Schemas.SchemaFromRef(mt.Schema.Ref)
	if sc == nil || sc.Type != huma.TypeObject || sc.AdditionalProperties != false || sc.MinProperties != nil || sc.MaxProperties != nil ||
		len(sc.DependentRequired) != 0 || len(sc.OneOf) != 0 || len(sc.AnyOf) != 0 || len(sc.AllOf) != 0 || sc.Not != nil ||
		!slices.Equal(sc.Required, []string{"queueId", "callbackNumbers", "callbackUserName"}) {
		return false
	}
	plain := func(p *huma.Schema) bool { // no constraint fastCreate does not check
		return p != nil && p.Pattern == "" && len(p.Enum) == 0 && p.MultipleOf == nil && !p.UniqueItems && len(p.DependentRequired) == 0 &&
			p.ExclusiveMinimum == nil && p.ExclusiveMaximum == nil && len(p.OneOf) == 0 && len(p.AnyOf) == 0 && len(p.AllOf) == 0 && p.Not == nil
	}
	isInt := func(p *huma.Schema, lo, hi float64) bool {
		return plain(p) && p.Type == huma.TypeInteger && p.Minimum != nil && *p.Minimum <= lo &&
			(p.Maximum == nil || *p.Maximum >= hi) && p.MinLength == nil && p.MaxLength == nil
	}
	q, nums, name, prio, dom := sc.Properties["queueId"], sc.Properties["callbackNumbers"], sc.Properties["callbackUserName"],
		sc.Properties["priority"], sc.Properties["domainId"]
	return isInt(q, 1, 1<<31-1) && *q.Minimum == 1 && isInt(dom, 0, 1<<31-1) && *dom.Minimum == 0 &&
		isInt(prio, 0, 1000) && prio.Maximum != nil && *prio.Minimum == 0 && *prio.Maximum == 1000 &&
		plain(nums) && nums.Type == huma.TypeArray && nums.MinItems != nil && *nums.MinItems == 1 && nums.MaxItems != nil && *nums.MaxItems == 10 &&
		plain(nums.Items) && nums.Items.Type == huma.TypeString && nums.Items.MinLength == nil && nums.Items.MaxLength == nil && nums.Items.Format == "" &&
		plain(name) && name.Type == huma.TypeString && name.Format == "" && name.MinLength != nil && *name.MinLength == 1 &&
		name.MaxLength != nil && *name.MaxLength == 500
}

var fastBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func putBuf(buf *bytes.Buffer) {
	if buf.Cap() <= 64<<10 {
		fastBufs.Put(buf)
	}
}

// fastCreate serves the request and returns true, or returns false having
// changed nothing (the body may be read, then r.Body replays it).
func (s *Server) fastCreate(w http.ResponseWriter, r *http.Request) bool {
	op := s.createOp
	h := r.Header
	if _, ok := h["Idempotency-Key"]; ok || h.Get("Content-Type") != "application/json" ||
		r.ContentLength <= 0 || r.ContentLength >= op.MaxBodyBytes {
		return false
	}
	if ct, err := s.api.Negotiate(h.Get("Accept")); err != nil || ct != "application/json" {
		return false
	}
	c, status, _ := s.resolveCaller(r.Context(), false, h.Get("Authorization"), r.Host, h.Get(ConsistencyHeader))
	if status != 0 {
		return false
	}
	if op.BodyReadTimeout > 0 {
		_ = huma.SetReadDeadline(w, time.Now().Add(op.BodyReadTimeout))
	}
	buf := fastBufs.Get().(*bytes.Buffer)
	defer putBuf(buf)
	buf.Reset()
	buf.Grow(int(r.ContentLength))
	raw := buf.AvailableBuffer()[:r.ContentLength]
	n, err := io.ReadFull(r.Body, raw)
	raw = raw[:n]
	var in createCallbackInput
	if err != nil || !parseCreateBody(raw, &in.Body) {
		r.Body = replay{io.MultiReader(bytes.NewReader(slices.Clone(raw)), r.Body), r.Body}
		return false
	}
	_ = r.Body.Close()
	s.fastServed.Add(1)
	ctx := context.WithValue(r.Context(), callerKey{}, c)
	out, err := s.createCallback(ctx, &in)
	if err == nil && s.writeCreated(w, r, out) {
		return true
	}
	hctx := huma.Context(humago.NewContext(op, r, w))
	if err != nil {
		rec := s.refusals(hctx, c.tenant)
		defer rec.keep()
		hctx = rec
		// As huma.Register answers a handler's error.
		var he huma.HeadersError
		if errors.As(err, &he) {
			for k, values := range he.GetHeaders() {
				for _, v := range values {
					hctx.AppendHeader(k, v)
				}
			}
		}
		var se huma.StatusError
		if !errors.As(err, &se) {
			se = huma.NewErrorWithContext(hctx, http.StatusInternalServerError, "unexpected error occurred", err)
		}
		s.writeHuma(hctx, se.GetStatus(), se)
		return true
	}
	s.writeHuma(hctx, out.Status, out.Body)
	return true
}

// replay gives back a body fastCreate has read from.
type replay struct {
	io.Reader
	io.Closer
}

// writeHuma writes a response as huma does (writeResponse and
// transformAndWrite, with the content type negotiated before).
func (s *Server) writeHuma(ctx huma.Context, status int, body any) {
	ct := "application/json"
	if ctf, ok := body.(huma.ContentTypeFilter); ok {
		ct = ctf.ContentType(ct)
	}
	ctx.SetHeader("Content-Type", ct)
	tv, err := s.api.Transform(ctx, strconv.Itoa(status), body)
	if err != nil {
		_, _ = ctx.BodyWriter().Write([]byte("error transforming response"))
		panic(err)
	}
	ctx.SetStatus(status)
	if status == http.StatusNoContent || status == http.StatusNotModified {
		return
	}
	if err := s.api.Marshal(ctx.BodyWriter(), ct, tv); err != nil {
		marshalFailed(ctx, err)
	}
}

// marshalFailed answers as huma does when writing a body fails.
func marshalFailed(ctx huma.Context, err error) {
	if errors.Is(ctx.Context().Err(), context.Canceled) {
		ctx.SetStatus(499)
		return
	}
	_, _ = ctx.BodyWriter().Write([]byte("error marshaling response"))
	panic(err)
}

// writeCreated writes a created callback as writeHuma does, without huma's
// transformers: what they add for the request's host (see createdLink) is
// written around the callback's own JSON. It returns false, having written
// nothing, when it cannot.
func (s *Server) writeCreated(w http.ResponseWriter, r *http.Request, out *callbackOutput) bool {
	l, ok := s.createdLink(r)
	if !ok || out.Status != http.StatusCreated {
		return false
	}
	buf := fastBufs.Get().(*bytes.Buffer)
	defer putBuf(buf)
	buf.Reset()
	buf.Grow(1 << 10) // a callback's answer fits, unless its strings are long
	body, err := appendCallbackFields(append(buf.AvailableBuffer(), l.prefix...), &out.Body)
	if err != nil {
		return false
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	for _, v := range l.link {
		h.Add("Link", v)
	}
	w.WriteHeader(out.Status)
	if _, err := w.Write(body); err != nil {
		marshalFailed(humago.NewContext(s.createOp, r, w), err)
	}
	return true
}

// schemaLink is what huma's transformers add to a created callback's
// answer: the start of its JSON object (`{"$schema":"…",`) and the Link
// header. Both depend on the request's host, as schemaHost has it.
type schemaLink struct {
	prefix []byte
	link   []string
}

// schemaHost is what huma's SchemaLinkTransformer derives the links from.
type schemaHost struct {
	forwardedHost, forwarded, host string
	tls                            bool
}

// createdLink returns what huma's transformers add to a created callback's
// answer to r: huma's own answer for an empty callback, taken apart once
// per host.
func (s *Server) createdLink(r *http.Request) (schemaLink, bool) {
	k := schemaHost{r.Header.Get("X-Forwarded-Host"), r.Header.Get("Forwarded"), r.Host, r.TLS != nil}
	if l, ok := s.schemaLinks.get(k); ok {
		return l, true
	}
	l, ok := s.transformCreated(r)
	if ok {
		s.schemaLinks.add(k, l)
	}
	return l, ok
}

// transformCreated takes huma's answer to r for an empty created callback
// apart: it must be the callback's own JSON with only a prefix added.
func (s *Server) transformCreated(r *http.Request) (schemaLink, bool) {
	headers := headerSink{}
	tv, err := s.api.Transform(humago.NewContext(s.createOp, r, headers), strconv.Itoa(http.StatusCreated), CallbackView{})
	var full, plain bytes.Buffer
	if err != nil || s.api.Marshal(&full, "application/json", tv) != nil || s.api.Marshal(&plain, "application/json", CallbackView{}) != nil {
		return schemaLink{}, false
	}
	n := full.Len() - plain.Len() + 1
	if n < 1 || !bytes.Equal(full.Bytes()[n:], plain.Bytes()[1:]) {
		return schemaLink{}, false
	}
	return schemaLink{prefix: full.Bytes()[:n], link: headers["Link"]}, true
}

// headerSink is a ResponseWriter that keeps only headers.
type headerSink http.Header

func (h headerSink) Header() http.Header       { return http.Header(h) }
func (headerSink) Write(b []byte) (int, error) { return len(b), nil }
func (headerSink) WriteHeader(int)             {}

// parseCreateBody decodes a create body that is plainly valid: an object
// of only the required fields and optionally priority and domainId, each
// of its type and within its bounds. It returns false for anything else,
// valid or not, which huma then serves.
func parseCreateBody(raw []byte, b *createCallbackBody) bool {
	var seen [5]bool
	if !plainKeys(raw, &seen) || !seen[0] || !seen[1] || !seen[2] {
		return false
	}
	if !scanCreateBody(raw, b) {
		*b = createCallbackBody{}
		if !unmarshalCreateBody(raw, &seen, b) {
			return false
		}
	}
	n := utf8.RuneCountInString(b.CallbackUserName)
	return b.QueueID >= 1 && b.QueueID <= 1<<31-1 && len(b.CallbackNumbers) >= 1 && len(b.CallbackNumbers) <= 10 &&
		n >= 1 && n <= 500 && b.Priority >= 0 && b.Priority <= 1000 && b.DomainID <= 1<<31-1
}

// unmarshalCreateBody decodes, with encoding/json, a body whose keys
// plainKeys passed (and marked seen); a key given null fails.
func unmarshalCreateBody(raw []byte, seen *[5]bool, b *createCallbackBody) bool {
	// encoding/json matches keys without regard to case and skips unknown
	// ones; huma's schema does neither, so plainKeys checks the keys first,
	// as written (an escaped key is not plain: huma decides).
	var w struct {
		QueueID          *uint32   `json:"queueId"`
		CallbackNumbers  []*string `json:"callbackNumbers"`
		CallbackUserName *string   `json:"callbackUserName"`
		Priority         *int      `json:"priority"`
		DomainID         *uint32   `json:"domainId"`
	}
	if json.Unmarshal(raw, &w) != nil || w.QueueID == nil || w.CallbackNumbers == nil || w.CallbackUserName == nil ||
		seen[3] && w.Priority == nil || seen[4] && w.DomainID == nil {
		return false
	}
	b.CallbackNumbers = make([]string, len(w.CallbackNumbers))
	for i, p := range w.CallbackNumbers {
		if p == nil {
			return false
		}
		b.CallbackNumbers[i] = *p
	}
	b.QueueID, b.CallbackUserName = *w.QueueID, *w.CallbackUserName
	if seen[3] {
		b.Priority = *w.Priority
	}
	if seen[4] {
		b.DomainID = *w.DomainID
	}
	return true
}

// scanCreateBody decodes, as encoding/json would, a body written the
// common way: strings without escapes or invalid UTF-8, numbers that are
// unsigned integers without fraction or exponent, no null. For anything
// else it returns false, and unmarshalCreateBody decodes the body.
func scanCreateBody(raw []byte, b *createCallbackBody) bool {
	s := plainScanner{raw: raw}
	if !s.next('{') {
		return false
	}
	for {
		k, ok := s.str()
		if !ok || !s.next(':') {
			return false
		}
		switch keyIndex(k) {
		case 0:
			b.QueueID, ok = s.uint32()
		case 1:
			b.CallbackNumbers, ok = s.strs()
		case 2:
			var v []byte
			v, ok = s.str()
			b.CallbackUserName = string(v)
		case 3:
			var n uint64
			n, ok = s.uint()
			b.Priority = int(n)
		case 4:
			b.DomainID, ok = s.uint32()
		default:
			return false
		}
		if !ok {
			return false
		}
		if s.next('}') {
			return skipSpace(raw, s.i) == len(raw)
		}
		if !s.next(',') {
			return false
		}
	}
}

// plainScanner reads the plain JSON scanCreateBody decodes.
type plainScanner struct {
	raw []byte
	i   int
}

// next consumes c, after any space, if it comes next.
func (s *plainScanner) next(c byte) bool {
	s.i = skipSpace(s.raw, s.i)
	if s.i < len(s.raw) && s.raw[s.i] == c {
		s.i++
		return true
	}
	return false
}

// str reads a string without escapes or control characters, in valid
// UTF-8: its bytes are its value.
func (s *plainScanner) str() ([]byte, bool) {
	if !s.next('"') {
		return nil, false
	}
	for start := s.i; s.i < len(s.raw); s.i++ {
		switch c := s.raw[s.i]; {
		case c == '"':
			s.i++
			v := s.raw[start : s.i-1]
			return v, utf8.Valid(v)
		case c == '\\' || c < 0x20:
			return nil, false
		}
	}
	return nil, false
}

// strs reads an array of such strings.
func (s *plainScanner) strs() ([]string, bool) {
	if !s.next('[') {
		return nil, false
	}
	var vs []string
	if s.next(']') {
		return []string{}, true
	}
	for {
		v, ok := s.str()
		if !ok {
			return nil, false
		}
		vs = append(vs, string(v))
		if s.next(']') {
			return vs, true
		}
		if !s.next(',') {
			return nil, false
		}
	}
}

// uint reads an unsigned integer of at most 10 digits, without sign,
// leading zero, fraction or exponent.
func (s *plainScanner) uint() (uint64, bool) {
	s.i = skipSpace(s.raw, s.i)
	start, n := s.i, uint64(0)
	for ; s.i < len(s.raw) && '0' <= s.raw[s.i] && s.raw[s.i] <= '9'; s.i++ {
		if s.i-start == 10 {
			return 0, false
		}
		n = n*10 + uint64(s.raw[s.i]-'0')
	}
	if s.i == start || s.i-start > 1 && s.raw[start] == '0' ||
		s.i < len(s.raw) && (s.raw[s.i] == '.' || s.raw[s.i] == 'e' || s.raw[s.i] == 'E') {
		return 0, false
	}
	return n, true
}

func (s *plainScanner) uint32() (uint32, bool) {
	n, ok := s.uint()
	return uint32(n), ok && n <= 1<<32-1
}

var createKeys = [5]string{"queueId", "callbackNumbers", "callbackUserName", "priority", "domainId"}

// plainKeys reports whether raw is a JSON object (or not JSON at all: the
// decoder then refuses it) whose keys are all among createKeys, written
// without escapes, and which value types are plain: strings, numbers and
// one array of strings, nothing nested deeper. It marks the keys seen.
func plainKeys(raw []byte, seen *[5]bool) bool {
	i := skipSpace(raw, 0)
	if i == len(raw) || raw[i] != '{' {
		return false
	}
	depth, key := 0, true
	for ; i < len(raw); i++ {
		switch c := raw[i]; c {
		case '{', '[':
			depth++
			if depth > 2 || depth == 2 && c == '{' {
				return false
			}
			key = depth == 1 && c == '{'
		case '}', ']':
			depth--
		case ',':
			key = depth == 1
		case '"':
			j := i + 1
			for j < len(raw) && raw[j] != '"' {
				if raw[j] == '\\' {
					if key {
						return false
					}
					j++
				}
				j++
			}
			if j >= len(raw) {
				return false
			}
			if key {
				n := keyIndex(raw[i+1 : j])
				if n < 0 {
					return false
				}
				seen[n] = true
				key = false
			}
			i = j
		}
	}
	return depth == 0
}

// keyIndex is k's place in createKeys, or -1.
func keyIndex(k []byte) int {
	for n, key := range createKeys {
		if string(k) == key {
			return n
		}
	}
	return -1
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}
