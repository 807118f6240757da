package api

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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
	Status int       `json:"status"`
	Title  string    `json:"title"`
	Detail string    `json:"detail,omitempty"`
}

const recentKeep = 100

func newRecentErrors() *recentErrors { return &recentErrors{byTn: map[actors.TenantID][]RecentError{}} }

func (r *recentErrors) add(t actors.TenantID, at time.Time, status int, title, detail string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := append(r.byTn[t], RecentError{At: at, Status: status, Title: title, Detail: detail})
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
