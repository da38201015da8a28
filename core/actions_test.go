package core_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/actas/actas/core"
)

func codeOf(err error) core.Code {
	var e *core.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// Every duration a person can pick lies within 1h..max_duration, and the
// same rule refuses it everywhere: policy, request, approval, consent.
func TestDurationsWithinOneHourAndMax(t *testing.T) {
	w := newWorld(t)
	for _, v := range []string{"1m", "59m", "169h"} {
		if _, err := w.c.SetPolicy(w.cli, map[string]string{"default_duration": v}); err == nil ||
			!strings.Contains(err.Error(), "default_duration must be between 1h and 168h") {
			t.Errorf("default_duration=%s: %v", v, err)
		}
	}
	w.must(w.c.SetPolicy(w.cli, map[string]string{"max_duration": "48h", "default_duration": "1h"}))
	if _, err := w.c.SetPolicy(w.cli, map[string]string{"default_duration": "72h"}); err == nil ||
		!strings.Contains(err.Error(), "between 1h and 48h") {
		t.Errorf("default above max: %v", err)
	}
	for _, d := range []time.Duration{time.Minute, 59 * time.Minute, 49 * time.Hour} {
		if _, err := w.c.CreateRequest(w.as("support"), w.u["jane"].ID, "ticket", d); codeOf(err) != core.CodeInvalid {
			t.Errorf("request for %s: %v", d, err)
		}
		if _, err := w.c.GrantConsent(w.as("jane"), d); codeOf(err) != core.CodeInvalid {
			t.Errorf("consent for %s: %v", d, err)
		}
	}
	r := must(w.c.CreateRequest(w.as("support"), w.u["jane"].ID, "ticket", time.Hour))
	if _, err := w.c.Decide(w.as("approver"), r.ID, true, 30*time.Minute, ""); codeOf(err) != core.CodeInvalid {
		t.Errorf("approve for 30m: %v", err)
	}
	if _, err := w.c.Decide(w.as("approver"), r.ID, true, 49*time.Hour, ""); codeOf(err) != core.CodeInvalid {
		t.Errorf("approve for 49h: %v", err)
	}
	w.must(w.c.Decide(w.as("approver"), r.ID, true, 48*time.Hour, ""))
	pol := w.c.Policy()
	if pol.DurationLimit() != 48*time.Hour || pol.ConsentLimit() != 48*time.Hour || pol.DefaultPick() != time.Hour {
		t.Errorf("limits %s %s %s", pol.DurationLimit(), pol.ConsentLimit(), pol.DefaultPick())
	}
}

// What an approver may do with a request is known before they try, with
// the reason core gives when they do.
func TestRequestActionsUpFront(t *testing.T) {
	w := newWorld(t)
	w.must(w.c.SetPolicy(w.cli, map[string]string{"approvals_required": "2"}))
	own := must(w.c.CreateRequest(w.as("support"), w.u["jane"].ID, "ticket", time.Hour))
	other := must(w.c.CreateRequest(w.as("support"), w.u["bob"].ID, "ticket", time.Hour)) // bob has no consent
	ids := []string{own.ID, other.ID}

	got := must(w.c.RequestActionsFor(w.as("support"), ids))
	if codeOf(got[own.ID].Decide) != core.CodeOwnRequest || got[own.ID].Cancel != nil {
		t.Errorf("own request: %+v", got[own.ID])
	}
	if got[own.ID].Blocked != nil {
		t.Errorf("jane consented, yet: %v", got[own.ID].Blocked)
	}
	if codeOf(got[other.ID].Blocked) != core.CodeNoConsent {
		t.Errorf("bob has no consent, yet: %v", got[other.ID].Blocked)
	}
	_, err := w.c.Decide(w.as("support"), own.ID, true, time.Hour, "")
	if codeOf(err) != codeOf(got[own.ID].Decide) {
		t.Errorf("up front %v, at y %v", got[own.ID].Decide, err)
	}

	got = must(w.c.RequestActionsFor(w.as("approver"), ids))
	if got[own.ID].Decide != nil || codeOf(got[own.ID].Cancel) != core.CodeNotPermitted {
		t.Errorf("approver: %+v", got[own.ID])
	}
	w.must(w.c.Decide(w.as("approver"), own.ID, true, time.Hour, ""))
	got = must(w.c.RequestActionsFor(w.as("approver"), ids))
	if codeOf(got[own.ID].Decide) != core.CodeAlreadyApproved {
		t.Errorf("after approving once: %+v", got[own.ID])
	}
	w.must(w.c.Decide(w.as("approver2"), own.ID, true, time.Hour, ""))
	got = must(w.c.RequestActionsFor(w.as("approver2"), ids))
	if codeOf(got[own.ID].Decide) != core.CodeAlreadyDecided {
		t.Errorf("after approval: %+v", got[own.ID])
	}

	// While impersonating, deciding and consent changes are refused up front.
	w.must(w.c.Start(w.as("owner"), w.u["approver"].ID, "ticket"))
	got = must(w.c.RequestActionsFor(w.as("owner"), ids))
	if codeOf(got[other.ID].Decide) != core.CodeImpersonating {
		t.Errorf("owner impersonating: %+v", got[other.ID])
	}
	self := must(w.c.SelfActionsFor(w.as("owner")))
	if codeOf(self.Consent) != core.CodeImpersonating || codeOf(self.Settings) != core.CodeImpersonating {
		t.Errorf("while impersonating: %+v", self)
	}
	if self := must(w.c.SelfActionsFor(w.as("jane"))); self.Consent != nil || codeOf(self.Settings) != core.CodeNotPermitted {
		t.Errorf("jane: %+v", self)
	}
	if _, err := w.c.RequestActionsFor(w.as("jane"), ids); codeOf(err) != core.CodeNotPermitted {
		t.Errorf("member: %v", err)
	}
}

// A request-mode person with a pending request is told it waits for an
// approver, not to ask again.
func TestImpersonateHintWithPendingRequest(t *testing.T) {
	w := newWorld(t)
	err := w.actionsOn(w.as("support"), w.u["jane"].ID).Impersonate
	if !strings.Contains(err.Error(), "press r to request one") {
		t.Fatalf("no request yet: %v", err)
	}
	r := must(w.c.CreateRequest(w.as("support"), w.u["jane"].ID, "ticket", time.Hour))
	err = w.actionsOn(w.as("support"), w.u["jane"].ID).Impersonate
	if codeOf(err) != core.CodeNeedsApproval || !strings.Contains(err.Error(), r.ID+" to impersonate Jane Doe is waiting for an approver") {
		t.Fatalf("pending: %v", err)
	}
	if err := w.actionsOn(w.as("support"), w.u["jane"].ID).Request; !strings.Contains(err.Error(), "under Approvals") {
		t.Fatalf("request again: %v", err)
	}
}

// A running session's event counter is current in the running sessions
// core keeps in memory, not only in the store.
func TestActiveSessionCountsEventsLive(t *testing.T) {
	w := newWorld(t)
	s := must(w.c.Start(w.as("lead"), w.u["jane"].ID, "ticket"))
	for range 2 {
		w.must(w.c.RecordAction(w.as("lead"), "look", nil))
	}
	stored := must(w.c.SystemSession(s.ID))
	act := w.c.SystemActiveSessions()
	if len(act) != 1 || act[0].Events != 3 || stored.Events != 3 {
		t.Fatalf("events: running %+v, stored %d; want 3", act, stored.Events)
	}
}

// ActionsOn answers as the actions themselves would: the menu of a user
// never offers what core then refuses, nor greys what it would allow.
func TestActionsOnAgreesWithTheActions(t *testing.T) {
	w := newWorld(t)
	for _, tc := range []struct{ who, on string }{
		{"jane", "joe"}, {"jane", "jane"}, {"gstaff", "jane"}, {"gstaff", "ivan"},
		{"lead", "jane"}, {"approver", "ivan"}, {"support", "jane"},
	} {
		p, id := w.as(tc.who), w.u[tc.on].ID
		a := w.actionsOn(p, id)
		_, sessErr := w.c.Sessions(p, id, "", 1)
		_, auditErr := w.c.Audit(p, core.AuditQuery{Subject: id}, 0, true, 1)
		if codeOf(a.Sessions) != codeOf(sessErr) || codeOf(a.Audit) != codeOf(auditErr) {
			t.Errorf("%s on %s: ActionsOn sessions/audit %v/%v, the reads %v/%v", tc.who, tc.on, a.Sessions, a.Audit, sessErr, auditErr)
		}
	}
	// While impersonating, an owner's steps are refused as such, up front.
	w.must(w.c.Start(w.as("owner"), w.u["jane"].ID, "ticket"))
	a := w.actionsOn(w.as("owner"), w.u["joe"].ID)
	for act, err := range a.Admin {
		if codeOf(err) != core.CodeImpersonating {
			t.Errorf("%s while impersonating: %v", act, err)
		}
	}
	if codeOf(a.Request) != core.CodeImpersonating || codeOf(a.Impersonate) != core.CodeAlreadyImpersonating {
		t.Errorf("request/impersonate while impersonating: %v / %v", a.Request, a.Impersonate)
	}
	if n := len(w.events(core.EvActionBlocked)); n != 0 {
		t.Errorf("asking recorded %d refusals", n)
	}
}

// Abilities answers from the person's current record: a demoted approver
// loses their tabs and deciding at once, though their principal was taken
// before; and while someone impersonates, the tabs are the target's and
// their own acts meet the impersonation block, as the acts themselves do.
func TestAbilitiesFollowTheCurrentRecord(t *testing.T) {
	w := newWorld(t)
	approver := w.as("approver")
	a := must(w.c.Abilities(approver))
	for _, cp := range []core.Capability{core.CapUsers, core.CapApprovals, core.CapSessions, core.CapAudit} {
		if err := a.Shows(cp); err != nil {
			t.Errorf("approver: %s refused: %v", cp, err)
		}
	}
	if err := a.May(core.ActDecide); err != nil {
		t.Errorf("approver may not decide: %v", err)
	}
	if codeOf(a.Shows(core.CapSettings)) != core.CodeNotPermitted || codeOf(a.May(core.ActTerminate)) != core.CodeNotPermitted {
		t.Errorf("an admin gets settings %v, terminate %v", a.Shows(core.CapSettings), a.May(core.ActTerminate))
	}

	member, no := core.RoleMember, false
	w.must(w.c.UpdateUser(w.cli, "approver@acme.test", core.UserChange{Role: &member, Approver: &no}))
	a = must(w.c.Abilities(approver))
	for _, cp := range []core.Capability{core.CapUsers, core.CapApprovals, core.CapSessions, core.CapAudit} {
		if codeOf(a.Shows(cp)) != core.CodeNotPermitted {
			t.Errorf("demoted: %s = %v, want not_permitted", cp, a.Shows(cp))
		}
	}
	if codeOf(a.May(core.ActDecide)) != core.CodeNotPermitted {
		t.Errorf("demoted: decide = %v", a.May(core.ActDecide))
	}
	if err := a.Shows(""); err != nil {
		t.Errorf("everyone's tab refused: %v", err)
	}

	owner := w.as("owner")
	a = must(w.c.Abilities(owner))
	if a.Viewer.ID != w.u["owner"].ID || a.Shows(core.CapSettings) != nil || a.May(core.ActTerminate) != nil {
		t.Errorf("owner: viewer %s, settings %v, terminate %v", a.Viewer.Email, a.Shows(core.CapSettings), a.May(core.ActTerminate))
	}
	s := must(w.c.Start(owner, w.u["jane"].ID, "ticket #1"))
	a = must(w.c.Abilities(owner))
	if a.Viewer.ID != w.u["jane"].ID {
		t.Errorf("impersonating: viewer %s, want jane", a.Viewer.Email)
	}
	for _, cp := range []core.Capability{core.CapUsers, core.CapSessions, core.CapSettings, core.CapAdmin} {
		if codeOf(a.Shows(cp)) != core.CodeNotPermitted {
			t.Errorf("as jane: %s = %v, want jane's refusal", cp, a.Shows(cp))
		}
	}
	up := a.May(core.ActTerminate)
	if codeOf(up) != core.CodeImpersonating {
		t.Errorf("impersonating: terminate = %v, want the impersonation block", up)
	}
	if err := w.c.Terminate(owner, s.ID); codeOf(err) != codeOf(up) || err.Error() != up.Error() {
		t.Errorf("up front %v, at the key %v", up, err)
	}

	var zero core.Abilities
	if zero.Shows(core.CapUsers) == nil || zero.May(core.ActDecide) == nil {
		t.Error("the zero Abilities allows")
	}
}
