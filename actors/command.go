package actors

import (
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Kind numbers the command types for the replicated log. The list is
// append-only: new kinds go at the end, none is ever renumbered or reused.
type Kind uint16

const (
	KindCreateTenant Kind = iota + 1
	KindUpdateTenant
	KindSetTenantStatus
	KindDeleteTenant
	KindCreateDomain
	KindRenameDomain
	KindDeleteDomain
	KindCreateUser
	KindUpdateUser
	KindDeleteUser
	KindCreateApp
	KindCreateGroup
	KindCreateFolder
	KindUpdateFolder
	KindCreateQueue
	KindUpdateQueue
	KindCreateCode
	KindSetPresence
	KindSwitchPosition
	KindCreateCallback
	KindRescheduleCallback
	KindCancelCallback
	KindTransferCallback
	KindAcceptOffer
	KindRejectOffer
	KindCompleteCallback
	KindFailAttempt
	KindTick
	KindPutAPIKey
	KindRevokeAPIKey
	KindSetQueueMembers
	KindSetPriority
	KindUpdateCallback
	KindDeleteQueue
	KindDeleteApp
	KindDeleteCode
	KindDeleteFolder
	KindDeleteGroup
	KindRenameObject
)

// Command is one state change. Operator commands ([CreateTenant],
// [UpdateTenant], [SetTenantStatus], [DeleteTenant]) act on the tenant set;
// every other command acts inside one tenant on behalf of a principal.
type Command interface {
	Kind() Kind
}

// TenantCommand is a command addressed to one tenant.
type TenantCommand interface {
	Command
	TenantOf() TenantID
}

// PrincipalKind says who issues a command.
type PrincipalKind uint8

const (
	PrincipalOperator PrincipalKind = iota + 1 // the service provider
	PrincipalUser                              // a tenant user with roles
	PrincipalApp                               // a channel application bound to one domain
	PrincipalSystem                            // the engine itself (ticks)
)

// Principal is the identity a command acts as.
type Principal struct {
	Kind PrincipalKind `json:"kind"`
	User UserID        `json:"user,omitempty"`
	App  AppID         `json:"app,omitempty"`
}

// AsUser and AsApp build principals.
func AsUser(u UserID) Principal { return Principal{Kind: PrincipalUser, User: u} }
func AsApp(a AppID) Principal   { return Principal{Kind: PrincipalApp, App: a} }

// Operator is the platform operator's principal.
var Operator = Principal{Kind: PrincipalOperator}

// Target addresses a tenant command: which tenant, and as whom.
type Target struct {
	Tenant TenantID  `json:"tenant"`
	By     Principal `json:"by"`
}

// TenantOf returns the tenant the command is addressed to.
func (t Target) TenantOf() TenantID { return t.Tenant }

// Operator commands.

// CreateTenant creates a tenant with its Home domain and its administrator.
// Zero limits and a nil feature map take the defaults; a nil policy takes
// [DefaultPolicy]. AdminKeyHash, when set, gives the administrator an API
// key in the same step (stored as [PutAPIKey] stores one), so that no
// tenant is ever left without a way in.
//
// A create with an IdempotencyKey seen in the last 24 hours creates
// nothing: it returns the tenant the key created, and gives the
// administrator the new AdminKeyHash as one more key (keys are stored as
// hashes, so the first answer's key cannot be shown again; it keeps
// working). The same key with another RequestHash is refused.
type CreateTenant struct {
	Profile        Profile          `json:"profile"`
	Host           string           `json:"host,omitempty"`
	Limits         Limits           `json:"limits"`
	Features       map[Feature]bool `json:"features,omitempty"`
	Policy         *Policy          `json:"policy,omitempty"`
	AdminKeyHash   string           `json:"adminKeyHash,omitempty"`
	IdempotencyKey string           `json:"idempotencyKey,omitempty"`
	RequestHash    string           `json:"requestHash,omitempty"`
}

// UpdateTenant changes what is set; nil fields stay as they are. All of it
// changes, or nothing does.
type UpdateTenant struct {
	Tenant   TenantID         `json:"tenant"`
	Profile  *Profile         `json:"profile,omitempty"`
	Host     *string          `json:"host,omitempty"`
	Limits   *Limits          `json:"limits,omitempty"`
	Features map[Feature]bool `json:"features,omitempty"` // only the named features change
	Policy   *Policy          `json:"policy,omitempty"`
	Status   *TenantStatus    `json:"status,omitempty"` // as SetTenantStatus
}

// SetTenantStatus deactivates or reactivates a tenant.
type SetTenantStatus struct {
	Tenant TenantID     `json:"tenant"`
	Status TenantStatus `json:"status"`
}

// DeleteTenant removes a tenant and all its data.
type DeleteTenant struct {
	Tenant TenantID `json:"tenant"`
}

// Domain commands.

type CreateDomain struct {
	Target
	Name   string   `json:"name"`
	Parent DomainID `json:"parent"`
}

type RenameDomain struct {
	Target
	Domain DomainID `json:"domain"`
	Name   string   `json:"name"`
}

type DeleteDomain struct {
	Target
	Domain DomainID `json:"domain"`
}

// User commands.

// CreateUser adds a user. A user with the agent role counts against the
// tenant's agent limit; the first position is the active one.
type CreateUser struct {
	Target
	Name        string       `json:"name"` // the username, unique in the tenant
	FullName    string       `json:"fullName,omitempty"`
	Home        DomainID     `json:"home"`
	Grants      []Grant      `json:"grants"`
	Groups      []GroupID    `json:"groups,omitempty"`
	Positions   []Position   `json:"positions,omitempty"`
	Memberships []Membership `json:"memberships,omitempty"`
}

// UpdateUser replaces what is set. Positions may change only while the
// agent is offline.
type UpdateUser struct {
	Target
	User        UserID        `json:"user"`
	Grants      *[]Grant      `json:"grants,omitempty"`
	Groups      *[]GroupID    `json:"groups,omitempty"`
	Positions   *[]Position   `json:"positions,omitempty"`
	Memberships *[]Membership `json:"memberships,omitempty"`
}

type DeleteUser struct {
	Target
	User UserID `json:"user"`
}

// CreateApp registers a channel application bound to one domain; callbacks
// it creates belong to that domain. KeyHash, when set, gives it an API key
// in the same step (as [PutAPIKey] would, with the same rights needed).
type CreateApp struct {
	Target
	Name    string   `json:"name"`
	Domain  DomainID `json:"domain"`
	KeyHash string   `json:"keyHash,omitempty"`
}

// DeleteApp removes a channel application and its API keys: it can ask for
// no more callbacks. Those it asked for stay, in their domain.
type DeleteApp struct {
	Target
	App AppID `json:"app"`
}

// CreateGroup adds an access group (a line of business).
type CreateGroup struct {
	Target
	Name string `json:"name"`
}

// CreateFolder adds a queue folder. With Propagate, the folder's revoked
// read permissions apply to every queue in it, now and later.
type CreateFolder struct {
	Target
	Name       string    `json:"name"`
	Domain     DomainID  `json:"domain"`
	Propagate  bool      `json:"propagate"`
	RevokeRead []GroupID `json:"revokeRead,omitempty"`
}

// DeleteFolder removes a queue folder that holds no queue.
type DeleteFolder struct {
	Target
	Folder FolderID `json:"folder"`
}

// DeleteGroup removes an access group that no user is in; queues and
// folders stop naming it. (A user's last group going would widen what
// they read: a user in no group reads every queue.)
type DeleteGroup struct {
	Target
	Group GroupID `json:"group"`
}

type UpdateFolder struct {
	Target
	Folder     FolderID   `json:"folder"`
	Propagate  *bool      `json:"propagate,omitempty"`
	RevokeRead *[]GroupID `json:"revokeRead,omitempty"`
}

// CreateQueue adds a virtual queue. Every access group reads it until read
// is revoked for a group.
type CreateQueue struct {
	Target
	Name         string        `json:"name"`
	Domain       DomainID      `json:"domain"`
	Folder       FolderID      `json:"folder,omitempty"`
	Strategy     Strategy      `json:"strategy,omitempty"`     // zero: longest idle
	ServiceLevel time.Duration `json:"serviceLevel,omitempty"` // zero: the tenant's
	RevokeRead   []GroupID     `json:"revokeRead,omitempty"`
}

// UpdateQueue changes what is set; nil fields stay as they are.
type UpdateQueue struct {
	Target
	Queue        QueueID        `json:"queue"`
	Name         *string        `json:"name,omitempty"`
	Folder       *FolderID      `json:"folder,omitempty"`
	Strategy     *Strategy      `json:"strategy,omitempty"`
	ServiceLevel *time.Duration `json:"serviceLevel,omitempty"`
	RevokeRead   *[]GroupID     `json:"revokeRead,omitempty"`
}

// DeleteQueue removes a queue that holds no active callback (scheduled,
// waiting, offered or in progress): its members leave it, and finished
// callbacks keep their record, which still names it.
type DeleteQueue struct {
	Target
	Queue QueueID `json:"queue"`
}

// DeleteCode removes a wrap-up code or an away reason (CodeKind says
// which the caller means). Closed callbacks keep naming their disposition;
// an agent away for the reason stays away.
type DeleteCode struct {
	Target
	CodeKind CodeKind `json:"codeKind"`
	Code     CodeID   `json:"code"`
}

// RenameObject renames a channel application, an access group, a
// wrap-up code or an away reason, by whoever may delete it. (Domains,
// queues, folders and users are renamed by their own updates.)
type RenameObject struct {
	Target
	Object Renamable `json:"object"`
	ID     uint32    `json:"id"` // an AppID, GroupID or CodeID
	Name   string    `json:"name"`
}

// Renamable is the kind of object RenameObject renames.
type Renamable uint8

const (
	RenameApp Renamable = iota + 1
	RenameGroup
	RenameWrapUpCode
	RenameAwayReason
)

// CodeKind distinguishes wrap-up codes from away reasons.
type CodeKind uint8

const (
	WrapUpCode CodeKind = iota + 1
	AwayReason
)

// CreateCode adds a wrap-up code or an away reason, in a domain or, with
// Domain zero, unassigned (visible to every user of the tenant).
type CreateCode struct {
	Target
	CodeKind CodeKind `json:"codeKind"`
	Name     string   `json:"name"`
	Domain   DomainID `json:"domain,omitempty"`
}

// Agent commands.

// SetPresence changes an agent's availability. Agents may set their own;
// supervisors and administrators may set anyone's in their scope. Reserved
// and busy are set by the engine, never by request.
type SetPresence struct {
	Target
	Agent    UserID   `json:"agent"`
	Presence Presence `json:"presence"`
	Reason   string   `json:"reason,omitempty"` // away reason name, for Away
}

// SwitchPosition makes another of the agent's positions active: the one
// in Domain (named Name, when the agent has several there), or with Domain
// zero the one at index Position. The agent must not be handling a
// callback.
type SwitchPosition struct {
	Target
	Agent    UserID   `json:"agent"`
	Position int      `json:"position"` // index into the agent's positions
	Domain   DomainID `json:"domain,omitempty"`
	Name     string   `json:"name,omitempty"`
}

// Callback commands.

// CreateCallback asks for a callback. Domain is the requesting customer's
// domain: for a channel application it is always the application's domain;
// staff may name a domain within their scope, defaulting to the queue's.
// The engine copies the lists it keeps (Numbers, Data), so a caller may
// reuse the command once it is applied.
type CreateCallback struct {
	Target
	Queue          QueueID           `json:"queue"`
	Domain         DomainID          `json:"domain,omitempty"`
	CustomerName   string            `json:"customerName"`
	Numbers        []string          `json:"numbers"`
	Priority       int               `json:"priority,omitempty"`
	ScheduledAt    time.Time         `json:"scheduledAt,omitzero"`
	Data           map[string]string `json:"data,omitempty"`
	IdempotencyKey string            `json:"idempotencyKey,omitempty"`
	// RequestHash identifies the request body the key was first used
	// with; a retry with the same key and another body is refused.
	RequestHash string `json:"requestHash,omitempty"`
}

type RescheduleCallback struct {
	Target
	Callback CallbackID `json:"callback"`
	At       time.Time  `json:"at"`
}

type CancelCallback struct {
	Target
	Callback CallbackID `json:"callback"`
}

// TransferCallback moves a waiting callback to another queue, possibly of
// another domain; the callback collects that domain.
type TransferCallback struct {
	Target
	Callback CallbackID `json:"callback"`
	Queue    QueueID    `json:"queue"`
}

// AcceptOffer, RejectOffer: the agent answers a current offer.
type AcceptOffer struct {
	Target
	Callback CallbackID `json:"callback"`
	Offer    OfferID    `json:"offer"`
}

type RejectOffer struct {
	Target
	Callback CallbackID `json:"callback"`
	Offer    OfferID    `json:"offer"`
}

// CompleteCallback closes a callback in progress with a wrap-up code.
type CompleteCallback struct {
	Target
	Callback    CallbackID `json:"callback"`
	Disposition CodeID     `json:"disposition"`
	Comment     string     `json:"comment,omitempty"`
}

// FailAttempt records an attempt in progress that did not reach the
// customer; it is retried after the tenant's delay until max attempts.
type FailAttempt struct {
	Target
	Callback CallbackID `json:"callback"`
	Reason   string     `json:"reason,omitempty"`
}

// Tick fires every deadline that has passed: scheduled callbacks and
// retries becoming due, offer timeouts, expiry, the end of wrap-up.
// Tenant zero ticks every tenant.
type Tick struct {
	Tenant TenantID `json:"tenant,omitempty"`
}

// PutAPIKey stores the hash of an API key for a principal of the tenant.
type PutAPIKey struct {
	Target
	Hash string    `json:"hash"`
	For  Principal `json:"for"`
}

// RevokeAPIKey removes an API key. LegacyHash, when set, is the same key
// as stored before 2026-11-23 (the hash of the whole key): whichever of
// the two the tenant holds is revoked.
type RevokeAPIKey struct {
	Target
	Hash       string `json:"hash"`
	LegacyHash string `json:"legacyHash,omitempty"`
}

// SetPriority changes a waiting callback's priority.
type SetPriority struct {
	Target
	Callback CallbackID `json:"callback"`
	Priority int        `json:"priority"`
}

// UpdateCallback changes a waiting callback's time, priority and queue
// together: every change it names is made, or none is. A nil field stays
// as it is; each alone is what [RescheduleCallback], [SetPriority] and
// [TransferCallback] do.
type UpdateCallback struct {
	Target
	Callback CallbackID `json:"callback"`
	At       *time.Time `json:"at,omitempty"`
	Priority *int       `json:"priority,omitempty"`
	Queue    *QueueID   `json:"queue,omitempty"`
}

// Member is one agent's place in a queue.
type Member struct {
	Agent UserID `json:"agent"`
	Tier  int    `json:"tier"`
}

// SetQueueMembers replaces the whole membership of a queue at once.
type SetQueueMembers struct {
	Target
	Queue   QueueID  `json:"queue"`
	Members []Member `json:"members"`
}

func (CreateTenant) Kind() Kind       { return KindCreateTenant }
func (UpdateTenant) Kind() Kind       { return KindUpdateTenant }
func (SetTenantStatus) Kind() Kind    { return KindSetTenantStatus }
func (DeleteTenant) Kind() Kind       { return KindDeleteTenant }
func (CreateDomain) Kind() Kind       { return KindCreateDomain }
func (RenameDomain) Kind() Kind       { return KindRenameDomain }
func (DeleteDomain) Kind() Kind       { return KindDeleteDomain }
func (CreateUser) Kind() Kind         { return KindCreateUser }
func (UpdateUser) Kind() Kind         { return KindUpdateUser }
func (DeleteUser) Kind() Kind         { return KindDeleteUser }
func (CreateApp) Kind() Kind          { return KindCreateApp }
func (CreateGroup) Kind() Kind        { return KindCreateGroup }
func (CreateFolder) Kind() Kind       { return KindCreateFolder }
func (UpdateFolder) Kind() Kind       { return KindUpdateFolder }
func (CreateQueue) Kind() Kind        { return KindCreateQueue }
func (UpdateQueue) Kind() Kind        { return KindUpdateQueue }
func (CreateCode) Kind() Kind         { return KindCreateCode }
func (SetPresence) Kind() Kind        { return KindSetPresence }
func (SwitchPosition) Kind() Kind     { return KindSwitchPosition }
func (CreateCallback) Kind() Kind     { return KindCreateCallback }
func (RescheduleCallback) Kind() Kind { return KindRescheduleCallback }
func (CancelCallback) Kind() Kind     { return KindCancelCallback }
func (TransferCallback) Kind() Kind   { return KindTransferCallback }
func (AcceptOffer) Kind() Kind        { return KindAcceptOffer }
func (RejectOffer) Kind() Kind        { return KindRejectOffer }
func (CompleteCallback) Kind() Kind   { return KindCompleteCallback }
func (FailAttempt) Kind() Kind        { return KindFailAttempt }
func (Tick) Kind() Kind               { return KindTick }
func (PutAPIKey) Kind() Kind          { return KindPutAPIKey }
func (RevokeAPIKey) Kind() Kind       { return KindRevokeAPIKey }
func (SetQueueMembers) Kind() Kind    { return KindSetQueueMembers }
func (SetPriority) Kind() Kind        { return KindSetPriority }
func (UpdateCallback) Kind() Kind     { return KindUpdateCallback }
func (DeleteQueue) Kind() Kind        { return KindDeleteQueue }
func (DeleteApp) Kind() Kind          { return KindDeleteApp }
func (DeleteCode) Kind() Kind         { return KindDeleteCode }
func (DeleteFolder) Kind() Kind       { return KindDeleteFolder }
func (DeleteGroup) Kind() Kind        { return KindDeleteGroup }
func (RenameObject) Kind() Kind       { return KindRenameObject }

// IsActivity: the kind is the day's work on callbacks and presence, which
// the audit keeps apart from changes to the configuration (auditTrail).
func (k Kind) IsActivity() bool {
	switch k {
	case KindSetPresence, KindSwitchPosition, KindCreateCallback, KindRescheduleCallback, KindCancelCallback,
		KindTransferCallback, KindAcceptOffer, KindRejectOffer, KindCompleteCallback, KindFailAttempt,
		KindSetPriority, KindUpdateCallback, KindTick:
		return true
	}
	return false
}

// String names a kind after its command type, in the API's style:
// KindUpdateCallback is "update-callback".
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "kind-" + strconv.Itoa(int(k))
}

var kindNames = func() (names [len(commandMakers)]string) {
	for k, mk := range commandMakers {
		if mk == nil {
			continue
		}
		names[k] = kebab(reflect.TypeOf(mk()).Elem().Name())
	}
	return names
}()

// kebab writes a Go name in lower case, words joined by dashes; an
// acronym is one word ("PutAPIKey" is "put-api-key").
func kebab(name string) string {
	upper := func(i int) bool { return i >= 0 && i < len(name) && name[i] >= 'A' && name[i] <= 'Z' }
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if upper(i) {
			if i > 0 && (!upper(i-1) || i+1 < len(name) && !upper(i+1)) {
				b.WriteByte('-')
			}
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// NewCommand returns a new, empty command of a kind, for decoding.
func NewCommand(k Kind) (Command, bool) {
	if int(k) >= len(commandMakers) || commandMakers[k] == nil {
		return nil, false
	}
	return commandMakers[k](), true
}

var commandMakers = [...]func() Command{
	KindCreateTenant:       func() Command { return new(CreateTenant) },
	KindUpdateTenant:       func() Command { return new(UpdateTenant) },
	KindSetTenantStatus:    func() Command { return new(SetTenantStatus) },
	KindDeleteTenant:       func() Command { return new(DeleteTenant) },
	KindCreateDomain:       func() Command { return new(CreateDomain) },
	KindRenameDomain:       func() Command { return new(RenameDomain) },
	KindDeleteDomain:       func() Command { return new(DeleteDomain) },
	KindCreateUser:         func() Command { return new(CreateUser) },
	KindUpdateUser:         func() Command { return new(UpdateUser) },
	KindDeleteUser:         func() Command { return new(DeleteUser) },
	KindCreateApp:          func() Command { return new(CreateApp) },
	KindCreateGroup:        func() Command { return new(CreateGroup) },
	KindCreateFolder:       func() Command { return new(CreateFolder) },
	KindUpdateFolder:       func() Command { return new(UpdateFolder) },
	KindCreateQueue:        func() Command { return new(CreateQueue) },
	KindUpdateQueue:        func() Command { return new(UpdateQueue) },
	KindCreateCode:         func() Command { return new(CreateCode) },
	KindSetPresence:        func() Command { return new(SetPresence) },
	KindSwitchPosition:     func() Command { return new(SwitchPosition) },
	KindCreateCallback:     func() Command { return new(CreateCallback) },
	KindRescheduleCallback: func() Command { return new(RescheduleCallback) },
	KindCancelCallback:     func() Command { return new(CancelCallback) },
	KindTransferCallback:   func() Command { return new(TransferCallback) },
	KindAcceptOffer:        func() Command { return new(AcceptOffer) },
	KindRejectOffer:        func() Command { return new(RejectOffer) },
	KindCompleteCallback:   func() Command { return new(CompleteCallback) },
	KindFailAttempt:        func() Command { return new(FailAttempt) },
	KindTick:               func() Command { return new(Tick) },
	KindPutAPIKey:          func() Command { return new(PutAPIKey) },
	KindRevokeAPIKey:       func() Command { return new(RevokeAPIKey) },
	KindSetQueueMembers:    func() Command { return new(SetQueueMembers) },
	KindSetPriority:        func() Command { return new(SetPriority) },
	KindUpdateCallback:     func() Command { return new(UpdateCallback) },
	KindDeleteQueue:        func() Command { return new(DeleteQueue) },
	KindDeleteApp:          func() Command { return new(DeleteApp) },
	KindDeleteCode:         func() Command { return new(DeleteCode) },
	KindDeleteFolder:       func() Command { return new(DeleteFolder) },
	KindDeleteGroup:        func() Command { return new(DeleteGroup) },
	KindRenameObject:       func() Command { return new(RenameObject) },
}
