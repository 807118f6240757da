// Package api serves Ringback's HTTP API: a thin layer that authenticates
// the caller, turns requests into core commands proposed through the
// cluster node, and renders outcomes and RFC 9457 problems. It decides no
// routing rule itself: the access rule and every validation of meaning live
// in the core; this package checks only shape (types, sizes, formats).
package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	gojson "github.com/goccy/go-json"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/ringbackhq/ringback/actors"
	"github.com/ringbackhq/ringback/cluster"
)

// Node is what the API needs of a cluster node.
type Node interface {
	Propose(ctx context.Context, cmd actors.Command) (actors.Outcome, error)
	Read(ctx context.Context, linearizable bool, tenant actors.TenantID, fn func(*actors.Tenant) error) error
	IsLeader() bool
	Ready() bool
	LeaderHTTP() string
	Peers() ([]cluster.Peer, error)
	RemovePeer(id string) error
	TransferLeadership() error
	Tenants(host string) []actors.TenantSummary
	State() ([]byte, [32]byte, error)
	AppliedIndex() uint64
	WriteSnapshot(w io.Writer) error
	RestoreSnapshot(r io.Reader) error
}

// Options configure a Server.
type Options struct {
	Node          Node
	Hub           *Hub
	OperatorToken string // the platform operator's bearer token
	Logger        *slog.Logger
	Clock         func() time.Time
	Registry      *prometheus.Registry // metrics go here; nil: a new one
	TenantLabels  bool                 // label metrics by tenant
	Heartbeat     time.Duration        // offer stream heartbeat; 15s when zero
}

// jsonFormat is huma's JSON format with goccy/go-json writing the
// answers (the same bytes as encoding/json, for a fraction of the CPU).
// Requests are still read by encoding/json, whose error messages problem
// details quote.
var jsonFormat = huma.Format{
	Marshal: func(w io.Writer, v any) error {
		enc := gojson.NewEncoder(w)
		enc.SetEscapeHTML(false)
		return enc.Encode(v)
	},
	Unmarshal: huma.DefaultJSONFormat.Unmarshal,
}

// Server is the HTTP API of one node.
type Server struct {
	o       Options
	opHash  [32]byte
	api     huma.API
	mux     *http.ServeMux
	metrics *Metrics
	recent  *recentErrors
	flights *flights
	hosts   atomic.Pointer[map[string]actors.TenantID] // nil: rebuild on next use
	keys    sync.Map                                   // key SHA-256 sum -> keyEntry
	keyGen  atomic.Uint64

	createOp    *huma.Operation                    // POST /v1/callbacks as registered, for fastCreate
	fast        atomic.Bool                        // fastCreate may serve it (see fastCreateOK)
	fastServed  atomic.Uint64                      // creates fastCreate answered (for tests)
	schemaLinks readMostly[schemaHost, schemaLink] // see createdLink

	http *http.Server // serves Handler (Serve, Shutdown)
}

// New builds the API.
func New(o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.Heartbeat == 0 {
		o.Heartbeat = 15 * time.Second
	}
	if o.Hub == nil {
		o.Hub = NewHub()
	}
	s := &Server{o: o, opHash: sha256.Sum256([]byte(o.OperatorToken)), mux: http.NewServeMux(),
		recent: newRecentErrors(), flights: newFlights(), schemaLinks: readMostly[schemaHost, schemaLink]{max: 32}}
	s.metrics = newMetrics(o.Registry, o.TenantLabels)
	o.Registry.MustRegister(newStateCollector(o.Node, o.Clock, o.TenantLabels))
	o.Hub.observe(s.observe)
	cfg := huma.DefaultConfig("Ringback", "1.0.0")
	cfg.Info.Description = "Multi-tenant callback routing for contact centers."
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer", Description: "an API key, or the operator token"},
	}
	cfg.DocsPath = "/docs"
	cfg.Formats = map[string]huma.Format{"application/json": jsonFormat, "json": jsonFormat}
	s.api = humago.New(s.mux, cfg)
	s.api.UseMiddleware(s.authenticate)
	s.routes()
	s.fast.Store(s.fastCreateOK())
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(o.Registry, promhttp.HandlerOpts{}))
	s.http = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	s.http.RegisterOnShutdown(o.Hub.Close)
	return s
}

// Serve answers HTTP on ln until Shutdown, and then returns
// http.ErrServerClosed.
func (s *Server) Serve(ln net.Listener) error { return s.http.Serve(ln) }

// Shutdown stops serving. The offer streams end at once: a stream lasts
// as long as its agent stays, and would otherwise hold the shutdown for
// its whole grace period; the agents see it end and reconnect, to another
// node in a cluster. Other requests in progress are given until ctx ends,
// and then their connections are closed.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.http.Shutdown(ctx)
	if err != nil {
		_ = s.http.Close()
	}
	return err
}

// Handler is the server's HTTP handler: writes reaching a follower are
// forwarded to the leader; everything is measured.
func (s *Server) Handler() http.Handler {
	return s.metrics.instrument(http.HandlerFunc(s.forward))
}

// Hub returns the offer hub, to publish applied events to.
func (s *Server) Hub() *Hub { return s.o.Hub }

const forwardedHeader = "X-Ringback-Forwarded"

func (s *Server) forward(w http.ResponseWriter, r *http.Request) {
	write := r.Method != http.MethodGet && r.Method != http.MethodHead || linearizableRequest(r)
	if !write || s.o.Node.IsLeader() || !strings.HasPrefix(r.URL.Path, "/v1/") {
		if r.Method == http.MethodPost && s.fast.Load() && r.URL.Path == "/v1/callbacks" && s.fastCreate(w, r) {
			return
		}
		s.mux.ServeHTTP(w, r)
		return
	}
	leader := s.o.Node.LeaderHTTP()
	if leader == "" || r.Header.Get(forwardedHeader) != "" {
		writeProblem(w, http.StatusServiceUnavailable, "no leader is known right now; retry shortly")
		return
	}
	target := &url.URL{Scheme: "http", Host: leader}
	proxy := httputil.NewSingleHostReverseProxy(target)
	r.Header.Set(forwardedHeader, "1")
	proxy.ServeHTTP(w, r)
}

func writeProblem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"title":%q,"status":%d,"detail":%q}`, http.StatusText(status), status, detail)
}

// caller is who a request acts as.
type caller struct {
	operator     bool
	tenant       actors.TenantID
	p            actors.Principal
	linearizable bool // reads must reflect every write acknowledged before
}

// ConsistencyHeader asks for a linearizable read: the leader confirms it
// still leads and applies everything committed before answering (a
// follower forwards such a request to the leader). Without it, reads are
// served from the local state, which a follower may have not yet caught up.
const ConsistencyHeader = "Ringback-Read-Consistency"

func linearizableRequest(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get(ConsistencyHeader), "linearizable")
}

func (c caller) target() actors.Target { return actors.Target{Tenant: c.tenant, By: c.p} }

type callerKey struct{}

func callerOf(ctx context.Context) caller {
	c, _ := ctx.Value(callerKey{}).(caller)
	return c
}

// API keys carry their tenant: "rbk_<tenant>_<secret>". Only a SHA-256
// hash of the secret is stored, in that tenant's replicated state, so a
// tenant's first key can be stored in the command that creates the tenant,
// before its id is known; a secret is valid in its own tenant only.
func parseKey(key string) (t actors.TenantID, secret string, ok bool) {
	rest, ok := strings.CutPrefix(key, "rbk_")
	if !ok {
		return 0, "", false
	}
	tid, secret, ok := strings.Cut(rest, "_")
	id, err := strconv.ParseUint(tid, 10, 32)
	return actors.TenantID(id), secret, ok && err == nil && id > 0 && secret != ""
}

// HashKey is how an API key is stored.
func HashKey(key string) string {
	_, secret, ok := parseKey(key)
	if !ok {
		secret = key // stored nowhere: its hash matches no key
	}
	return secretHash(secret)
}

func secretHash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// legacyHash is how keys issued before 2026-11-23 are stored: the hash of
// the whole key. They keep working, and can be revoked.
func legacyHash(key string) string { return secretHash(key) }

func (s *Server) authenticate(ctx huma.Context, next func(huma.Context)) {
	op := ctx.Operation()
	if op == nil || len(op.Security) == 0 {
		next(ctx)
		return
	}
	c, status, msg := s.resolveCaller(ctx.Context(), op.Metadata["operator"] == true, ctx.Header("Authorization"), ctx.Host(), ctx.Header(ConsistencyHeader))
	if status != 0 {
		if status == http.StatusServiceUnavailable {
			ctx.SetHeader("Retry-After", "1")
		}
		_ = huma.WriteErr(s.api, ctx, status, msg)
		return
	}
	ctx = huma.WithValue(ctx, callerKey{}, c)
	if c.tenant == 0 {
		next(ctx)
		return
	}
	r := s.refusals(ctx, c.tenant)
	next(r)
	r.keep()
}

// resolveCaller authenticates a request from its Authorization, Host and
// consistency headers; a refusal is a status and its detail.
func (s *Server) resolveCaller(ctx context.Context, wantOperator bool, authorization, host, consistency string) (caller, int, string) {
	if !s.o.Node.Ready() {
		return caller{}, http.StatusServiceUnavailable, "this node is still applying its log after a start; retry shortly"
	}
	token, ok := strings.CutPrefix(authorization, "Bearer ")
	if !ok || token == "" {
		return caller{}, http.StatusUnauthorized, "a bearer token is required"
	}
	h := sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare(h[:], s.opHash[:]) == 1 {
		if !wantOperator {
			return caller{}, http.StatusForbidden, "the operator token manages tenants only"
		}
		return caller{operator: true, p: actors.Operator}, 0, ""
	}
	tid, secret, ok := parseKey(token)
	if !ok || wantOperator {
		return caller{}, http.StatusUnauthorized, "the token is not valid here"
	}
	k, err := s.lookupKey(ctx, tid, h, secret)
	if err != nil {
		return caller{}, http.StatusUnauthorized, "the token is not valid here"
	}
	if s.hostBelongsElsewhere(hostOnly(host), tid, k.host) {
		return caller{}, http.StatusUnauthorized, "the token is not valid on this host"
	}
	if k.status != actors.TenantActive {
		return caller{}, http.StatusForbidden, "the tenant is disabled; its data is kept"
	}
	return caller{tenant: tid, p: k.p, linearizable: strings.EqualFold(consistency, "linearizable")}, 0, ""
}

var errUnknownKey = errors.New("unknown key")

// keyEntry is what a key resolved to, valid while the key generation is
// unchanged: any applied change to keys, users or tenants starts a new one.
type keyEntry struct {
	p      actors.Principal
	status actors.TenantStatus
	host   string
	gen    uint64
}

// lookupKey resolves an API key of tenant tid through a cache in front of
// the replicated state. The cache is keyed by the SHA-256 sum of the whole
// key, tenant included: the same secret under another tenant's prefix is
// another key.
func (s *Server) lookupKey(ctx context.Context, tid actors.TenantID, sum [32]byte, secret string) (keyEntry, error) {
	gen := s.keyGen.Load()
	if v, ok := s.keys.Load(sum); ok && v.(keyEntry).gen == gen {
		return v.(keyEntry), nil
	}
	k := keyEntry{gen: gen}
	err := s.o.Node.Read(ctx, false, tid, func(t *actors.Tenant) error {
		var found bool
		if k.p, found = t.Principal(secretHash(secret)); !found {
			if k.p, found = t.Principal(hex.EncodeToString(sum[:])); !found { // legacyHash(key), from the sum at hand
				return errUnknownKey
			}
		}
		k.status, k.host = t.Status, t.Host
		return nil
	})
	if err != nil {
		return keyEntry{}, err
	}
	s.keys.Store(sum, k)
	return k, nil
}

func hostOnly(h string) string {
	if i := strings.LastIndex(h, ":"); i >= 0 && !strings.Contains(h[i:], "]") {
		h = h[:i]
	}
	return strings.ToLower(h)
}

// hostBelongsElsewhere: a request on a tenant's configured host is limited
// to that tenant.
func (s *Server) hostBelongsElsewhere(reqHost string, tid actors.TenantID, own string) bool {
	if reqHost == own {
		return false
	}
	owner, ok := s.hostOwner(reqHost)
	return ok && owner != tid
}

// hostOwner says which tenant a host is configured for. The table is
// rebuilt from the local state after any tenant change (seen in the
// applied events), not on every request.
func (s *Server) hostOwner(host string) (actors.TenantID, bool) {
	hosts := s.hosts.Load()
	if hosts == nil {
		m := map[string]actors.TenantID{}
		for _, t := range s.o.Node.Tenants("") {
			if t.Host != "" {
				m[t.Host] = t.ID
			}
		}
		hosts = &m
		s.hosts.CompareAndSwap(nil, hosts)
	}
	id, ok := (*hosts)[host]
	return id, ok
}

// observe feeds applied events to the metrics and drops the host table
// when tenants change.
func (s *Server) observe(events []actors.Event) {
	s.metrics.observe(events)
	for _, e := range events {
		switch e.Kind {
		case actors.EvTenantCreated, actors.EvTenantUpdated, actors.EvTenantDeleted:
			s.hosts.Store(nil)
			s.keyGen.Add(1)
		case actors.EvTenantStatusChanged, actors.EvAPIKeyChanged, actors.EvUserDeleted:
			s.keyGen.Add(1)
		}
	}
}

// propose runs a command and maps a refusal to a problem.
func (s *Server) propose(ctx context.Context, cmd actors.Command) (actors.Outcome, error) {
	out, err := s.o.Node.Propose(ctx, cmd)
	if err == nil {
		err = out.Err
	}
	if err != nil {
		return out, s.problem(ctx, err)
	}
	return out, nil
}

// read runs fn on the caller's tenant (locally; linearizable when asked).
func (s *Server) read(ctx context.Context, linearizable bool, fn func(*actors.Tenant) error) error {
	c := callerOf(ctx)
	if err := s.o.Node.Read(ctx, linearizable || c.linearizable, c.tenant, fn); err != nil {
		return s.problem(ctx, err)
	}
	return nil
}

// problem maps a core or cluster error to an RFC 9457 problem.
func (s *Server) problem(ctx context.Context, err error) error {
	var se huma.StatusError
	if errors.As(err, &se) {
		return err
	}
	status, msg := http.StatusInternalServerError, "internal error"
	var fe *actors.FieldError
	switch {
	case errors.Is(err, actors.ErrNotFound):
		status, msg = http.StatusNotFound, "not found"
	case errors.Is(err, actors.ErrInvalid):
		status, msg = http.StatusUnprocessableEntity, "invalid input"
	case errors.Is(err, actors.ErrForbidden), errors.Is(err, actors.ErrFeatureDisabled), errors.Is(err, actors.ErrTenantDisabled):
		status, msg = http.StatusForbidden, "forbidden"
	case errors.Is(err, actors.ErrConflict), errors.Is(err, actors.ErrDuplicate):
		status, msg = http.StatusConflict, "conflict"
	case errors.Is(err, actors.ErrLimit), errors.Is(err, actors.ErrQuota):
		status, msg = http.StatusUnprocessableEntity, "limit exceeded"
	case errors.Is(err, cluster.ErrNotLeader), errors.Is(err, cluster.ErrClosed):
		status, msg = http.StatusServiceUnavailable, "this node cannot accept writes right now; retry"
	case errors.Is(err, cluster.ErrUnknownOutcome):
		status, msg = http.StatusServiceUnavailable, "the outcome is unknown; retry with the same Idempotency-Key"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		status, msg = http.StatusGatewayTimeout, "the request timed out; retry with the same Idempotency-Key"
	}
	if errors.As(err, &fe) {
		return huma.NewError(status, msg, &huma.ErrorDetail{Location: fe.Field, Message: fe.Reason})
	}
	if status == http.StatusInternalServerError {
		s.o.Logger.Error("request failed", "err", err)
	}
	return huma.NewError(status, msg)
}

var bearer = []map[string][]string{{"bearer": {}}}

// operation builds a documented operation; operator operations are
// marked so that only the operator token passes.
func operation(method, path, id, summary string, status int, operatorOnly bool) huma.Operation {
	op := huma.Operation{Method: method, Path: path, OperationID: id, Summary: summary, DefaultStatus: status,
		Security: bearer, MaxBodyBytes: 64 << 10, Metadata: map[string]any{"operator": operatorOnly}}
	return op
}
