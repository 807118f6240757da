package actors

import (
	"errors"
	"fmt"
)

// Sentinel errors of the routing core. Every refusal wraps exactly one of
// them, so callers (the API, the simulator) map them with errors.Is.
var (
	// ErrInvalid: a field of the command is malformed or out of range.
	ErrInvalid = errors.New("actors: invalid input")
	// ErrNotFound: the object does not exist, or the caller may not see it.
	// The two are deliberately indistinguishable.
	ErrNotFound = errors.New("actors: not found")
	// ErrForbidden: the caller sees the object but may not do this to it.
	ErrForbidden = errors.New("actors: forbidden")
	// ErrConflict: the object exists but its state does not allow the
	// request (an offer that is no longer current, a non-empty domain...).
	ErrConflict = errors.New("actors: conflict")
	// ErrDuplicate: the tenant's duplicate policy refuses a second active
	// callback for the same number in the same queue.
	ErrDuplicate = errors.New("actors: duplicate callback")
	// ErrLimit: a tenant limit (agents, domains) would be exceeded.
	ErrLimit = errors.New("actors: limit exceeded")
	// ErrQuota: the tenant's storage quota would be exceeded.
	ErrQuota = errors.New("actors: storage quota exceeded")
	// ErrFeatureDisabled: the tenant does not have the feature.
	ErrFeatureDisabled = errors.New("actors: feature disabled")
	// ErrTenantDisabled: the tenant is deactivated; its data is kept.
	ErrTenantDisabled = errors.New("actors: tenant disabled")
)

// FieldError is a refused command: which field, why, and the sentinel it
// wraps. Its message never contains another tenant's data.
type FieldError struct {
	Field  string // JSON-style name of the offending field, e.g. "limits.maxAgents"
	Reason string // human-readable reason
	Err    error  // one of the sentinel errors above
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s: %s", e.Err, e.Reason)
	}
	return fmt.Sprintf("%s: %s: %s", e.Err, e.Field, e.Reason)
}

func (e *FieldError) Unwrap() error { return e.Err }

func refuse(err error, field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...), Err: err}
}

func invalid(field, format string, args ...any) error {
	return refuse(ErrInvalid, field, format, args...)
}

func notFound(field string) error {
	return refuse(ErrNotFound, field, "no such object")
}

// named fills in the field of a refusal that does not name one yet.
func named(err error, field string) error {
	if err == nil {
		return nil // before errors.As, whose target would escape: no allocation
	}
	var fe *FieldError
	if errors.As(err, &fe) && fe.Field == "" {
		return &FieldError{Field: field, Reason: fe.Reason, Err: fe.Err}
	}
	return err
}
