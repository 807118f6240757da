package actors

import (
	"encoding/json"
	"fmt"
	"iter"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on names and sizes that hold for every tenant.
const (
	MaxDomainNameLen  = 500
	maxNameLen        = 500
	maxCodeNameLen    = 100 // wrap-up codes and away reasons
	maxNumbers        = 10
	maxNumberLen      = 32
	maxDataEntries    = 50
	maxDataLen        = 1024
	maxPriority       = 1000
	idempotencyWindow = 24 * time.Hour
	callbackOverhead  = 64 // bytes counted per callback besides its text
	// maxCallbacks bounds a tenant's callback identifiers to 32 bits, as
	// the waiting lines keep them (lineKey). The callback table holds a
	// slot for each identifier ever given, so a tenant would reach its
	// storage quota long before.
	maxCallbacks CallbackID = math.MaxUint32
)

// DomainNode is a domain in the tenant's tree.
type DomainNode struct {
	ID     DomainID `json:"id"`
	Name   string   `json:"name"`
	Parent DomainID `json:"parent,omitempty"` // zero for Home
}

// User is a person of the tenant: staff with roles and, for agents,
// positions and queue memberships.
type User struct {
	ID          UserID       `json:"id"`
	Name        string       `json:"name"`
	FullName    string       `json:"fullName,omitempty"`
	Home        DomainID     `json:"home"`
	Grants      []Grant      `json:"grants"`
	Groups      []GroupID    `json:"groups,omitempty"`
	Positions   []Position   `json:"positions,omitempty"`
	Active      int          `json:"active"` // index of the active position
	Memberships []Membership `json:"memberships,omitempty"`
	// Presence mirrors the agent's presence as kept by its active domain,
	// updated from the events that domain emits.
	Presence Presence `json:"presence,omitempty"`
}

func (u *User) isAgent() bool {
	return slices.ContainsFunc(u.Grants, func(g Grant) bool { return g.Role == RoleAgent })
}

func (u *User) activeDomain() DomainID {
	if len(u.Positions) == 0 {
		return 0
	}
	return u.Positions[u.Active].Domain
}

// App is a channel application: a custom channel's provider, bound to one
// domain.
type App struct {
	ID     AppID    `json:"id"`
	Name   string   `json:"name"`
	Domain DomainID `json:"domain"`
}

// Group is an access group (a line of business).
type Group struct {
	ID   GroupID `json:"id"`
	Name string  `json:"name"`
}

// Folder groups queues; with Propagate its permissions apply to them all.
type Folder struct {
	ID         FolderID  `json:"id"`
	Name       string    `json:"name"`
	Domain     DomainID  `json:"domain"`
	Propagate  bool      `json:"propagate"`
	RevokeRead []GroupID `json:"revokeRead,omitempty"`
}

// Queue is a virtual queue's configuration.
type Queue struct {
	ID           QueueID       `json:"id"`
	Name         string        `json:"name"`
	Domain       DomainID      `json:"domain"`
	Folder       FolderID      `json:"folder,omitempty"`
	Strategy     Strategy      `json:"strategy"`
	ServiceLevel time.Duration `json:"serviceLevel"` // zero: the tenant's
	RevokeRead   []GroupID     `json:"revokeRead,omitempty"`
}

// Code is a wrap-up code or away reason; Domain zero means unassigned.
type Code struct {
	ID     CodeID   `json:"id"`
	Kind   CodeKind `json:"kind"`
	Name   string   `json:"name"`
	Domain DomainID `json:"domain,omitempty"`
}

type idempotent struct {
	Callback CallbackID `json:"callback"`
	At       int64      `json:"at"`
	Hash     string     `json:"hash,omitempty"`
}

// idempotencyEntry orders idempotency keys by age, for expiry.
type idempotencyEntry struct {
	Key string `json:"key"`
	At  int64  `json:"at"`
}

// Counters allocate identifiers; they only grow.
type Counters struct {
	Domain   DomainID   `json:"domain"`
	User     UserID     `json:"user"`
	App      AppID      `json:"app"`
	Group    GroupID    `json:"group"`
	Folder   FolderID   `json:"folder"`
	Queue    QueueID    `json:"queue"`
	Code     CodeID     `json:"code"`
	Callback CallbackID `json:"callback"`
}

// Tenant is one tenant's configuration and the index of its callbacks. Its
// domains' routing state is reached only through domain operations.
type Tenant struct {
	ID            TenantID                 `json:"id"`
	Profile       Profile                  `json:"profile"`
	Host          string                   `json:"host,omitempty"`
	Limits        Limits                   `json:"limits"`
	Features      map[Feature]bool         `json:"features"`
	Policy        Policy                   `json:"policy"`
	Status        TenantStatus             `json:"status"`
	Domains       map[DomainID]*DomainNode `json:"domains"`
	Users         map[UserID]*User         `json:"users"`
	Apps          map[AppID]*App           `json:"apps"`
	Groups        map[GroupID]*Group       `json:"groups"`
	Folders       map[FolderID]*Folder     `json:"folders"`
	Queues        map[QueueID]*Queue       `json:"queues"`
	Codes         map[CodeID]*Code         `json:"codes"`
	APIKeys       map[string]Principal     `json:"apiKeys"`
	Idempotency   map[string]idempotent    `json:"idempotency"`
	IdemOrder     []idempotencyEntry       `json:"idemOrder"` // oldest first
	Callbacks     callbackTable            `json:"callbackDomain"`
	ActiveNumbers numberIndex              `json:"activeNumbers"` // queue/number of non-terminal callbacks
	StorageUsed   int64                    `json:"storageUsed"`
	Audit         auditTrail               `json:"audit"`
	Next          Counters                 `json:"next"`
	// Forgotten: every callback up to it is finished and forgotten
	// (Policy.RecordRetention); the ones after it are kept.
	Forgotten CallbackID `json:"forgotten,omitempty"`

	routing map[DomainID]*Domain
	// doms and users are dense copies of routing and Users, indexed by
	// identifier (both are small integers allocated in order), so the hot
	// path looks them up without hashing.
	doms  []*Domain
	users []*User
	// agents counts the users with the agent role, for limits.maxAgents;
	// setUser and updateUser keep it.
	agents int
	// byName finds a user by name, case folded (foldName), for the
	// uniqueness of names; setUser keeps it.
	byName map[string]UserID
	port   func(d *Domain, op *domainOp, r *opResult) // nil: call the domain directly
	op     domainOp
	res    opResult
}

func newTenant(id TenantID, c *CreateTenant) *Tenant {
	t := &Tenant{
		ID: id, Profile: c.Profile, Host: c.Host, Limits: c.Limits,
		Features: DefaultFeatures(), Policy: DefaultPolicy(), Status: TenantActive,
		Domains: map[DomainID]*DomainNode{}, Users: map[UserID]*User{}, Apps: map[AppID]*App{},
		Groups: map[GroupID]*Group{}, Folders: map[FolderID]*Folder{}, Queues: map[QueueID]*Queue{},
		Codes: map[CodeID]*Code{}, APIKeys: map[string]Principal{}, Idempotency: map[string]idempotent{},
		Callbacks: callbackTable{},
		routing:   map[DomainID]*Domain{},
	}
	return t
}

// setDomain adds (d non-nil) or removes a domain's routing state.
func (t *Tenant) setDomain(id DomainID, d *Domain) {
	if d != nil {
		d.table, d.Callbacks.owner = &t.Callbacks, d
	}
	setIndexed(t.routing, &t.doms, id, d)
}

// domain returns a domain's routing state, or nil.
func (t *Tenant) domain(id DomainID) *Domain {
	if int(id) < len(t.doms) {
		return t.doms[id]
	}
	return nil
}

// setCallbackDomain records where a callback waits now.
func (t *Tenant) setCallbackDomain(c *Callback, d DomainID) {
	s := t.Callbacks.grow(c.ID)
	s.c, s.domain = c, d
}

// callbackDomain says where a callback waits, or false if there is no
// such callback.
func (t *Tenant) callbackDomain(id CallbackID) (DomainID, bool) {
	if s := t.Callbacks.lookup(id); s != nil && s.domain != 0 {
		return s.domain, true
	}
	return 0, false
}

// callbackTable is every callback of a tenant by identifier: callbacks
// are numbered from 1 and keep their slot while the tenant exists, so the
// table is dense; a forgotten callback's slot is empty (no callback,
// domain 0). Forgetting goes oldest first (Tenant.forget), so the
// forgotten callbacks are the table's first ones, and once they are half
// of it the table lets them go: slots[i] is callback base+i, and those up
// to base are forgotten (slots[0] is never a callback). It is shared with
// the tenant's domains (Domain.callback, line.enter), which run one at a
// time on the tenant's goroutine. Only the domains are encoded: its JSON is
// an object from identifier to domain, keys in the order encoding/json
// gives a map's, forgotten callbacks left out, so that it is the same
// whatever base is; a restore finds the callbacks themselves in their
// domains (reindex).
type callbackTable struct {
	base  CallbackID
	slots []callbackSlot
}

// at is a callback's slot; the callback must be kept.
func (c *callbackTable) at(id CallbackID) *callbackSlot { return &c.slots[id-c.base] }

// lookup is the slot of a callback, or nil when it was never numbered or
// has been let go of.
func (c *callbackTable) lookup(id CallbackID) *callbackSlot {
	if id > c.base && uint64(id-c.base) < uint64(len(c.slots)) {
		return &c.slots[id-c.base]
	}
	return nil
}

// grow returns the slot of a callback being numbered.
func (c *callbackTable) grow(id CallbackID) *callbackSlot {
	if n := int(id-c.base) + 1; n > len(c.slots) {
		c.slots = append(c.slots, make([]callbackSlot, n-len(c.slots))...)
	}
	return &c.slots[id-c.base]
}

// kept yields the callbacks not let go of, forgotten ones among them, in
// identifier order.
func (c *callbackTable) kept() iter.Seq2[CallbackID, *callbackSlot] {
	return func(yield func(CallbackID, *callbackSlot) bool) {
		for i := 1; i < len(c.slots); i++ {
			if !yield(c.base+CallbackID(i), &c.slots[i]) {
				return
			}
		}
	}
}

// forgotten says the callbacks up to id are forgotten, and lets their
// slots go once they are half the table (a copy of the rest: what the
// copy costs, the slots it drops have paid for).
func (c *callbackTable) forgotten(id CallbackID) {
	if id <= c.base || uint64(id-c.base) < uint64(len(c.slots)/2) {
		return
	}
	rest := []callbackSlot{{}}
	if drop := uint64(id - c.base); drop < uint64(len(c.slots)) {
		rest = append(rest, c.slots[drop+1:]...)
	}
	c.slots, c.base = rest, id
}

// Len is the number of callbacks ever numbered, forgotten ones included.
func (c *callbackTable) Len() int { return max(int(c.base)+len(c.slots)-1, 0) }

// Kept is the number of callbacks held: Len less the forgotten ones.
func (c *callbackTable) Kept() int {
	n := 0
	for _, s := range c.kept() {
		if s.domain != 0 {
			n++
		}
	}
	return n
}

func (c callbackTable) MarshalJSON() ([]byte, error) {
	first := 1
	for first < len(c.slots) && c.slots[first].domain == 0 {
		first++ // forgotten
	}
	ids := make([]string, 0, max(len(c.slots)-first, 0))
	for i := first; i < len(c.slots); i++ {
		ids = append(ids, strconv.FormatUint(uint64(c.base)+uint64(i), 10))
	}
	slices.Sort(ids)
	b := []byte{'{'}
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		n, _ := strconv.ParseUint(id, 10, 64)
		b = append(strconv.AppendQuote(b, id), ':')
		b = strconv.AppendUint(b, uint64(c.slots[CallbackID(n)-c.base].domain), 10)
	}
	return append(b, '}'), nil
}

// UnmarshalJSON reads the callbacks from the first kept one on; snapshots
// written before forgotten callbacks were left out name those with
// domain 0. reindex checks the first one against Tenant.Forgotten.
func (c *callbackTable) UnmarshalJSON(b []byte) error {
	var m map[CallbackID]DomainID
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	if _, ok := m[0]; ok {
		return fmt.Errorf("actors: callback index: callback 0 (callbacks are numbered from 1)")
	}
	c.base = 0
	if len(m) > 0 {
		c.base = slices.Min(slices.Collect(maps.Keys(m))) - 1
	}
	c.slots = make([]callbackSlot, len(m)+1)
	for id, d := range m {
		if uint64(id-c.base) > uint64(len(m)) {
			return fmt.Errorf("actors: callback index: callback %d in domain %d (callbacks are numbered %d to %d)", id, d, c.base+1, int(c.base)+len(m))
		}
		c.slots[id-c.base].domain = d
	}
	return nil
}

// setUser adds (u non-nil) or removes a user.
func (t *Tenant) setUser(id UserID, u *User) {
	if old := t.userByID(id); old != nil {
		if old.isAgent() {
			t.agents--
		}
		delete(t.byName, foldName(old.Name))
	}
	if u != nil {
		if u.isAgent() {
			t.agents++
		}
		if t.byName == nil {
			t.byName = map[string]UserID{}
		}
		t.byName[foldName(u.Name)] = id
	}
	setIndexed(t.Users, &t.users, id, u)
}

// userByID returns a user, or nil.
func (t *Tenant) userByID(id UserID) *User {
	if int(id) < len(t.users) {
		return t.users[id]
	}
	return nil
}

// reindex rebuilds the dense indexes after a restore, before the domains
// rebuild theirs (Domain.rebuild). It refuses callbacks the callback index
// does not put where they are, and agents that are not users, so neither
// index grows past the tenant's users and callbacks.
func (t *Tenant) reindex() error {
	t.users, t.agents, t.byName = nil, 0, nil
	for _, id := range sortedKeys(t.Users) {
		t.setUser(id, t.Users[id])
	}
	for _, did := range sortedKeys(t.routing) {
		d := t.routing[did]
		for _, id := range sortedKeys(d.Callbacks.restored) {
			c := d.Callbacks.restored[id]
			if d, ok := t.callbackDomain(id); !ok || d != did || c == nil || c.ID != id || c.Domain != did {
				return fmt.Errorf("actors: snapshot damaged: tenant %d: callback %d is not where the callback index says", t.ID, id)
			}
			t.Callbacks.at(id).c = c
		}
		d.Callbacks.restored = nil
		for _, id := range sortedKeys(d.Agents) {
			a := d.Agents[id]
			if t.userByID(id) == nil || a == nil || a.ID != id {
				return fmt.Errorf("actors: snapshot damaged: tenant %d: agent %d of domain %d is not a user", t.ID, id, did)
			}
		}
	}
	if t.Callbacks.base > t.Forgotten {
		return fmt.Errorf("actors: snapshot damaged: tenant %d: its callback index starts after callback %d, the last forgotten one", t.ID, t.Forgotten)
	}
	t.Callbacks.forgotten(t.Forgotten)
	for id, slot := range t.Callbacks.kept() {
		if slot.domain != 0 && slot.c == nil {
			return fmt.Errorf("actors: snapshot damaged: tenant %d: callback %d of domain %d is missing from it", t.ID, id, slot.domain)
		}
	}
	return nil
}

// call runs one domain operation through the tenant's port.
func (t *Tenant) call(did DomainID, op *domainOp) *opResult {
	r := &t.res
	*r = opResult{stranded: r.stranded[:0]}
	d := t.domain(did)
	if t.port != nil {
		t.port(d, op, r)
	} else {
		d.handle(op, r)
	}
	return r
}

func (t *Tenant) newOp(code opCode, x *opCtx) *domainOp {
	t.op = domainOp{code: code, x: *x}
	return &t.op
}

// configure sends the tenant's policy and queue settings to a domain.
func (t *Tenant) configure(x *opCtx, did DomainID) {
	op := t.newOp(opConfigure, x)
	op.policy = &t.Policy
	op.queues = make(map[QueueID]QueueConf, len(t.Queues))
	for id, q := range t.Queues {
		sl := q.ServiceLevel
		if sl == 0 {
			sl = t.Policy.ServiceLevel
		}
		op.queues[id] = QueueConf{Strategy: q.Strategy, ServiceLevel: int64(sl)}
	}
	t.call(did, op)
}

func (t *Tenant) configureAll(x *opCtx) {
	for _, did := range sortedKeys(t.routing) {
		t.configure(x, did)
	}
}

func (t *Tenant) emit(x *opCtx, e Event) {
	e.At, e.Tenant = x.now, t.ID
	*x.events = append(*x.events, e)
}

// apply runs one tenant command. On error nothing has changed.
func (t *Tenant) apply(x *opCtx, cmd TenantCommand, by Principal) (uint64, error) {
	if t.Status != TenantActive {
		return 0, refuse(ErrTenantDisabled, "tenant", "the tenant is disabled; its data is kept")
	}
	start := len(*x.events)
	id, err := t.dispatch(x, cmd, by)
	if err != nil {
		return 0, err
	}
	t.mirrorPresence(*x.events, start)
	if t.Policy.AutoSwitchPosition {
		t.autoSwitch(x, start)
	}
	t.audit(x.now, by, cmd.Kind(), auditObject(cmd, id))
	return id, nil
}

// auditObject names what a command acted on, for the audit: what it
// made, or else the object it names (a deleted user, a canceled callback,
// the agent whose presence changed...).
func auditObject(cmd TenantCommand, made uint64) uint64 {
	if made != 0 {
		return made
	}
	switch c := cmd.(type) {
	case *RenameDomain:
		return uint64(c.Domain)
	case *DeleteDomain:
		return uint64(c.Domain)
	case *UpdateUser:
		return uint64(c.User)
	case *DeleteUser:
		return uint64(c.User)
	case *SetPresence:
		return uint64(c.Agent)
	case *SwitchPosition:
		return uint64(c.Agent)
	case *CancelCallback:
		return uint64(c.Callback)
	case *AcceptOffer:
		return uint64(c.Callback)
	case *RejectOffer:
		return uint64(c.Callback)
	case *CompleteCallback:
		return uint64(c.Callback)
	case *FailAttempt:
		return uint64(c.Callback)
	case *RescheduleCallback:
		return uint64(c.Callback)
	case *SetPriority:
		return uint64(c.Callback)
	case *TransferCallback:
		return uint64(c.Callback)
	case *UpdateCallback:
		return uint64(c.Callback)
	case *SetQueueMembers:
		return uint64(c.Queue)
	case *PutAPIKey:
		return uint64(c.For.User) + uint64(c.For.App) // the user or channel the key is for
	}
	return 0
}

// AuditEntry records who changed what.
type AuditEntry struct {
	At     int64     `json:"at"`
	By     Principal `json:"by"`
	Kind   Kind      `json:"kind"`
	Object uint64    `json:"object,omitempty"` // what the command made or acted on (auditObject)
}

// auditKeep is how many audit entries a tenant keeps of each part.
const auditKeep = 1000

// auditGrowAll is the audit length from which a ring is given its full
// size at once.
const auditGrowAll = 64

// auditTrail is a tenant's newest audit entries in two parts, each a
// ring of at most auditKeep entries: changes to the configuration (domains,
// people, keys, queues...) and the day's work (callbacks and presence).
// Kept apart, a busy hour of callbacks never pushes out who changed a
// queue. It is encoded as one list, the two merged oldest first, which a
// decoder splits again by kind.
type auditTrail struct {
	config, activity auditRing
}

// auditRing is one part of the trail: recording an entry never copies the
// others.
type auditRing struct {
	ring   []AuditEntry
	oldest int // index in ring of the oldest entry once the ring is full
}

func (a *auditTrail) add(e AuditEntry) {
	if e.Kind.IsActivity() {
		a.activity.add(e)
	} else {
		a.config.add(e)
	}
}

func (r *auditRing) add(e AuditEntry) {
	if len(r.ring) < auditKeep {
		if len(r.ring) == cap(r.ring) && len(r.ring) >= auditGrowAll {
			// A ring this long keeps growing (entries are only added):
			// take the whole ring now rather than copy it at every doubling.
			r.ring = append(make([]AuditEntry, 0, auditKeep), r.ring...)
		}
		r.ring = append(r.ring, e)
		return
	}
	r.ring[r.oldest] = e
	r.oldest = (r.oldest + 1) % auditKeep
}

// at is the ring's i-th entry, oldest first.
func (r *auditRing) at(i int) *AuditEntry { return &r.ring[(r.oldest+i)%len(r.ring)] }

// All yields the entries of both parts, oldest first (a configuration
// change before work of the same time).
func (a *auditTrail) All() iter.Seq[AuditEntry] {
	return func(yield func(AuditEntry) bool) {
		c, w := 0, 0
		for c < len(a.config.ring) || w < len(a.activity.ring) {
			var e *AuditEntry
			if w == len(a.activity.ring) || c < len(a.config.ring) && a.config.at(c).At <= a.activity.at(w).At {
				e, c = a.config.at(c), c+1
			} else {
				e, w = a.activity.at(w), w+1
			}
			if !yield(*e) {
				return
			}
		}
	}
}

func (a auditTrail) MarshalJSON() ([]byte, error) {
	if a.config.ring == nil && a.activity.ring == nil {
		return []byte("null"), nil
	}
	return json.Marshal(slices.Collect(a.All()))
}

// UnmarshalJSON splits the list by kind, keeping the newest auditKeep
// of each part (snapshots written before the split hold one list of at
// most auditKeep, of both parts).
func (a *auditTrail) UnmarshalJSON(b []byte) error {
	var entries []AuditEntry
	if err := json.Unmarshal(b, &entries); err != nil {
		return err
	}
	*a = auditTrail{}
	for _, e := range entries {
		a.add(e)
	}
	return nil
}

// audit records a command in the tenant's audit trail.
func (t *Tenant) audit(now int64, by Principal, k Kind, object uint64) {
	t.Audit.add(AuditEntry{At: now, By: by, Kind: k, Object: object})
}

func (t *Tenant) dispatch(x *opCtx, cmd TenantCommand, by Principal) (uint64, error) {
	switch c := cmd.(type) {
	case *CreateDomain:
		return t.createDomain(x, by, c)
	case *RenameDomain:
		return 0, t.renameDomain(x, by, c)
	case *DeleteDomain:
		return 0, t.deleteDomain(x, by, c)
	case *CreateUser:
		return t.createUser(x, by, c)
	case *UpdateUser:
		return 0, t.updateUser(x, by, c)
	case *DeleteUser:
		return 0, t.deleteUser(x, by, c)
	case *CreateApp, *CreateGroup, *CreateFolder, *UpdateFolder, *CreateQueue, *UpdateQueue, *DeleteQueue, *DeleteApp, *CreateCode, *DeleteCode,
		*DeleteFolder, *DeleteGroup, *RenameObject:
		return t.configObject(x, by, c)
	case *SetPresence:
		return 0, t.setPresence(x, by, c)
	case *SwitchPosition:
		return 0, t.switchPosition(x, by, c)
	case *CreateCallback:
		return t.createCallback(x, by, c)
	case *CancelCallback, *AcceptOffer, *RejectOffer, *CompleteCallback, *FailAttempt:
		return 0, t.callbackCommand(x, by, c)
	case *UpdateCallback:
		return 0, t.updateCallback(x, by, c)
	case *RescheduleCallback:
		return 0, t.updateCallback(x, by, &UpdateCallback{Callback: c.Callback, At: &c.At})
	case *SetPriority:
		return 0, t.updateCallback(x, by, &UpdateCallback{Callback: c.Callback, Priority: &c.Priority})
	case *TransferCallback:
		return 0, t.updateCallback(x, by, &UpdateCallback{Callback: c.Callback, Queue: &c.Queue})
	case *PutAPIKey, *RevokeAPIKey:
		return 0, t.apiKey(x, by, c)
	case *SetQueueMembers:
		return 0, t.setQueueMembers(x, by, c)
	}
	return 0, invalid("kind", "unknown command %T", cmd)
}

// Domains.

func validName(field, name string, maxLen int) error {
	n := utf8.RuneCountInString(name)
	switch {
	case strings.TrimSpace(name) == "":
		return invalid(field, "must not be empty")
	case n > maxLen:
		return invalid(field, "must be at most %d characters, got %d", maxLen, n)
	case !utf8.ValidString(name):
		return invalid(field, "must be valid UTF-8")
	}
	return nil
}

func (t *Tenant) siblingNamed(parent DomainID, name string, except DomainID) bool {
	for _, n := range t.Domains {
		if n.Parent == parent && n.ID != except && strings.EqualFold(n.Name, name) {
			return true
		}
	}
	return false
}

// administer: by may administer domain d, or with d 0 the tenant-wide
// objects (access groups, unassigned codes). A refusal names field, the
// same field a nonexistent object is reported under, so that an invisible
// object answers exactly like a missing one. Tenant-wide objects are seen
// by everyone and reach every domain, so only an administrator whose role
// covers Home (or all domains) changes them: one scoped to a division
// manages that division's objects, never what the whole company shares.
func (t *Tenant) administer(by Principal, d DomainID, field string) error {
	if d != 0 {
		return named(t.Allowed(by, ActAdminister, []DomainID{d}, 0), field)
	}
	if err := t.Allowed(by, ActAdminister, nil, 0); err != nil {
		return named(err, field)
	}
	if !t.may(by, ActAdminister, []DomainID{HomeDomain}) {
		return refuse(ErrForbidden, "role", "only an administrator whose role covers Home or all domains may change what every domain shares")
	}
	return nil
}

func (t *Tenant) createDomain(x *opCtx, by Principal, c *CreateDomain) (uint64, error) {
	if t.Domains[c.Parent] == nil {
		return 0, notFound("parentId")
	}
	if err := t.administer(by, c.Parent, "parentId"); err != nil {
		return 0, err
	}
	if err := validName("name", c.Name, MaxDomainNameLen); err != nil {
		return 0, err
	}
	if len(t.Domains) >= t.Limits.MaxDomains {
		return 0, refuse(ErrLimit, "limits.maxDomains", "the tenant may have at most %d domains", t.Limits.MaxDomains)
	}
	if t.siblingNamed(c.Parent, c.Name, 0) {
		return 0, refuse(ErrConflict, "name", "a sibling domain is already named %q", c.Name)
	}
	t.Next.Domain++
	id := t.Next.Domain
	t.addDomain(x, &DomainNode{ID: id, Name: c.Name, Parent: c.Parent})
	return uint64(id), nil
}

func (t *Tenant) addDomain(x *opCtx, n *DomainNode) {
	t.Domains[n.ID] = n
	t.setDomain(n.ID, newDomain(t.ID, n.ID))
	t.configure(x, n.ID)
	t.emit(x, Event{Kind: EvDomainCreated, Domain: n.ID, Object: uint64(n.Parent)})
}

func (t *Tenant) renameDomain(x *opCtx, by Principal, c *RenameDomain) error {
	n := t.Domains[c.Domain]
	if n == nil {
		return notFound("domainId")
	}
	if err := t.administer(by, c.Domain, "domainId"); err != nil {
		return err
	}
	if err := validName("name", c.Name, MaxDomainNameLen); err != nil {
		return err
	}
	if t.siblingNamed(n.Parent, c.Name, n.ID) {
		return refuse(ErrConflict, "name", "a sibling domain is already named %q", c.Name)
	}
	n.Name = c.Name
	t.emit(x, Event{Kind: EvDomainRenamed, Domain: n.ID})
	return nil
}

func (t *Tenant) deleteDomain(x *opCtx, by Principal, c *DeleteDomain) error {
	n := t.Domains[c.Domain]
	if n == nil {
		return notFound("domainId")
	}
	if err := t.administer(by, c.Domain, "domainId"); err != nil {
		return err
	}
	if n.ID == HomeDomain {
		return refuse(ErrConflict, "domainId", "the Home domain cannot be deleted; it can be renamed")
	}
	if what := t.domainUse(n.ID); what != "" {
		return refuse(ErrConflict, "domainId", "the domain is not empty: it still holds %s", what)
	}
	delete(t.Domains, n.ID)
	t.setDomain(n.ID, nil)
	for _, u := range t.Users {
		for i := range u.Grants {
			u.Grants[i].Scope.Domains = slices.DeleteFunc(u.Grants[i].Scope.Domains, func(d DomainID) bool { return d == n.ID })
		}
	}
	t.emit(x, Event{Kind: EvDomainDeleted, Domain: n.ID})
	return nil
}

// domainUse names the first kind of object still in the domain, or "".
func (t *Tenant) domainUse(d DomainID) string {
	for _, n := range t.Domains {
		if n.Parent == d {
			return "child domains"
		}
	}
	for _, u := range t.Users {
		if u.Home == d || slices.ContainsFunc(u.Positions, func(p Position) bool { return p.Domain == d }) {
			return "users or positions"
		}
	}
	for _, q := range t.Queues {
		if q.Domain == d {
			return "queues"
		}
	}
	for _, a := range t.Apps {
		if a.Domain == d {
			return "applications"
		}
	}
	for _, f := range t.Folders {
		if f.Domain == d {
			return "folders"
		}
	}
	for _, c := range t.Codes {
		if c.Domain == d {
			return "codes"
		}
	}
	for range t.domain(d).callbacks() {
		return "callbacks"
	}
	return ""
}

// Users.

func (t *Tenant) validGrants(grants []Grant) error {
	if len(grants) == 0 {
		return invalid("grants", "a user needs at least one role")
	}
	for i, g := range grants {
		if g.Role < RoleAgent || g.Role > RoleAdministrator {
			return invalid(fieldIndex("grants", i, "role"), "unknown role")
		}
		if !g.Scope.All && len(g.Scope.Domains) == 0 {
			return invalid(fieldIndex("grants", i, "scope"), "name domains or all")
		}
		for _, d := range g.Scope.Domains {
			if t.Domains[d] == nil {
				return notFound(fieldIndex("grants", i, "scope.domains"))
			}
		}
	}
	return nil
}

// grantsWithin refuses to hand out more than the granting principal holds:
// every scoped domain must be administrable by them.
func (t *Tenant) grantsWithin(by Principal, grants []Grant) error {
	for i, g := range grants {
		if g.Scope.All {
			if err := t.administer(by, 0, "domainId"); err != nil || !t.holdsAll(by) {
				return refuse(ErrForbidden, fieldIndex("grants", i, "scope"), "only an administrator of all domains may grant all domains")
			}
			continue
		}
		for _, d := range g.Scope.Domains {
			if err := t.administer(by, d, fieldIndex("grants", i, "scope.domains")); err != nil {
				return err
			}
		}
	}
	return nil
}

func (t *Tenant) holdsAll(by Principal) bool {
	if by.Kind == PrincipalSystem {
		return true
	}
	u := t.Users[by.User]
	return u != nil && slices.ContainsFunc(u.Grants, func(g Grant) bool { return g.Role == RoleAdministrator && g.Scope.All })
}

func (t *Tenant) validPositions(ps []Position, ms []Membership, groups []GroupID) error {
	for i, p := range ps {
		if t.Domains[p.Domain] == nil {
			return notFound(fieldIndex("positions", i, "domain"))
		}
		if err := validName(fieldIndex("positions", i, "name"), p.Name, maxNameLen); err != nil {
			return err
		}
	}
	seen := map[QueueID]bool{}
	for i, m := range ms {
		if t.Queues[m.Queue] == nil {
			return notFound(fieldIndex("memberships", i, "queue"))
		}
		if seen[m.Queue] {
			return invalid(fieldIndex("memberships", i, "queue"), "listed twice")
		}
		seen[m.Queue] = true
		if m.Tier < 1 || m.Tier > 10 {
			return invalid(fieldIndex("memberships", i, "tier"), "must be between 1 and 10, got %d", m.Tier)
		}
	}
	for i, g := range groups {
		if t.Groups[g] == nil {
			return notFound(fieldIndex("groups", i, ""))
		}
	}
	return nil
}

func (t *Tenant) createUser(x *opCtx, by Principal, c *CreateUser) (uint64, error) {
	if t.Domains[c.Home] == nil {
		return 0, notFound("home")
	}
	if err := t.administer(by, c.Home, "home"); err != nil {
		return 0, err
	}
	if err := validName("name", c.Name, maxNameLen); err != nil {
		return 0, err
	}
	if err := t.validGrants(c.Grants); err != nil {
		return 0, err
	}
	if err := t.grantsWithin(by, c.Grants); err != nil {
		return 0, err
	}
	if err := t.validPositions(c.Positions, c.Memberships, c.Groups); err != nil {
		return 0, err
	}
	if _, taken := t.byName[foldName(c.Name)]; taken {
		return 0, refuse(ErrConflict, "name", "a user is already named %q", c.Name)
	}
	if len(c.FullName) > maxNameLen {
		return 0, invalid("fullName", "must be at most %d characters", maxNameLen)
	}
	u := &User{Name: c.Name, FullName: c.FullName, Home: c.Home, Grants: slices.Clone(c.Grants), Groups: slices.Clone(c.Groups),
		Positions: slices.Clone(c.Positions), Memberships: slices.Clone(c.Memberships)}
	if u.isAgent() {
		if t.agents >= t.Limits.MaxAgents {
			return 0, refuse(ErrLimit, "limits.maxAgents", "the tenant may have at most %d agents", t.Limits.MaxAgents)
		}
		if len(u.Positions) == 0 {
			u.Positions = []Position{{Name: "default", Domain: c.Home}}
		}
	}
	t.Next.User++
	u.ID = t.Next.User
	t.setUser(u.ID, u)
	t.emit(x, Event{Kind: EvUserCreated, Agent: u.ID, Domain: u.Home})
	if len(u.Positions) > 0 {
		u.Presence = Offline
		t.attach(x, u, &Agent{ID: u.ID, Presence: Offline, Since: x.now, Slots: u.slots()})
	}
	return uint64(u.ID), nil
}

func (u *User) slots() []Slot {
	s := make([]Slot, len(u.Memberships))
	for i, m := range u.Memberships {
		s[i] = Slot{Queue: m.Queue, Tier: int32(m.Tier), idx: -1}
	}
	return s
}

func (t *Tenant) attach(x *opCtx, u *User, a *Agent) {
	op := t.newOp(opAttach, x)
	op.agent = a
	t.call(u.activeDomain(), op)
}

func (t *Tenant) detach(x *opCtx, u *User, onlyIdle bool) *Agent {
	op := t.newOp(opDetach, x)
	op.user, op.onlyIdle = u.ID, onlyIdle
	return t.call(u.activeDomain(), op).agent
}

func (t *Tenant) user(by Principal, id UserID, act Action) (*User, error) {
	u := t.Users[id]
	if u == nil {
		return nil, notFound("userId")
	}
	if err := t.Allowed(by, act, []DomainID{u.Home}, 0); err != nil {
		return nil, named(err, "userId")
	}
	return u, nil
}

func (t *Tenant) updateUser(x *opCtx, by Principal, c *UpdateUser) error {
	u, err := t.user(by, c.User, ActAdminister)
	if err != nil {
		return err
	}
	grants, groups, positions, memberships := u.Grants, u.Groups, u.Positions, u.Memberships
	if c.Grants != nil {
		grants = *c.Grants
		if err := t.validGrants(grants); err != nil {
			return err
		}
		if err := t.grantsWithin(by, grants); err != nil {
			return err
		}
	}
	if c.Groups != nil {
		groups = *c.Groups
	}
	if c.Positions != nil {
		positions = *c.Positions
		if u.Presence != Offline && u.Presence != 0 {
			return refuse(ErrConflict, "positions", "positions change only while the agent is offline, the agent is %s", u.Presence)
		}
	}
	if c.Memberships != nil {
		memberships = *c.Memberships
	}
	if err := t.validPositions(positions, memberships, groups); err != nil {
		return err
	}
	wasAgent := u.isAgent()
	next := &User{Grants: grants}
	if !wasAgent && next.isAgent() && t.agents >= t.Limits.MaxAgents {
		return refuse(ErrLimit, "limits.maxAgents", "the tenant may have at most %d agents", t.Limits.MaxAgents)
	}
	if next.isAgent() && len(positions) == 0 {
		return invalid("positions", "an agent needs at least one position")
	}
	// Valid: apply.
	var a *Agent
	if len(u.Positions) > 0 && c.Positions != nil {
		a = t.detach(x, u, false)
	}
	u.Grants, u.Groups = slices.Clone(grants), slices.Clone(groups)
	switch isAgent := u.isAgent(); {
	case isAgent && !wasAgent:
		t.agents++
	case wasAgent && !isAgent:
		t.agents--
	}
	if c.Positions != nil {
		u.Positions, u.Active = slices.Clone(positions), 0
	}
	u.Memberships = slices.Clone(memberships)
	switch {
	case c.Positions != nil && len(u.Positions) > 0:
		if a == nil {
			a = &Agent{ID: u.ID, Presence: Offline, Since: x.now}
			u.Presence = Offline
		}
		a.Slots = u.slots()
		t.attach(x, u, a)
	case c.Memberships != nil && len(u.Positions) > 0:
		op := t.newOp(opMemberships, x)
		op.user, op.memberships = u.ID, u.slots()
		t.call(u.activeDomain(), op)
	}
	t.emit(x, Event{Kind: EvUserUpdated, Agent: u.ID})
	return nil
}

func (t *Tenant) deleteUser(x *opCtx, by Principal, c *DeleteUser) error {
	u, err := t.user(by, c.User, ActAdminister)
	if err != nil {
		return err
	}
	if u.Presence != Offline && u.Presence != 0 {
		return refuse(ErrConflict, "userId", "only an offline user can be deleted, the agent is %s", u.Presence)
	}
	if len(u.Positions) > 0 {
		t.detach(x, u, false)
	}
	t.setUser(u.ID, nil)
	t.dropKeys(AsUser(u.ID))
	t.emit(x, Event{Kind: EvUserDeleted, Agent: u.ID})
	return nil
}

// dropKeys removes every API key of a principal.
func (t *Tenant) dropKeys(p Principal) {
	for _, h := range sortedKeys(t.APIKeys) {
		if t.APIKeys[h] == p {
			delete(t.APIKeys, h)
		}
	}
}

// Presence and positions.

func (t *Tenant) agent(by Principal, id UserID) (*User, error) {
	u := t.Users[id]
	if u == nil || len(u.Positions) == 0 {
		return nil, notFound("agentId")
	}
	if by.Kind == PrincipalUser && by.User == id {
		return u, nil
	}
	if err := t.Allowed(by, ActSetPresence, []DomainID{u.activeDomain()}, 0); err != nil {
		return nil, named(err, "agentId")
	}
	return u, nil
}

func (t *Tenant) setPresence(x *opCtx, by Principal, c *SetPresence) error {
	u, err := t.agent(by, c.Agent)
	if err != nil {
		return err
	}
	if c.Presence < Offline || c.Presence > Away {
		return invalid("presence", "unknown presence")
	}
	if c.Presence == Away && c.Reason != "" && !t.awayReasonKnown(u, c.Reason) {
		return notFound("reason")
	}
	op := t.newOp(opPresence, x)
	op.user, op.presence, op.reason = u.ID, c.Presence, c.Reason
	return t.call(u.activeDomain(), op).err
}

// awayReasonKnown: the reason is the tenant's not-responding reason, or an
// away reason the agent can see (unassigned, or in a domain they cover).
func (t *Tenant) awayReasonKnown(u *User, reason string) bool {
	if reason == t.Policy.NotRespondingAway {
		return true
	}
	for _, c := range t.Codes {
		if c.Kind == AwayReason && c.Name == reason && (c.Domain == 0 || t.userCovers(u, c.Domain)) {
			return true
		}
	}
	return false
}

func (t *Tenant) switchPosition(x *opCtx, by Principal, c *SwitchPosition) error {
	u, err := t.agent(by, c.Agent)
	if err != nil {
		return err
	}
	to, err := positionOf(u, c)
	if err != nil {
		return err
	}
	if u.Presence == Reserved || u.Presence == Busy {
		return refuse(ErrConflict, "position", "the agent is %s; finish the callback first", u.Presence)
	}
	if to == u.Active {
		return nil
	}
	t.moveAgent(x, u, to, false)
	return nil
}

// positionOf finds the position a SwitchPosition names: by domain (and
// name), or by index.
func positionOf(u *User, c *SwitchPosition) (int, error) {
	if c.Domain == 0 {
		if c.Position < 0 || c.Position >= len(u.Positions) {
			return 0, invalid("position", "the agent has positions 0 to %d", len(u.Positions)-1)
		}
		return c.Position, nil
	}
	found, n := -1, 0
	for i, p := range u.Positions {
		if p.Domain == c.Domain && (c.Name == "" || p.Name == c.Name) {
			if found < 0 {
				found = i
			}
			n++
		}
	}
	switch {
	case n == 0 && c.Name != "":
		return 0, invalid("name", "the agent has no position %q in domain %d", c.Name, c.Domain)
	case n == 0:
		return 0, invalid("domain", "the agent has no position in domain %d", c.Domain)
	case n > 1:
		return 0, invalid("name", "the agent has %d positions in domain %d; name one", n, c.Domain)
	}
	return found, nil
}

// moveAgent makes another position active, carrying the agent's routing
// state from the old domain to the new one.
func (t *Tenant) moveAgent(x *opCtx, u *User, to int, automatic bool) bool {
	a := t.detach(x, u, automatic)
	if a == nil {
		return false
	}
	from := u.Active
	u.Active = to
	t.emit(x, Event{Kind: EvPositionSwitched, Domain: u.activeDomain(), Agent: u.ID, FromPosition: int32(from), ToPosition: int32(to), Switched: automatic})
	if automatic {
		a.switched = &Event{FromPosition: int32(from), ToPosition: int32(to)}
	}
	t.attach(x, u, a)
	return true
}

// mirrorPresence keeps the tenant's view of agent presence in step with
// the events its domains emitted.
func (t *Tenant) mirrorPresence(events []Event, from int) {
	var u *User // the last user looked up: an agent's events come together
	for i := from; i < len(events); i++ {
		e := &events[i]
		var p Presence
		switch e.Kind {
		case EvPresenceChanged:
			p = e.Presence
		case EvCallbackOffered:
			p = Reserved
		default:
			continue
		}
		if u == nil || u.ID != e.Agent {
			if u = t.userByID(e.Agent); u == nil {
				continue
			}
		}
		u.Presence = p
	}
}

// autoSwitch, for tenants that allow it, moves available agents to another
// of their positions where callbacks wait with no agent of that domain.
// It looks at the domains this command touched and at the other position
// domains of agents that became available, and takes candidate agents in
// user order; each switch is in the offered event.
func (t *Tenant) autoSwitch(x *opCtx, start int) {
	var look []DomainID
	for _, e := range (*x.events)[start:] {
		switch e.Kind {
		case EvCallbackQueued:
			look = append(look, e.Domain)
		case EvPresenceChanged:
			if u := t.Users[e.Agent]; u != nil && e.Presence == Available && len(u.Positions) > 1 {
				for _, p := range u.Positions {
					look = append(look, p.Domain)
				}
			}
		}
	}
	slices.Sort(look)
	look = slices.Compact(look)
	users := sortedKeys(t.Users)
	for _, did := range look {
		if t.domain(did) == nil {
			continue
		}
		op := t.newOp(opStranded, x)
		stranded := slices.Clone(t.call(did, op).stranded)
		for _, q := range stranded {
			for _, uid := range users {
				u := t.Users[uid]
				if u.Presence != Available || u.activeDomain() == did || !slices.ContainsFunc(u.Memberships, func(m Membership) bool { return m.Queue == q }) {
					continue
				}
				to := slices.IndexFunc(u.Positions, func(p Position) bool { return p.Domain == did })
				if to < 0 || !t.moveAgent(x, u, to, true) {
					continue
				}
				t.mirrorPresence(*x.events, start)
				op := t.newOp(opStranded, x)
				op.only = []QueueID{q}
				if len(t.call(did, op).stranded) == 0 {
					break
				}
			}
		}
	}
	t.mirrorPresence(*x.events, start)
}

// Callbacks.

func (t *Tenant) createCallback(x *opCtx, by Principal, c *CreateCallback) (uint64, error) {
	if c.IdempotencyKey != "" {
		if prev, ok := t.Idempotency[c.IdempotencyKey]; ok && x.now-prev.At < int64(idempotencyWindow) {
			if prev.Hash != c.RequestHash {
				return 0, invalid("Idempotency-Key", "the key was first used with a different request")
			}
			return uint64(prev.Callback), nil
		}
	}
	q := t.Queues[c.Queue]
	if q == nil {
		return 0, notFound("queueId")
	}
	dom := c.Domain
	if by.Kind == PrincipalApp {
		if app := t.Apps[by.App]; app != nil {
			if dom != 0 && dom != app.Domain {
				return 0, invalid("domain", "a channel application creates callbacks only in its own domain")
			}
			dom = app.Domain
		}
	} else if dom == 0 {
		dom = q.Domain
	}
	if t.Domains[dom] == nil {
		return 0, notFound("domain")
	}
	if !t.queueServes(q.ID, dom) {
		return 0, notFound("queueId")
	}
	if err := t.Allowed(by, ActCreateCallback, []DomainID{dom}, q.ID); err != nil {
		return 0, named(err, "queueId")
	}
	if err := validName("customerName", c.CustomerName, maxNameLen); err != nil {
		return 0, err
	}
	if len(c.Numbers) == 0 || len(c.Numbers) > maxNumbers {
		return 0, invalid("numbers", "give 1 to %d numbers", maxNumbers)
	}
	bytes := int64(callbackOverhead + len(c.CustomerName))
	for i, n := range c.Numbers {
		if !validNumber(n) {
			return 0, invalid(fieldIndex("numbers", i, ""), "must be a phone number of digits, optionally starting with +, at most %d characters", maxNumberLen)
		}
		bytes += int64(len(n))
	}
	if c.Priority < 0 || c.Priority > maxPriority {
		return 0, invalid("priority", "must be between 0 and %d", maxPriority)
	}
	if len(c.Data) > maxDataEntries {
		return 0, invalid("data", "at most %d entries", maxDataEntries)
	}
	for _, k := range sortedKeys(c.Data) {
		if len(k) == 0 || len(k)+len(c.Data[k]) > maxDataLen {
			return 0, invalid("data."+k, "keys must be non-empty and key plus value at most %d bytes", maxDataLen)
		}
		bytes += int64(len(k) + len(c.Data[k]))
	}
	due := x.now
	if !c.ScheduledAt.IsZero() {
		if c.ScheduledAt.UnixNano() > x.now {
			if !t.Features[FeatureScheduledCallbacks] {
				return 0, refuse(ErrFeatureDisabled, "callbackScheduledTime", "scheduled callbacks are not enabled for this tenant")
			}
			due = c.ScheduledAt.UnixNano()
		}
	}
	indexed := t.Policy.Duplicates == DuplicateReject
	if indexed {
		for i, n := range c.Numbers {
			if prev, ok := t.ActiveNumbers.get(q.ID, n); ok {
				return 0, refuse(ErrDuplicate, fieldIndex("numbers", i, ""), "callback %d for this number is already active in this queue", prev)
			}
		}
	}
	forget := t.StorageUsed+bytes > t.Limits.StorageQuotaBytes // the records past retention make room first
	if forget && t.StorageUsed-t.forget(x.now, false)+bytes > t.Limits.StorageQuotaBytes {
		return 0, refuse(ErrQuota, "limits.storageQuotaBytes", "storing %d more bytes would exceed the quota of %d bytes (%d used)", bytes, t.Limits.StorageQuotaBytes, t.StorageUsed)
	}
	if t.Next.Callback >= maxCallbacks {
		return 0, refuse(ErrLimit, "callbacks", "a tenant creates at most %d callbacks in its life", uint64(maxCallbacks))
	}
	// Valid: apply.
	if forget {
		t.forget(x.now, true)
	}
	t.Next.Callback++
	cb := &Callback{
		ID: t.Next.Callback, Seq: uint64(t.Next.Callback), Queue: q.ID, Domains: []DomainID{dom},
		Priority: int32(c.Priority), Created: x.now, Due: due, CustomerName: c.CustomerName,
		Numbers: slices.Clone(c.Numbers), Bytes: int32(bytes),
	}
	if len(c.Data) > 0 {
		data := make(map[string]string, len(c.Data))
		for k, v := range c.Data {
			data[k] = v
		}
		cb.CallbackRecord = &CallbackRecord{Data: data}
	}
	if t.Policy.CallbackTTL > 0 {
		cb.Expires = due + int64(t.Policy.CallbackTTL)
	}
	t.StorageUsed += bytes
	t.setCallbackDomain(cb, dom)
	for _, n := range cb.Numbers {
		if indexed {
			t.ActiveNumbers.put(q.ID, n, cb.ID)
		}
	}
	if c.IdempotencyKey != "" {
		t.Idempotency[c.IdempotencyKey] = idempotent{Callback: cb.ID, At: x.now, Hash: c.RequestHash}
		t.IdemOrder = append(t.IdemOrder, idempotencyEntry{Key: c.IdempotencyKey, At: x.now})
	}
	t.emit(x, Event{Kind: EvCallbackCreated, Domain: dom, Queue: q.ID, Callback: cb.ID})
	op := t.newOp(opAddCallback, x)
	op.callback = cb
	t.call(dom, op)
	return uint64(cb.ID), nil
}

func validNumber(n string) bool {
	if len(n) < 2 || len(n) > maxNumberLen {
		return false
	}
	for i, r := range n {
		if !(r >= '0' && r <= '9') && !(i == 0 && r == '+') {
			return false
		}
	}
	return true
}

// callbackCommand forwards an action on one callback to its domain.
func (t *Tenant) callbackCommand(x *opCtx, by Principal, cmd TenantCommand) error {
	op := t.newOp(opCallback, x)
	op.x.guard = guard{t: t, p: by, act: ActManageCallback}
	switch c := cmd.(type) {
	case *CancelCallback:
		op.id, op.action = c.Callback, actCancel
	case *AcceptOffer:
		op.id, op.action, op.offer = c.Callback, actAccept, c.Offer
	case *RejectOffer:
		op.id, op.action, op.offer = c.Callback, actReject, c.Offer
	case *CompleteCallback:
		op.id, op.action, op.code2, op.reason = c.Callback, actComplete, c.Disposition, c.Comment
	case *FailAttempt:
		op.id, op.action, op.reason = c.Callback, actFail, c.Reason
	}
	if op.action >= actAccept && op.action <= actFail {
		op.x.guard.act = ActHandleCallback
		if by.Kind != PrincipalUser {
			return refuse(ErrForbidden, "callbackId", "only the offered agent handles a callback")
		}
		op.user = by.User
	}
	if op.action == actComplete {
		if err := t.validDisposition(by, op.code2); err != nil {
			return err
		}
		if len(op.reason) > maxDataLen {
			return invalid("comment", "at most %d bytes", maxDataLen)
		}
	}
	did, ok := t.callbackDomain(op.id)
	if !ok {
		return notFound("callbackId")
	}
	r := t.call(did, op)
	if r.err != nil {
		return r.err
	}
	if r.callback.Status.Terminal() {
		t.release(r.callback)
	}
	return nil
}

func (t *Tenant) validDisposition(by Principal, id CodeID) error {
	code := t.Codes[id]
	if code == nil || code.Kind != WrapUpCode {
		return notFound("disposition")
	}
	if code.Domain != 0 && !t.sees(by, []DomainID{code.Domain}, 0) {
		return notFound("disposition")
	}
	return nil
}

// indexNumbers makes ActiveNumbers agree with the duplicate policy: it is
// kept only while duplicates are rejected (nobody reads it otherwise, and
// it is an entry per number of every waiting callback). When rejection is
// turned on it is rebuilt from the active callbacks, in domain and then
// callback order, so a number held by several (created while duplicates
// were allowed) maps to the newest.
func (t *Tenant) indexNumbers(x *opCtx) {
	t.ActiveNumbers = numberIndex{}
	if t.Policy.Duplicates != DuplicateReject {
		return
	}
	for _, did := range sortedKeys(t.routing) {
		for _, c := range t.call(did, t.newOp(opActive, x)).callbacks {
			for _, n := range c.Numbers {
				t.ActiveNumbers.put(c.Queue, n, c.ID)
			}
		}
	}
}

// release frees what only active callbacks hold: their numbers for the
// duplicate check. Their data stays, counted in storage, until the tenant
// is deleted.
func (t *Tenant) release(c *Callback) {
	for _, n := range c.Numbers {
		t.ActiveNumbers.release(c.Queue, n, c.ID)
	}
}

// updateCallback changes a waiting callback's time, priority and queue:
// every check comes first, so that a refusal changes nothing.
func (t *Tenant) updateCallback(x *opCtx, by Principal, c *UpdateCallback) error {
	var u callbackUpdate
	changes := 0
	if c.At != nil {
		if !t.Features[FeatureScheduledCallbacks] {
			return refuse(ErrFeatureDisabled, "callbackScheduledTime", "scheduled callbacks are not enabled for this tenant")
		}
		if c.At.IsZero() {
			return invalid("callbackScheduledTime", "is required")
		}
		u.due, u.refusal, changes = max(c.At.UnixNano(), x.now), "only a waiting callback can be rescheduled", changes+1
	}
	if c.Priority != nil {
		if *c.Priority < 0 || *c.Priority > maxPriority {
			return invalid("priority", "must be between 0 and %d", maxPriority)
		}
		u.priority, u.setPriority = int32(*c.Priority), true
		u.refusal, changes = "only a waiting callback's priority can change", changes+1
	}
	if c.Queue != nil {
		if !t.Features[FeatureTransfers] {
			return refuse(ErrFeatureDisabled, "queueId", "transfers are not enabled for this tenant")
		}
		u.leave, u.refusal, changes = true, "only a waiting callback can be transferred", changes+1
	}
	switch changes {
	case 0:
		return invalid("callback", "names no change")
	case 1:
	default:
		u.refusal = "only a waiting callback can be changed"
	}
	did, ok := t.callbackDomain(c.Callback)
	if !ok {
		return notFound("callbackId")
	}
	var q *Queue
	if c.Queue != nil {
		q = t.Queues[*c.Queue]
		if q == nil || !t.sees(by, []DomainID{q.Domain}, q.ID) {
			return notFound("queueId")
		}
		if err := t.Allowed(by, ActManageCallback, []DomainID{q.Domain}, q.ID); err != nil {
			return named(err, "queueId")
		}
	}
	op := t.newOp(opUpdateCallback, x)
	op.id, op.update = c.Callback, &u
	op.x.guard = guard{t: t, p: by, act: ActManageCallback}
	r := t.call(did, op)
	if r.err != nil || q == nil {
		return r.err
	}
	t.transfer(x, r.callback, q)
	return nil
}

// transfer moves a callback its domain let go of (opUpdateCallback) to
// queue q, in q's domain, which the callback collects.
func (t *Tenant) transfer(x *opCtx, cb *Callback, q *Queue) {
	t.release(cb)
	from := cb.Queue
	cb.Queue = q.ID
	if !slices.Contains(cb.Domains, q.Domain) {
		cb.Domains = append(cb.Domains, q.Domain)
	}
	t.setCallbackDomain(cb, q.Domain)
	if t.Policy.Duplicates == DuplicateReject {
		for _, n := range cb.Numbers {
			t.ActiveNumbers.put(q.ID, n, cb.ID)
		}
	}
	t.emit(x, Event{Kind: EvCallbackTransferred, Domain: q.Domain, Queue: q.ID, Callback: cb.ID, Object: uint64(from)})
	add := t.newOp(opAddCallback, x)
	add.callback = cb
	t.call(q.Domain, add)
}

func (t *Tenant) tick(x *opCtx) {
	t.expireIdempotency(x.now)
	t.forget(x.now, true)
	start := len(*x.events)
	for _, d := range t.doms { // in identifier order, like the routing map's sorted keys
		if d == nil || d.nextDeadline() == 0 || d.nextDeadline() > x.now {
			continue
		}
		t.call(d.ID, t.newOp(opTick, x))
	}
	t.mirrorPresence(*x.events, start) // timeouts, wrap-up ends and offers change presence too
	if t.Policy.AutoSwitchPosition {
		t.autoSwitch(x, start) // a callback that became due may need an agent of another position
	}
	for _, e := range (*x.events)[start:] {
		if e.Kind == EvCallbackExpired || e.Kind == EvCallbackFailed {
			if did, ok := t.callbackDomain(e.Callback); ok {
				if c := t.domain(did).callback(e.Callback); c != nil {
					t.release(c)
				}
			}
		}
	}
}

// forget forgets, oldest first, the finished callbacks created longer
// than the tenant's record retention ago, and returns the bytes that
// frees; with apply false it only counts them. It stops at the first
// callback still kept (one still active holds back those after it, for
// at most its time to live), so a call costs what it forgets, or when
// counting, what it could.
func (t *Tenant) forget(now int64, apply bool) (freed int64) {
	keep := int64(t.Policy.RecordRetention)
	if keep == 0 {
		return 0
	}
	id := t.Forgotten + 1
	for ; id <= CallbackID(t.Callbacks.Len()); id++ {
		s := t.Callbacks.at(id)
		if c := s.c; c != nil {
			if !c.Status.Terminal() || now-c.Created < keep {
				break
			}
			freed += int64(c.Bytes)
			if apply {
				*s = callbackSlot{heapIdx: -1}
			}
		}
	}
	if apply {
		t.Forgotten = id - 1
		t.StorageUsed -= freed
		t.Callbacks.forgotten(t.Forgotten)
	}
	return freed
}

// expireIdempotency forgets idempotency keys older than the window.
func (t *Tenant) expireIdempotency(now int64) {
	t.IdemOrder = expireKeys(t.Idempotency, t.IdemOrder, now, func(i idempotent) int64 { return i.At })
}

// expireKeys forgets the keys of m older than the window, going through
// order (oldest first), and returns what is left of order. A key used
// again since its entry keeps the newer use.
func expireKeys[V any](m map[string]V, order []idempotencyEntry, now int64, at func(V) int64) []idempotencyEntry {
	n := 0
	for _, e := range order {
		if now-e.At < int64(idempotencyWindow) {
			break
		}
		if v, ok := m[e.Key]; ok && at(v) == e.At {
			delete(m, e.Key)
		}
		n++
	}
	return order[n:]
}

// nextDeadline is the tenant's earliest pending deadline, or 0.
func (t *Tenant) nextDeadline() int64 {
	var next int64
	for _, d := range t.doms {
		if d == nil {
			continue
		}
		if n := d.nextDeadline(); n != 0 && (next == 0 || n < next) {
			next = n
		}
	}
	return next
}

func (t *Tenant) setQueueMembers(x *opCtx, by Principal, c *SetQueueMembers) error {
	q := t.Queues[c.Queue]
	if q == nil {
		return notFound("queueId")
	}
	if err := t.administer(by, q.Domain, "queueId"); err != nil {
		return err
	}
	tiers := map[UserID]int{}
	for i, m := range c.Members {
		u := t.Users[m.Agent]
		if u == nil || !u.isAgent() || !t.sees(by, []DomainID{u.Home}, 0) {
			return notFound(fieldIndex("members", i, "userId"))
		}
		if _, dup := tiers[m.Agent]; dup {
			return invalid(fieldIndex("members", i, "userId"), "listed twice")
		}
		if m.Tier < 1 || m.Tier > 10 {
			return invalid(fieldIndex("members", i, "tier"), "must be between 1 and 10, got %d", m.Tier)
		}
		tiers[m.Agent] = m.Tier
	}
	for _, uid := range sortedKeys(t.Users) {
		u := t.Users[uid]
		was := slices.IndexFunc(u.Memberships, func(m Membership) bool { return m.Queue == q.ID })
		tier, now := tiers[uid]
		next := slices.Clone(u.Memberships)
		switch {
		case was >= 0 && !now:
			next = slices.Delete(next, was, was+1)
		case was >= 0 && now && next[was].Tier != tier:
			next[was].Tier = tier
		case was < 0 && now:
			next = append(next, Membership{Queue: q.ID, Tier: tier})
		default:
			continue
		}
		t.setMemberships(x, u, next)
	}
	t.emit(x, Event{Kind: EvObjectUpdated, Domain: q.Domain, Queue: q.ID, Object: uint64(q.ID)})
	return nil
}

// setMemberships replaces a user's queue memberships, and the slots their
// agent holds in the domain of their active position.
func (t *Tenant) setMemberships(x *opCtx, u *User, ms []Membership) {
	u.Memberships = ms
	if len(u.Positions) > 0 {
		op := t.newOp(opMemberships, x)
		op.user, op.memberships = u.ID, u.slots()
		t.call(u.activeDomain(), op)
	}
}

// validKeyHash checks the stored form of an API key (field names it).
func validKeyHash(h, field string) error {
	if len(h) < 16 || len(h) > 128 {
		return invalid(field, "must be 16 to 128 characters")
	}
	return nil
}

func (t *Tenant) apiKey(x *opCtx, by Principal, cmd TenantCommand) error {
	switch c := cmd.(type) {
	case *PutAPIKey:
		if err := t.keyIssuer(by); err != nil {
			return err
		}
		if err := validKeyHash(c.Hash, "hash"); err != nil {
			return err
		}
		if err := t.mayKeyFor(by, c.For, "for"); err != nil {
			return err
		}
		t.APIKeys[c.Hash] = c.For
	case *RevokeAPIKey:
		hash := c.Hash
		owner, ok := t.APIKeys[hash]
		if !ok && c.LegacyHash != "" {
			hash = c.LegacyHash
			owner, ok = t.APIKeys[hash]
		}
		if !ok {
			return notFound("hash")
		}
		// Anyone may revoke their own key; other keys, whoever could have
		// issued them.
		if owner != by {
			if err := t.keyIssuer(by); err != nil {
				return named(err, "hash")
			}
			if err := t.mayKeyFor(by, owner, "hash"); err != nil {
				return err
			}
		}
		delete(t.APIKeys, hash)
	}
	t.emit(x, Event{Kind: EvAPIKeyChanged})
	return nil
}

// keyIssuer: keys are issued by administrators of all domains and, with
// the developer API, by developers.
func (t *Tenant) keyIssuer(by Principal) error {
	if t.holdsAll(by) {
		return nil
	}
	return t.Allowed(by, ActDeveloper, nil, 0)
}

// mayKeyFor: a key for someone else acts as them, so the issuer must
// administer their home domain (an application's domain) and hold every
// grant they have.
func (t *Tenant) mayKeyFor(by, forP Principal, field string) error {
	switch forP.Kind {
	case PrincipalUser:
		u := t.Users[forP.User]
		if u == nil {
			return notFound(field + ".user")
		}
		if by.Kind == PrincipalUser && by.User == u.ID {
			return nil
		}
		if err := t.administer(by, u.Home, field+".user"); err != nil {
			return err
		}
		if err := t.grantsWithin(by, u.Grants); err != nil {
			return refuse(ErrForbidden, field+".user", "the user holds grants the issuer does not")
		}
	case PrincipalApp:
		a := t.Apps[forP.App]
		if a == nil {
			return notFound(field + ".app")
		}
		return t.administer(by, a.Domain, field+".app")
	default:
		return invalid(field+".kind", "an API key belongs to a user or an application")
	}
	return nil
}
