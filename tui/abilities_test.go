package tui

import (
	"strings"
	"testing"

	"github.com/actas/actas/core"
)

// The tabs are core's answer (Abilities), asked again when a change about
// the viewer arrives: a demoted approver loses their tabs at once, and a
// tab's number then says core's reason.
func TestTabsFollowCoresAbilities(t *testing.T) {
	f := newFixture(t, 30)
	sub := f.c.Hub().Subscribe(64)
	defer sub.Close()
	m := f.newModel(t, core.DemoApprover, 100, 30)
	drive(t, m, keyMsg("2"))
	tabs := func() string { return strings.SplitN(m.View(), "\n", 2)[0] }
	mustContain(t, tabs(), "1 Users", "2 Approvals", "3 Sessions", "4 Audit")

	member, no := core.RoleMember, false
	if _, err := f.c.UpdateUser(core.SystemPrincipal("test"), core.DemoApprover, core.UserChange{Role: &member, Approver: &no}); err != nil {
		t.Fatal(err)
	}
	drive(t, m, ChangeMsg{nextChange(t, sub, core.ChangeUser)})
	mustNotContain(t, tabs(), "1 Users", "2 Approvals", "3 Sessions", "4 Audit")
	mustContain(t, tabs(), "5 Account")
	mustContain(t, m.View(), "Account")
	drive(t, m, keyMsg("4"))
	mustContain(t, m.View(), "4 Audit is not shown: only admins, owners and approvers can read the audit log")
}
