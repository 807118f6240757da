package actors

import (
	"fmt"
	"strings"
	"time"
)

// EventKind names what happened.
type EventKind uint8

const (
	EvTenantCreated EventKind = iota + 1
	EvTenantUpdated
	EvTenantStatusChanged
	EvTenantDeleted
	EvDomainCreated
	EvDomainRenamed
	EvDomainDeleted
	EvUserCreated
	EvUserUpdated
	EvUserDeleted
	EvObjectCreated // app, group, folder, queue, wrap-up code, away reason
	EvObjectUpdated
	EvPresenceChanged
	EvPositionSwitched
	EvCallbackScheduled
	EvCallbackQueued
	EvCallbackOffered
	EvOfferAccepted
	EvOfferRejected
	EvOfferTimedOut
	EvCallbackCompleted
	EvAttemptFailed
	EvCallbackFailed
	EvCallbackCanceled
	EvCallbackExpired
	EvCallbackTransferred
	EvCallbackRescheduled
	EvAPIKeyChanged
	EvCallbackCreated
	EvObjectDeleted // a queue, app, code, folder or group
)

var eventNames = [...]string{
	EvTenantCreated: "tenant-created", EvTenantUpdated: "tenant-updated", EvTenantStatusChanged: "tenant-status",
	EvTenantDeleted: "tenant-deleted", EvDomainCreated: "domain-created", EvDomainRenamed: "domain-renamed",
	EvDomainDeleted: "domain-deleted", EvUserCreated: "user-created", EvUserUpdated: "user-updated",
	EvUserDeleted: "user-deleted", EvObjectCreated: "object-created", EvObjectUpdated: "object-updated",
	EvPresenceChanged: "presence", EvPositionSwitched: "position-switched", EvCallbackScheduled: "scheduled",
	EvCallbackQueued: "queued", EvCallbackOffered: "offered", EvOfferAccepted: "accepted",
	EvOfferRejected: "rejected", EvOfferTimedOut: "offer-timeout", EvCallbackCompleted: "completed",
	EvAttemptFailed: "attempt-failed", EvCallbackFailed: "failed", EvCallbackCanceled: "canceled",
	EvCallbackExpired: "expired", EvCallbackTransferred: "transferred", EvCallbackRescheduled: "rescheduled",
	EvAPIKeyChanged: "api-key", EvCallbackCreated: "created", EvObjectDeleted: "object-deleted",
}

func (k EventKind) String() string {
	if int(k) < len(eventNames) && eventNames[k] != "" {
		return eventNames[k]
	}
	return "unknown"
}

// Event is one fact that followed from a command. It is a flat value so the
// core can append events without allocating. Fields that do not apply to a
// kind are zero.
//
// The fields are ordered by size so the struct packs into 80 bytes:
// events are copied on every command.
type Event struct {
	At       int64 // unix nanoseconds of the command that caused it
	Callback CallbackID
	Offer    OfferID
	// Object is the identifier of a created or changed configuration
	// object; for scheduled and rescheduled callbacks the due time; for an
	// accepted offer the customer's wait in nanoseconds.
	Object uint64
	// Position switches: the agent's active position index before and
	// after. Switched says the switch was automatic, made for this offer.
	FromPosition, ToPosition int32
	Reason                   string
	Tenant                   TenantID
	Domain                   DomainID
	Queue                    QueueID
	Agent                    UserID
	Kind                     EventKind
	Presence                 Presence
	Switched                 bool
}

// Time returns the event time.
func (e Event) Time() time.Time { return time.Unix(0, e.At).UTC() }

// String renders the event in the scenario-file format:
// the kind, then the fields that are set, as key=value.
func (e Event) String() string {
	var b strings.Builder
	b.WriteString(e.Kind.String())
	kv := func(k string, v any) { fmt.Fprintf(&b, " %s=%v", k, v) }
	if e.Tenant != 0 {
		kv("tenant", e.Tenant)
	}
	if e.Domain != 0 {
		kv("domain", e.Domain)
	}
	if e.Queue != 0 {
		kv("queue", e.Queue)
	}
	if e.Callback != 0 {
		kv("callback", e.Callback)
	}
	if e.Agent != 0 {
		kv("agent", e.Agent)
	}
	if e.Offer != 0 {
		kv("offer", e.Offer)
	}
	if e.Object != 0 {
		kv("id", e.Object)
	}
	if e.Presence != 0 {
		kv("presence", e.Presence)
	}
	if e.Kind == EvPositionSwitched || e.Switched {
		fmt.Fprintf(&b, " position=%d->%d", e.FromPosition, e.ToPosition)
		if e.Switched {
			b.WriteString(" automatic=true")
		}
	}
	if e.Reason != "" {
		fmt.Fprintf(&b, " reason=%q", e.Reason)
	}
	return b.String()
}
