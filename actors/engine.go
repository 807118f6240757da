package actors

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"time"
)

// Engine is the whole routing state of one node: every tenant it holds.
// It is not safe for concurrent use; the actor system, the FSM and the
// simulator each own one and feed it commands in log order.
type Engine struct {
	Tenants    map[TenantID]*Tenant `json:"tenants"`
	NextTenant TenantID             `json:"nextTenant"`

	// created holds the tenant creates that carried an idempotency key,
	// for idempotencyWindow; createdOrder orders them by age.
	created      map[string]tenantCreate
	createdOrder []idempotencyEntry

	events []Event // reused by every Apply

	// last is the tenant of the previous tenant command: commands of one
	// tenant usually come in runs. Cleared when a tenant is deleted.
	last *Tenant
}

// NewEngine returns an empty engine.
func NewEngine() *Engine {
	return &Engine{Tenants: map[TenantID]*Tenant{}, created: map[string]tenantCreate{}}
}

// tenantCreate is what an idempotency key of [CreateTenant] created.
type tenantCreate struct {
	Tenant TenantID `json:"tenant"`
	At     int64    `json:"at"`
	Hash   string   `json:"hash,omitempty"`
}

// Result is what a successful command returns: the identifier of what it
// created (a tenant, domain, user, queue, callback...), or 0.
type Result struct {
	ID uint64 `json:"id,omitempty"`
}

// Apply runs one command at time now. It returns the result and the events
// that followed, or an error with nothing changed. The event slice is
// reused by the next Apply: copy what must be kept.
func (e *Engine) Apply(cmd Command, now time.Time) (Result, []Event, error) {
	e.events = e.events[:0]
	x := &opCtx{now: now.UnixNano(), events: &e.events}
	id, err := e.apply(x, cmd)
	if err != nil {
		e.events = e.events[:0]
		return Result{}, nil, err
	}
	return Result{ID: id}, e.events, nil
}

func (e *Engine) apply(x *opCtx, cmd Command) (uint64, error) {
	switch c := cmd.(type) {
	case *CreateTenant:
		return e.createTenant(x, c)
	case *UpdateTenant:
		return 0, e.updateTenant(x, c)
	case *SetTenantStatus:
		t := e.Tenants[c.Tenant]
		if t == nil {
			return 0, notFound("tenantId")
		}
		if err := c.Status.valid(); err != nil {
			return 0, err
		}
		t.setStatus(x, c.Status)
		return 0, nil
	case *DeleteTenant:
		t := e.Tenants[c.Tenant]
		if t == nil {
			return 0, notFound("tenantId")
		}
		delete(e.Tenants, c.Tenant)
		e.last = nil
		t.emit(x, Event{Kind: EvTenantDeleted})
		return 0, nil
	case *Tick:
		if c.Tenant != 0 {
			t := e.Tenants[c.Tenant]
			if t == nil {
				return 0, notFound("tenantId")
			}
			if t.Status == TenantActive {
				t.tick(x)
			}
			return 0, nil
		}
		for _, id := range sortedKeys(e.Tenants) {
			if t := e.Tenants[id]; t.Status == TenantActive {
				t.tick(x)
			}
		}
		return 0, nil
	case TenantCommand:
		id := c.TenantOf()
		t := e.last
		if t == nil || t.ID != id {
			if t = e.Tenants[id]; t == nil {
				return 0, notFound("tenantId")
			}
			e.last = t
		}
		return t.apply(x, c, principalOf(c))
	}
	return 0, invalid("kind", "unknown command %T", cmd)
}

// principalOf extracts the principal a tenant command acts as.
func principalOf(c TenantCommand) Principal {
	type byer interface{ principal() Principal }
	if b, ok := c.(byer); ok {
		return b.principal()
	}
	return Principal{}
}

func (t Target) principal() Principal { return t.By }

var hostPattern = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)

func (e *Engine) validTenant(p Profile, host string, l Limits, features map[Feature]bool, self TenantID) error {
	switch {
	case strings.TrimSpace(p.CompanyName) == "" || len(p.CompanyName) > 200:
		return invalid("companyName", "must be 1 to 200 characters")
	case !validUsername(p.AdminUsername):
		return invalid("adminUsername", "must be 1 to 100 letters, digits, dots, dashes or underscores")
	case !validEmail(p.AdminEmail):
		return invalid("adminEmail", "must be an email address")
	case strings.TrimSpace(p.AdminFirstName) == "" || len(p.AdminFirstName) > 100:
		return invalid("adminFirstName", "must be 1 to 100 characters")
	case host != "" && (len(host) > 253 || !hostPattern.MatchString(host)):
		return invalid("host", "must be a lowercase host name such as acme.example.com")
	case l.MaxAgents < 1 || l.MaxAgents > 100000:
		return invalid("limits.maxAgents", "must be between 1 and 100000, got %d", l.MaxAgents)
	case l.StorageQuotaBytes < 1:
		return invalid("limits.storageQuotaBytes", "must be positive, got %d", l.StorageQuotaBytes)
	case l.MaxDomains < 1 || l.MaxDomains > 10000:
		return invalid("limits.maxDomains", "must be between 1 and 10000, got %d", l.MaxDomains)
	}
	for _, f := range sortedKeys(features) {
		if !knownFeature(f) {
			return invalid("features."+string(f), "unknown feature")
		}
	}
	if host != "" {
		for _, id := range sortedKeys(e.Tenants) {
			if id != self && e.Tenants[id].Host == host {
				return refuse(ErrConflict, "host", "the host is already in use")
			}
		}
	}
	return nil
}

func knownFeature(f Feature) bool {
	for _, k := range AllFeatures {
		if k == f {
			return true
		}
	}
	return false
}

func validUsername(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && len(s) <= 254
}

func withDefaults(l Limits) Limits {
	d := DefaultLimits()
	if l.MaxAgents == 0 {
		l.MaxAgents = d.MaxAgents
	}
	if l.StorageQuotaBytes == 0 {
		l.StorageQuotaBytes = d.StorageQuotaBytes
	}
	if l.MaxDomains == 0 {
		l.MaxDomains = d.MaxDomains
	}
	return l
}

// createdBy is the earlier create of c's idempotency key, if any.
func (e *Engine) createdBy(x *opCtx, c *CreateTenant) (tenantCreate, bool) {
	if c.IdempotencyKey == "" {
		return tenantCreate{}, false
	}
	prev, ok := e.created[c.IdempotencyKey]
	return prev, ok && x.now-prev.At < int64(idempotencyWindow)
}

func (e *Engine) createTenant(x *opCtx, c *CreateTenant) (uint64, error) {
	if prev, ok := e.createdBy(x, c); ok {
		return e.repeatCreate(x, prev, c)
	}
	limits := withDefaults(c.Limits)
	if err := e.validTenant(c.Profile, c.Host, limits, c.Features, 0); err != nil {
		return 0, err
	}
	if c.AdminKeyHash != "" {
		if err := validKeyHash(c.AdminKeyHash, "adminKeyHash"); err != nil {
			return 0, err
		}
	}
	policy := DefaultPolicy()
	if c.Policy != nil {
		policy = *c.Policy
		if err := policy.validate(); err != nil {
			return 0, err
		}
	}
	e.NextTenant++
	t := newTenant(e.NextTenant, c)
	t.Limits, t.Policy = limits, policy
	for f, on := range c.Features {
		t.Features[f] = on
	}
	e.Tenants[t.ID] = t
	t.emit(x, Event{Kind: EvTenantCreated})
	t.Next.Domain = HomeDomain
	t.addDomain(x, &DomainNode{ID: HomeDomain, Name: "Home"})
	t.Next.User = TenantAdmin
	admin := &User{ID: t.Next.User, Name: c.Profile.AdminUsername, Home: HomeDomain,
		Grants: []Grant{{Role: RoleAdministrator, Scope: Scope{All: true}}}}
	t.setUser(admin.ID, admin)
	t.emit(x, Event{Kind: EvUserCreated, Agent: admin.ID, Domain: HomeDomain})
	if c.AdminKeyHash != "" {
		t.APIKeys[c.AdminKeyHash] = AsUser(admin.ID)
		t.emit(x, Event{Kind: EvAPIKeyChanged})
	}
	if c.IdempotencyKey != "" {
		e.createdOrder = expireKeys(e.created, e.createdOrder, x.now, func(c tenantCreate) int64 { return c.At })
		e.created[c.IdempotencyKey] = tenantCreate{Tenant: t.ID, At: x.now, Hash: c.RequestHash}
		e.createdOrder = append(e.createdOrder, idempotencyEntry{Key: c.IdempotencyKey, At: x.now})
	}
	return uint64(t.ID), nil
}

// repeatCreate answers a create whose idempotency key already created a
// tenant: that tenant, whose administrator gets the new key as one more.
func (e *Engine) repeatCreate(x *opCtx, prev tenantCreate, c *CreateTenant) (uint64, error) {
	if prev.Hash != c.RequestHash {
		return 0, invalid("Idempotency-Key", "the key was first used with a different request")
	}
	t := e.Tenants[prev.Tenant]
	if t == nil {
		return 0, refuse(ErrConflict, "Idempotency-Key", "the tenant created with this key has been deleted")
	}
	if c.AdminKeyHash == "" {
		return uint64(t.ID), nil
	}
	if err := validKeyHash(c.AdminKeyHash, "adminKeyHash"); err != nil {
		return 0, err
	}
	if t.Users[TenantAdmin] == nil {
		return 0, refuse(ErrConflict, "Idempotency-Key", "the administrator the tenant was created with has been deleted")
	}
	t.APIKeys[c.AdminKeyHash] = AsUser(TenantAdmin)
	t.emit(x, Event{Kind: EvAPIKeyChanged})
	return uint64(t.ID), nil
}

func (e *Engine) updateTenant(x *opCtx, c *UpdateTenant) error {
	t := e.Tenants[c.Tenant]
	if t == nil {
		return notFound("tenantId")
	}
	profile, host, limits, policy := t.Profile, t.Host, t.Limits, t.Policy
	if c.Profile != nil {
		profile = *c.Profile
	}
	if c.Host != nil {
		host = *c.Host
	}
	if c.Limits != nil {
		limits = withDefaults(*c.Limits)
	}
	if c.Policy != nil {
		policy = *c.Policy
		if err := policy.validate(); err != nil {
			return err
		}
	}
	if err := e.validTenant(profile, host, limits, c.Features, t.ID); err != nil {
		return err
	}
	if c.Status != nil {
		if err := c.Status.valid(); err != nil {
			return err
		}
	}
	t.Profile, t.Host, t.Limits = profile, host, limits
	for f, on := range c.Features {
		t.Features[f] = on
	}
	if c.Policy != nil {
		was := t.Policy.Duplicates
		t.Policy = policy
		t.configureAll(x)
		if policy.Duplicates != was {
			t.indexNumbers(x)
		}
	}
	if c.Profile != nil || c.Host != nil || c.Limits != nil || c.Features != nil || c.Policy != nil {
		t.emit(x, Event{Kind: EvTenantUpdated})
	}
	if c.Status != nil {
		t.setStatus(x, *c.Status)
	}
	return nil
}

// setStatus deactivates or reactivates the tenant.
func (t *Tenant) setStatus(x *opCtx, s TenantStatus) {
	t.Status = s
	t.emit(x, Event{Kind: EvTenantStatusChanged, Object: uint64(s)})
}

// NextDeadline is the earliest pending deadline of any active tenant, or
// the zero time when nothing is pending: when it passes, propose a Tick.
func (e *Engine) NextDeadline() time.Time {
	var next int64
	for _, t := range e.Tenants {
		if t.Status != TenantActive {
			continue
		}
		if n := t.nextDeadline(); n != 0 && (next == 0 || n < next) {
			next = n
		}
	}
	if next == 0 {
		return time.Time{}
	}
	return time.Unix(0, next).UTC()
}

// TenantByHost resolves a tenant's configured host.
func (e *Engine) TenantByHost(host string) (TenantID, bool) {
	host = strings.ToLower(host)
	for _, id := range sortedKeys(e.Tenants) {
		if e.Tenants[id].Host == host {
			return id, true
		}
	}
	return 0, false
}

// Tenant returns a tenant's state for reading, or nil.
func (e *Engine) Tenant(id TenantID) *Tenant { return e.Tenants[id] }

// snapshotVersion is the encoding version of Snapshot; bump it on any
// incompatible change and keep reading the old ones.
const snapshotVersion = 1

type snapshot struct {
	Version      int                     `json:"version"`
	NextTenant   TenantID                `json:"nextTenant"`
	Tenants      []tenantImage           `json:"tenants"`
	Created      map[string]tenantCreate `json:"created,omitempty"`
	CreatedOrder []idempotencyEntry      `json:"createdOrder,omitempty"`
}

type tenantImage struct {
	Tenant  *Tenant   `json:"tenant"`
	Domains []*Domain `json:"domains"`
}

// Snapshot encodes the whole state deterministically: the same state gives
// the same bytes on every replica.
func (e *Engine) Snapshot() ([]byte, error) {
	s := snapshot{Version: snapshotVersion, NextTenant: e.NextTenant, Created: e.created, CreatedOrder: e.createdOrder}
	for _, id := range sortedKeys(e.Tenants) {
		t := e.Tenants[id]
		img := tenantImage{Tenant: t}
		for _, did := range sortedKeys(t.routing) {
			img.Domains = append(img.Domains, t.routing[did])
		}
		s.Tenants = append(s.Tenants, img)
	}
	return json.Marshal(s)
}

// Restore rebuilds an engine from a snapshot. A snapshot file can be
// damaged or hand-made, so anything that does not hold together is an
// error, never a panic.
func Restore(b []byte) (e *Engine, err error) {
	var s snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("actors: decode snapshot: %w", err)
	}
	if s.Version != snapshotVersion {
		return nil, fmt.Errorf("actors: snapshot version %d, this build reads %d", s.Version, snapshotVersion)
	}
	defer func() {
		if r := recover(); r != nil {
			e, err = nil, fmt.Errorf("actors: snapshot damaged: %v", r)
		}
	}()
	e = NewEngine()
	e.NextTenant = s.NextTenant
	for _, k := range s.CreatedOrder {
		if _, ok := s.Created[k.Key]; !ok {
			return nil, fmt.Errorf("actors: snapshot damaged: idempotency key %q has no tenant create", k.Key)
		}
	}
	if s.Created != nil {
		e.created = s.Created
	}
	e.createdOrder = s.CreatedOrder
	for i, img := range s.Tenants {
		t := img.Tenant
		if t == nil || e.Tenants[t.ID] != nil || t.ID == 0 {
			return nil, fmt.Errorf("actors: snapshot damaged: tenant image %d has no tenant, or a repeated one", i)
		}
		if t.Domains == nil || t.Users == nil || t.Queues == nil || t.Callbacks.slots == nil {
			return nil, fmt.Errorf("actors: snapshot damaged: tenant %d lacks its domains, users, queues or callback index", t.ID)
		}
		t.routing = make(map[DomainID]*Domain, len(img.Domains))
		for _, d := range img.Domains {
			if d == nil || d.Callbacks.restored == nil || d.Agents == nil || t.Domains[d.ID] == nil {
				return nil, fmt.Errorf("actors: snapshot damaged: tenant %d has a domain image that does not match its tree", t.ID)
			}
			t.setDomain(d.ID, d)
		}
		if err := t.reindex(); err != nil {
			return nil, err
		}
		for _, did := range sortedKeys(t.routing) {
			t.routing[did].rebuild()
		}
		e.Tenants[t.ID] = t
	}
	return e, nil
}

// Hash is a digest of the whole state, equal on replicas that applied the
// same commands.
func (e *Engine) Hash() ([32]byte, error) {
	b, err := e.Snapshot()
	if err != nil {
		return [32]byte{}, err
	}
	return sha256.Sum256(b), nil
}
