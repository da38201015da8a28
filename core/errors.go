package core

import (
	"errors"
	"fmt"
)

// Code is a stable, machine-readable reason for a refusal. Tests and the
// TUI match on codes; the message beside it is for people.
type Code string

const (
	CodeFeatureDisabled      Code = "feature_disabled"
	CodeNotPermitted         Code = "not_permitted"
	CodeSelf                 Code = "self"
	CodeAlreadyImpersonating Code = "already_impersonating"
	CodeTargetImpersonating  Code = "target_impersonating" // the target is impersonating someone (no chaining)
	CodeTargetInactive       Code = "target_inactive"
	CodeTargetKind           Code = "target_kind"
	CodeSysadmin             Code = "sysadmin"
	CodeHigherPrivilege      Code = "higher_privilege"
	CodeOutsideOrg           Code = "outside_org"
	CodeNoConsent            Code = "no_consent"
	CodeNeedsApproval        Code = "needs_approval"
	CodeImpersonating        Code = "impersonating"   // refused while acting as someone else
	CodeOwnRequest           Code = "own_request"     // approver deciding their own request
	CodeAlreadyDecided       Code = "already_decided" // request no longer pending
	CodeAlreadyApproved      Code = "already_approved_by_you"
	CodeNotFound             Code = "not_found"
	CodeInvalid              Code = "invalid"
	CodeConflict             Code = "conflict"
	CodeDeliveryFailed       Code = "delivery_failed" // an alert test did not arrive
	CodeAuditFailed          Code = "audit_failed"
	// Codes of the HTTP API for host products (httpapi maps each to a status).
	CodeUnauthenticated Code = "unauthenticated" // unknown or revoked API key
	CodeRateLimited     Code = "rate_limited"    // the key is over its rate
	CodeTooLarge        Code = "too_large"       // a request body or batch over its limit
	CodeTicketUsed      Code = "ticket_used"     // a ticket enters once
	CodeTicketExpired   Code = "ticket_expired"  // a ticket lasts TicketTTL
	CodeSessionEnded    Code = "session_ended"   // no grant for an ended session
)

// Error is core's typed refusal: a stable Code, a sentence a person
// understands, and for invalid input the Field it concerns.
type Error struct {
	Code    Code
	Field   string
	Message string
	Err     error // underlying cause, if any
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, &Error{Code: X}) match on the code alone.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Message == ""
}

// ErrNotFound is returned by stores for a missing record.
var ErrNotFound = &Error{Code: CodeNotFound}

// CodeOf returns the code of a core error, or "" for any other error.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func refuse(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

func invalid(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) *Error {
	return &Error{Code: CodeNotFound, Message: fmt.Sprintf(format, args...)}
}
