// Package core is the actas domain: users, orgs, policy, consent, requests,
// impersonation sessions and the tamper-evident audit log. Every rule and
// every refusal lives here; the TUI, the SSH server and the command line only
// ask core and show what it answers. core imports no UI and no storage
// package: persistence is reached through the Store interface (store.go).
package core

import (
	"fmt"
	"strings"
	"time"
)

// Role is a user's privilege. Its Level orders roles: a person may only act
// as someone whose level is at most their own.
type Role string

const (
	RoleMember   Role = "member"
	RoleSupport  Role = "support"
	RoleAdmin    Role = "admin"
	RoleOwner    Role = "owner"
	RoleSysadmin Role = "sysadmin"
)

// Roles lists every role, lowest first.
var Roles = []Role{RoleMember, RoleSupport, RoleAdmin, RoleOwner, RoleSysadmin}

// Level is the role's privilege level (member 10 … sysadmin 50); 0 if unknown.
func (r Role) Level() int {
	switch r {
	case RoleMember:
		return 10
	case RoleSupport:
		return 20
	case RoleAdmin:
		return 30
	case RoleOwner:
		return 40
	case RoleSysadmin:
		return 50
	}
	return 0
}

// IsStaff reports whether the role belongs to the operator's own staff.
func (r Role) IsStaff() bool { return r.Level() >= RoleSupport.Level() }

// Status is a user's account state.
type Status string

const (
	StatusActive    Status = "active"
	StatusPending   Status = "pending"
	StatusInactive  Status = "inactive"
	StatusSuspended Status = "suspended"
	StatusDeleted   Status = "deleted"
)

// Statuses lists every status.
var Statuses = []Status{StatusActive, StatusPending, StatusInactive, StatusSuspended, StatusDeleted}

// Kind tells people from guests and machine accounts.
type Kind string

const (
	KindHuman  Kind = "human"
	KindGuest  Kind = "guest"
	KindSystem Kind = "system"
)

// Kinds lists every kind.
var Kinds = []Kind{KindHuman, KindGuest, KindSystem}

// Mode is how a staff member may impersonate.
type Mode string

const (
	ModeNever   Mode = "never"   // may not impersonate (the default)
	ModeRequest Mode = "request" // needs an approved request each time
	ModeDirect  Mode = "direct"  // may start directly (consent still applies)
)

// Modes lists every mode.
var Modes = []Mode{ModeNever, ModeRequest, ModeDirect}

// ParseRole, ParseStatus, ParseKind and ParseMode turn user input into a
// value, or say which values are allowed.
func ParseRole(s string) (Role, error)     { return parseEnum(s, "role", Roles) }
func ParseStatus(s string) (Status, error) { return parseEnum(s, "status", Statuses) }
func ParseKind(s string) (Kind, error)     { return parseEnum(s, "kind", Kinds) }
func ParseMode(s string) (Mode, error)     { return parseEnum(s, "mode", Modes) }

func parseEnum[T ~string](s, what string, all []T) (T, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	names := make([]string, len(all))
	for i, v := range all {
		if string(v) == s {
			return v, nil
		}
		names[i] = string(v)
	}
	return "", invalid(what, "%q is not a %s; use one of %s", s, what, strings.Join(names, ", "))
}

// Org is a node of the org tree. The root org (no parent) is the operator;
// customer orgs hang below it.
type Org struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Parent  string    `json:"parent,omitempty"`
	Created time.Time `json:"created"`
}

// User is a person or account known to actas. Consent is kept on the user:
// ConsentUntil in the future means consent is active.
type User struct {
	ID       string    `json:"id"`
	Email    string    `json:"email"`
	Name     string    `json:"name"`
	Org      string    `json:"org"` // org ID
	Role     Role      `json:"role"`
	Status   Status    `json:"status"`
	Kind     Kind      `json:"kind"`
	Mode     Mode      `json:"mode"`
	Approver bool      `json:"approver"`
	Theme    string    `json:"theme,omitempty"`
	Created  time.Time `json:"created"`
	// ConsentFrom is set while a consent grant is outstanding, and
	// ConsentUntil is when it ends. When the grant expires ConsentFrom is
	// cleared and ConsentUntil kept (it says when it lapsed); a revoke clears
	// ConsentFrom and sets ConsentUntil to the revoke time.
	ConsentFrom  time.Time `json:"consent_from,omitzero"`
	ConsentUntil time.Time `json:"consent_until,omitzero"`
}

// ConsentActive reports whether the user's consent holds at now.
func (u User) ConsentActive(now time.Time) bool {
	return !u.ConsentFrom.IsZero() && now.Before(u.ConsentUntil)
}

// Ref returns the audit reference to the user.
func (u User) Ref() Ref { return Ref{ID: u.ID, Email: u.Email} }

// DisplayName is the user's name, or their email when no name is set.
func (u User) DisplayName() string {
	if u.Name != "" {
		return u.Name
	}
	return u.Email
}

// Key is an SSH public key that logs a user into the console.
type Key struct {
	Fingerprint string    `json:"fingerprint"` // SHA256:…
	UserID      string    `json:"user_id"`
	Type        string    `json:"type"`
	Comment     string    `json:"comment,omitempty"`
	Authorized  string    `json:"authorized"` // authorized_keys line
	Added       time.Time `json:"added"`
}

// RequestStatus is the state of an impersonation request.
type RequestStatus string

const (
	RequestPending   RequestStatus = "pending"
	RequestApproved  RequestStatus = "approved"
	RequestDenied    RequestStatus = "denied"
	RequestCancelled RequestStatus = "cancelled"
	RequestExpired   RequestStatus = "expired"
)

// RequestStatuses lists every request status.
var RequestStatuses = []RequestStatus{RequestPending, RequestApproved, RequestDenied, RequestCancelled, RequestExpired}

// Decision is one approver's verdict on a request.
type Decision struct {
	Approver    string        `json:"approver"` // user ID
	Email       string        `json:"email"`
	Approved    bool          `json:"approved"`
	Duration    time.Duration `json:"duration,omitempty"`
	Note        string        `json:"note,omitempty"`
	Fingerprint string        `json:"fingerprint,omitempty"` // SSH key used, when known
	Time        time.Time     `json:"time"`
}

// Request asks for permission to impersonate one user.
type Request struct {
	ID        string        `json:"id"`
	Requester string        `json:"requester"` // user ID
	Target    string        `json:"target"`    // user ID
	Org       string        `json:"org"`       // target's org
	Reason    string        `json:"reason"`
	Duration  time.Duration `json:"duration"` // asked for; the final one once approved
	Status    RequestStatus `json:"status"`
	Created   time.Time     `json:"created"`
	Expires   time.Time     `json:"expires"` // a pending request expires then
	Decided   time.Time     `json:"decided,omitzero"`
	Decisions []Decision    `json:"decisions,omitempty"`
	UsedBy    string        `json:"used_by,omitempty"` // session that consumed the approval
}

// SessionStatus is the state of an impersonation session.
type SessionStatus string

const (
	SessionActive SessionStatus = "active"
	SessionEnded  SessionStatus = "ended"
)

// EndReason says why a session ended.
type EndReason string

const (
	EndExit           EndReason = "exit"
	EndExpired        EndReason = "expired"
	EndConsentRevoked EndReason = "consent_revoked"
	EndConsentExpired EndReason = "consent_expired"
	// A user's status leaving active ends their sessions with "user_" and
	// the status, e.g. user_suspended; see endReasonForStatus.
	EndDisconnect EndReason = "disconnect"
	EndShutdown   EndReason = "server_shutdown"
	// EndCrash ends a session found active when a writer opens the
	// database: the process whose connection started it is gone.
	EndCrash      EndReason = "server_crash"
	EndTerminated EndReason = "terminated"
	// EndPolicyDisabled: an owner turned impersonation off (enabled=false).
	EndPolicyDisabled EndReason = "policy_disabled"
	// EndPermissionRemoved: the impersonator's mode became never or their
	// role dropped below support.
	EndPermissionRemoved EndReason = "permission_removed"
)

// Session is one impersonation: Impersonator acts as Target until Ends.
type Session struct {
	ID           string        `json:"id"`
	Impersonator string        `json:"impersonator"` // user ID
	Target       string        `json:"target"`       // user ID
	Org          string        `json:"org"`
	Request      string        `json:"request,omitempty"`
	Reason       string        `json:"reason,omitempty"`
	Conn         string        `json:"conn,omitempty"` // connection that started it
	Started      time.Time     `json:"started"`
	Ends         time.Time     `json:"ends"` // planned end
	Ended        time.Time     `json:"ended,omitzero"`
	Status       SessionStatus `json:"status"`
	EndReason    EndReason     `json:"end_reason,omitempty"`
	Events       int           `json:"events"` // audit events recorded under it
}

// Active reports whether the session is still running.
func (s Session) Active() bool { return s.Status == SessionActive }

// Policy is the impersonation policy of the root org.
type Policy struct {
	Enabled           bool          `json:"enabled"`
	RequireConsent    bool          `json:"require_consent"`
	MaxDuration       time.Duration `json:"max_duration"`
	DefaultDuration   time.Duration `json:"default_duration"`
	RequireReason     bool          `json:"require_reason"`
	RequestTTL        time.Duration `json:"request_ttl"`
	ApprovalsRequired int           `json:"approvals_required"`
	EndOnDisconnect   bool          `json:"end_on_disconnect"`
	NotifyTarget      bool          `json:"notify_target"`
	Alerting          bool          `json:"alerting"`              // session starts and ends go to the alert channels
	Environment       string        `json:"environment,omitempty"` // label in every message, e.g. production
	// CheckpointFile is where signed audit checkpoints are appended
	// (absolute path, on other storage than the database); "" = none.
	CheckpointFile string `json:"checkpoint_file,omitempty"`
	// ProductURL is the host product's entry URL, holding {ticket}; empty
	// means sessions get no product link.
	ProductURL string `json:"product_url,omitempty"`
	// Issuer is the iss of grants; empty means "actas".
	Issuer string `json:"issuer,omitempty"`
}

// DefaultPolicy is the policy of a new database: everything safe, and
// impersonation off until an owner enables it.
func DefaultPolicy() Policy {
	return Policy{
		Enabled:           false,
		RequireConsent:    true,
		MaxDuration:       168 * time.Hour,
		DefaultDuration:   time.Hour,
		RequireReason:     true,
		RequestTTL:        24 * time.Hour,
		ApprovalsRequired: 1,
		EndOnDisconnect:   true,
		NotifyTarget:      true,
		Alerting:          true,
	}
}

// Ref names a person in an audit event.
type Ref struct {
	ID    string `json:"id,omitempty"`
	Email string `json:"email,omitempty"`
}

// IsZero reports whether the reference names nobody.
func (r Ref) IsZero() bool { return r.ID == "" && r.Email == "" }

func (r Ref) String() string {
	if r.Email != "" {
		return r.Email
	}
	return r.ID
}

// MaxConsent is the longest consent a user can grant, whatever the policy.
const MaxConsent = 168 * time.Hour

func endReasonForStatus(s Status) EndReason { return EndReason("user_" + string(s)) }

func formatID(prefix string, n uint64) string { return fmt.Sprintf("%s_%08d", prefix, n) }
