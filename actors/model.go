package actors

import "time"

// Identifiers are small integers allocated from counters in the replicated
// state, so every replica allocates the same ones. Domain, queue, user and
// the other object identifiers are unique within a tenant.
type (
	TenantID   uint32
	DomainID   uint32
	QueueID    uint32
	FolderID   uint32
	UserID     uint32
	AppID      uint32
	GroupID    uint32 // access group
	CodeID     uint32 // wrap-up code or away reason
	CallbackID uint64
	OfferID    uint64 // fencing token of one offer; never reused within a tenant
)

// HomeDomain is the identifier of every tenant's root domain.
const HomeDomain DomainID = 1

// TenantAdmin is the identifier of the administrator every tenant is
// created with.
const TenantAdmin UserID = 1

// TenantStatus says whether a tenant's users may work.
type TenantStatus uint8

const (
	TenantActive TenantStatus = iota + 1
	TenantDisabled
)

func (s TenantStatus) String() string {
	switch s {
	case TenantActive:
		return "active"
	case TenantDisabled:
		return "disabled"
	}
	return "unknown"
}

// valid refuses a status other than active or disabled.
func (s TenantStatus) valid() error {
	if s != TenantActive && s != TenantDisabled {
		return invalid("status", "must be active or disabled")
	}
	return nil
}

// Profile describes a tenant to the service provider.
type Profile struct {
	CompanyName    string `json:"companyName"`
	AdminUsername  string `json:"adminUsername"`
	AdminEmail     string `json:"adminEmail"`
	AdminFirstName string `json:"adminFirstName"`
}

// Limits are the tenant's hard limits, set by the platform operator.
type Limits struct {
	MaxAgents         int   `json:"maxAgents"`
	StorageQuotaBytes int64 `json:"storageQuotaBytes"`
	MaxDomains        int   `json:"maxDomains"`
}

// DefaultLimits are applied to zero fields of a new tenant's limits.
func DefaultLimits() Limits {
	return Limits{MaxAgents: 100, StorageQuotaBytes: 64 << 20, MaxDomains: 50}
}

// Feature names a permission the operator grants a tenant.
type Feature string

const (
	FeatureScheduledCallbacks Feature = "scheduledCallbacks"
	FeatureReportsExport      Feature = "reportsExport"
	FeatureDeveloperAPI       Feature = "developerApi"
	FeatureTransfers          Feature = "transfers"
)

// AllFeatures lists every feature, in a fixed order.
var AllFeatures = []Feature{FeatureScheduledCallbacks, FeatureReportsExport, FeatureDeveloperAPI, FeatureTransfers}

// DefaultFeatures is the feature set of a new tenant unless the operator
// says otherwise: everything except the developer API.
func DefaultFeatures() map[Feature]bool {
	return map[Feature]bool{
		FeatureScheduledCallbacks: true,
		FeatureReportsExport:      true,
		FeatureDeveloperAPI:       false,
		FeatureTransfers:          true,
	}
}

// DuplicatePolicy says what happens when a callback is requested for a number
// that already has an active callback in the same queue.
type DuplicatePolicy string

const (
	DuplicateReject DuplicatePolicy = "reject"
	DuplicateAllow  DuplicatePolicy = "allow"
)

// Policy holds a tenant's business rules.
type Policy struct {
	CloseCommentRequired bool            `json:"closeCommentRequired"`
	MaxAttempts          int             `json:"maxAttempts"`
	RetryDelay           time.Duration   `json:"retryDelay"`
	OfferTimeout         time.Duration   `json:"offerTimeout"`
	AutoSwitchPosition   bool            `json:"autoSwitchPosition"`
	Duplicates           DuplicatePolicy `json:"duplicates"`
	ServiceLevel         time.Duration   `json:"serviceLevel"`  // default threshold for queues that set none
	CallbackTTL          time.Duration   `json:"callbackTTL"`   // a waiting callback expires after this; 0 = never
	WrapUp               time.Duration   `json:"wrapUp"`        // automatic wrap-up after a completed callback
	NotRespondingAway    string          `json:"notResponding"` // away reason given on an offer timeout
	// RecordRetention is how long a finished callback's record is kept,
	// counted from its creation; then it is forgotten and its bytes no
	// longer count against the storage quota. 0 keeps records for ever.
	RecordRetention time.Duration `json:"recordRetention,omitempty"`
}

// DefaultPolicy is a new tenant's policy.
func DefaultPolicy() Policy {
	return Policy{
		MaxAttempts:       3,
		RetryDelay:        5 * time.Minute,
		OfferTimeout:      30 * time.Second,
		Duplicates:        DuplicateReject,
		ServiceLevel:      20 * time.Second,
		CallbackTTL:       24 * time.Hour,
		NotRespondingAway: "not responding",
		RecordRetention:   90 * 24 * time.Hour,
	}
}

// Bounds of Policy.RecordRetention when set: at least the idempotency
// window, so that a retried create never names a forgotten callback.
const (
	minRecordRetention = idempotencyWindow
	maxRecordRetention = 10 * 365 * 24 * time.Hour
)

func (p Policy) validate() error {
	switch {
	case p.MaxAttempts < 1 || p.MaxAttempts > 100:
		return invalid("policy.maxAttempts", "must be between 1 and 100, got %d", p.MaxAttempts)
	case p.RetryDelay < 0:
		return invalid("policy.retryDelay", "must not be negative")
	case p.OfferTimeout < time.Second || p.OfferTimeout > time.Hour:
		return invalid("policy.offerTimeout", "must be between 1s and 1h, got %s", p.OfferTimeout)
	case p.Duplicates != DuplicateReject && p.Duplicates != DuplicateAllow:
		return invalid("policy.duplicates", "must be %q or %q", DuplicateReject, DuplicateAllow)
	case p.ServiceLevel <= 0:
		return invalid("policy.serviceLevel", "must be positive")
	case p.CallbackTTL < 0:
		return invalid("policy.callbackTTL", "must not be negative")
	case p.WrapUp < 0:
		return invalid("policy.wrapUp", "must not be negative")
	case p.NotRespondingAway == "" || len(p.NotRespondingAway) > 100:
		return invalid("policy.notResponding", "must be 1 to 100 characters")
	case p.RecordRetention != 0 && (p.RecordRetention < minRecordRetention || p.RecordRetention > maxRecordRetention):
		return invalid("policy.recordRetention", "must be 0 (for ever) or between %s and %s, got %s", minRecordRetention, maxRecordRetention, p.RecordRetention)
	}
	return nil
}

// Role is what a user may do within the scope of a role grant.
type Role uint8

const (
	RoleAgent Role = iota + 1
	RoleMonitor
	RoleDeveloper
	RoleSupervisor
	RoleAdministrator
)

var roleNames = [...]string{RoleAgent: "agent", RoleMonitor: "monitor", RoleDeveloper: "developer", RoleSupervisor: "supervisor", RoleAdministrator: "administrator"}

func (r Role) String() string {
	if r >= RoleAgent && r <= RoleAdministrator {
		return roleNames[r]
	}
	return "unknown"
}

// ParseRole maps a role name to a Role.
func ParseRole(s string) (Role, bool) {
	for r := RoleAgent; r <= RoleAdministrator; r++ {
		if roleNames[r] == s {
			return r, true
		}
	}
	return 0, false
}

// Scope is the set of domains a role grant applies to: the listed domains
// with their subtrees, or every domain including future ones.
type Scope struct {
	All     bool       `json:"all,omitempty"`
	Domains []DomainID `json:"domains,omitempty"`
}

// Grant gives a role within a scope.
type Grant struct {
	Role  Role  `json:"role"`
	Scope Scope `json:"scope"`
}

// Position is one of an agent's places of work; exactly one is active.
type Position struct {
	Name   string   `json:"name"`
	Domain DomainID `json:"domain"`
}

// Membership puts an agent in a virtual queue at a tier (1 is served first).
type Membership struct {
	Queue QueueID `json:"queue"`
	Tier  int     `json:"tier"`
}

// Presence is an agent's availability.
type Presence uint8

const (
	Offline Presence = iota + 1
	Available
	Reserved // an offer is pending
	Busy     // handling a callback
	WrapUp
	Away
)

var presenceNames = [...]string{Offline: "offline", Available: "available", Reserved: "reserved", Busy: "busy", WrapUp: "wrap-up", Away: "away"}

func (p Presence) String() string {
	if p >= Offline && p <= Away {
		return presenceNames[p]
	}
	return "unknown"
}

// ParsePresence maps a presence name to a Presence.
func ParsePresence(s string) (Presence, bool) {
	for p := Offline; p <= Away; p++ {
		if presenceNames[p] == s {
			return p, true
		}
	}
	return 0, false
}

// Strategy picks among the available agents of a queue.
type Strategy uint8

const (
	LongestIdle Strategy = iota + 1 // the default
	RoundRobin                      // the agent offered least recently
	FewestHandled
)

var strategyNames = [...]string{LongestIdle: "longest-idle", RoundRobin: "round-robin", FewestHandled: "fewest-handled"}

func (s Strategy) String() string {
	if s >= LongestIdle && s <= FewestHandled {
		return strategyNames[s]
	}
	return "unknown"
}

// ParseStrategy maps a strategy name to a Strategy.
func ParseStrategy(s string) (Strategy, bool) {
	for st := LongestIdle; st <= FewestHandled; st++ {
		if strategyNames[st] == s {
			return st, true
		}
	}
	return 0, false
}

// CallbackStatus is a callback's place in its lifecycle.
type CallbackStatus uint8

const (
	Scheduled CallbackStatus = iota + 1 // waiting for its due time (first or retry)
	Queued                              // due and waiting for an agent
	Offered                             // reserved for one agent until the offer deadline
	InProgress
	Completed
	Failed // out of attempts
	Canceled
	Expired
)

var statusNames = [...]string{Scheduled: "scheduled", Queued: "queued", Offered: "offered", InProgress: "in-progress", Completed: "completed", Failed: "failed", Canceled: "canceled", Expired: "expired"}

func (s CallbackStatus) String() string {
	if s >= Scheduled && s <= Expired {
		return statusNames[s]
	}
	return "unknown"
}

// Terminal reports whether no further transition is possible.
func (s CallbackStatus) Terminal() bool { return s >= Completed }

// callbackTransitions is the one place that says which callback status may
// follow which. Anything else is a bug in the core.
// It is an array indexed by status: it is read on every status change.
var callbackTransitions = [...][]CallbackStatus{
	Scheduled:  {Queued, Canceled, Expired},
	Queued:     {Offered, Scheduled, Canceled, Expired},
	Offered:    {Queued, InProgress, Canceled},
	InProgress: {Completed, Scheduled, Failed},
}

func canTransition(from, to CallbackStatus) bool {
	if int(from) >= len(callbackTransitions) {
		return false
	}
	for _, s := range callbackTransitions[from] {
		if s == to {
			return true
		}
	}
	return false
}
