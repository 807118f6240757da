package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/ringbackhq/ringback/actors"
)

// recentErrors keeps the last refusals per tenant on this node, for
// developers. A refused command changes no replicated state, so this list
// is per node by design.
type recentErrors struct {
	mu   sync.Mutex
	byTn map[actors.TenantID][]RecentError // guarded by mu
}

// RecentError is one refused request.
type RecentError struct {
	At     time.Time `json:"at"`
	Method string    `json:"method" example:"POST"`
	Path   string    `json:"path" example:"/v1/callbacks"`
	Status int       `json:"status"`
	Title  string    `json:"title" doc:"the problem's detail" example:"invalid input"`
	Detail string    `json:"detail,omitempty" doc:"each field named, and why" example:"body.callbackNumbers[0]: must be an E.164 number"`
}

const recentKeep = 100

func newRecentErrors() *recentErrors { return &recentErrors{byTn: map[actors.TenantID][]RecentError{}} }

func (r *recentErrors) add(t actors.TenantID, e RecentError) {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := append(r.byTn[t], e)
	if len(l) > recentKeep {
		l = l[len(l)-recentKeep:]
	}
	r.byTn[t] = l
}

func (r *recentErrors) list(t actors.TenantID) []RecentError {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]RecentError, len(r.byTn[t]))
	copy(out, r.byTn[t])
	return out
}

// refusals is a tenant caller's huma context that keeps the problem the
// request is answered with in the tenant's recent errors, whatever made
// it: the core, huma's validation of the request, a handler's own check.
// Answers that are not problems pass through untouched (an offer stream
// keeps its flushing writer).
type refusals struct {
	humaContext
	s      *Server
	tenant actors.TenantID
	status int
	body   bytes.Buffer
}

func (s *Server) refusals(ctx huma.Context, t actors.TenantID) *refusals {
	return &refusals{humaContext: ctx, s: s, tenant: t}
}

// humaContext names the embedded context otherwise than its Context
// method.
type humaContext = huma.Context

func (r *refusals) SetStatus(code int) {
	r.status = code
	r.humaContext.SetStatus(code)
}

func (r *refusals) BodyWriter() io.Writer {
	if r.status < http.StatusBadRequest {
		return r.humaContext.BodyWriter()
	}
	return io.MultiWriter(r.humaContext.BodyWriter(), &r.body)
}

// keep records the answer if it was a problem.
func (r *refusals) keep() {
	if r.status < http.StatusBadRequest {
		return
	}
	var p struct {
		Detail string `json:"detail"`
		Errors []struct {
			Location string `json:"location"`
			Message  string `json:"message"`
		} `json:"errors"`
	}
	_ = json.Unmarshal(r.body.Bytes(), &p)
	fields := make([]string, 0, len(p.Errors))
	for _, e := range p.Errors {
		fields = append(fields, e.Location+": "+e.Message)
	}
	r.s.recent.add(r.tenant, RecentError{At: r.s.o.Clock(), Method: r.Method(), Path: r.URL().Path,
		Status: r.status, Title: p.Detail, Detail: strings.Join(fields, "; ")})
}

// flights marks idempotency keys whose first request is still running on
// this node, so a concurrent retry gets 409 instead of racing it.
type flights struct {
	mu sync.Mutex
	in map[string]struct{} // guarded by mu
}

func newFlights() *flights { return &flights{in: map[string]struct{}{}} }

func (f *flights) begin(key string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, busy := f.in[key]; busy {
		return false
	}
	f.in[key] = struct{}{}
	return true
}

func (f *flights) end(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.in, key)
}

// start starts a request with an Idempotency-Key in scope (whose keys
// they are: a tenant, or the operator). It returns the hash of the body,
// which the core compares with the key's first request, and the end of
// the flight; a request whose key is in flight answers 409. Without a
// key there is nothing to start.
func (f *flights) start(scope, key string, body any) (hash string, end func(), err error) {
	if key == "" {
		return "", func() {}, nil
	}
	flight := scope + "/" + key
	if !f.begin(flight) {
		return "", nil, huma.Error409Conflict("a request with this Idempotency-Key is still in progress")
	}
	raw, _ := json.Marshal(body)
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:]), func() { f.end(flight) }, nil
}
