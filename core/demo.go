package core

import (
	"fmt"
	"time"
)

// Demo people, fixed so that a newcomer and the tests can follow along.
const (
	DemoOwner    = "owner@acme.test"
	DemoApprover = "approver@acme.test"
	DemoSupport  = "support@acme.test"
	DemoLead     = "lead@acme.test"
	DemoRoot     = "root@acme.test"
	DemoJane     = "jane@globex.test"
	DemoBob      = "bob@globex.test"
	DemoIna      = "ina@globex.test"
	DemoGuest    = "guest@globex.test"
)

var demoFirst = []string{"Ada", "Ben", "Cleo", "Dev", "Eva", "Finn", "Gia", "Hugo", "Iris", "Jon", "Kai", "Lena",
	"Milo", "Nora", "Omar", "Pia", "Quinn", "Rosa", "Sven", "Tara", "Uma", "Vik", "Wren", "Xena", "Yuri", "Zoe"}
var demoLast = []string{"Abbott", "Baker", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Hale", "Ito", "Jensen",
	"Khan", "Lopez", "Meyer", "Novak", "Okafor", "Patel", "Quist", "Rossi", "Silva", "Tanaka", "Ueda", "Vogel",
	"Weber", "Xu", "Yilmaz", "Zhang"}

// DemoMember is the i-th generated demo member (1-based).
func DemoMember(i int) NewUser {
	first := demoFirst[i%len(demoFirst)]
	last := demoLast[(i/len(demoFirst))%len(demoLast)]
	return NewUser{Email: fmt.Sprintf("member%07d@globex.test", i), Name: fmt.Sprintf("%s %s %d", first, last, i),
		Role: RoleMember, Org: "Globex"}
}

// AddDemoMembers adds the generated members 1…n to org Globex, in
// transactions of 20,000: one bbolt transaction slows down as it grows.
func AddDemoMembers(c *Core, p Principal, n int) error { return addDemoMembers(c, p, n, nil) }

// addDemoMembers is AddDemoMembers, telling progress (if set) how many
// members are in after each transaction.
func addDemoMembers(c *Core, p Principal, n int, progress func(done int)) error {
	const chunk = 20_000
	for start := 1; start <= n; start += chunk {
		rows := make([]ImportRow, 0, min(chunk, n-start+1))
		for i := start; i < start+chunk && i <= n; i++ {
			rows = append(rows, ImportRow{Line: i, User: DemoMember(i)})
		}
		if _, err := c.ImportUsers(p, rows); err != nil {
			return err
		}
		if progress != nil {
			progress(start - 1 + len(rows))
		}
	}
	return nil
}

// SeedDemo fills an empty database with the demo data set of DESIGN. c must
// run on a clock that can be moved (a FakeClock) set a few hours in the
// past, so that the demo's history has real durations; SeedDemo advances it.
// It reports false without changing anything when the demo is already there.
func SeedDemo(c *Core, clock *FakeClock, members int) (bool, error) {
	return SeedDemoWith(c, clock, members, nil)
}

// SeedDemoWith is SeedDemo, telling progress (if set) how many generated
// members are in as they are added.
func SeedDemoWith(c *Core, clock *FakeClock, members int, progress func(done int)) (bool, error) {
	if c.Initialized() {
		if _, err := c.SystemUserByEmail(DemoOwner); err == nil {
			return false, nil
		}
		return false, refuse(CodeConflict, "this database holds other data; the demo needs its own (use another --data)")
	}
	cli := SystemPrincipal("demo")
	step := func(d time.Duration) { clock.Advance(d) }
	owner, err := c.Init(cli, DemoOwner, "Olivia Owner", "Acme")
	if err != nil {
		return false, err
	}
	if _, err := c.CreateOrg(cli, "Globex", ""); err != nil {
		return false, err
	}
	if _, err := c.SetPolicy(cli, map[string]string{"enabled": "true"}); err != nil {
		return false, err
	}
	direct, request := ModeDirect, ModeRequest
	yes := true
	if _, err := c.UpdateUser(cli, owner.Email, UserChange{Mode: &direct, Approver: &yes}); err != nil {
		return false, err
	}
	people := []NewUser{
		{Email: DemoApprover, Name: "Avery Approver", Role: RoleAdmin, Org: "Acme", Approver: true},
		{Email: DemoSupport, Name: "Sam Support", Role: RoleSupport, Org: "Acme", Mode: request},
		{Email: DemoLead, Name: "Lee Lead", Role: RoleSupport, Org: "Acme", Mode: direct},
		{Email: DemoRoot, Name: "Root Sysadmin", Role: RoleSysadmin, Org: "Acme"},
		{Email: DemoJane, Name: "Jane Doe", Role: RoleMember, Org: "Globex"},
		{Email: DemoBob, Name: "Bob Brown", Role: RoleMember, Org: "Globex"},
		{Email: DemoIna, Name: "Ina Inactive", Role: RoleMember, Org: "Globex", Status: StatusInactive},
		{Email: DemoGuest, Name: "Gus Guest", Role: RoleMember, Org: "Globex", Kind: KindGuest},
	}
	byEmail := map[string]User{owner.Email: owner}
	for _, nu := range people {
		u, err := c.CreateUser(cli, nu)
		if err != nil {
			return false, err
		}
		byEmail[u.Email] = u
	}
	if err := addDemoMembers(c, cli, members, progress); err != nil {
		return false, err
	}
	as := func(email string) Principal { return Principal{User: byEmail[email], Conn: "demo"} }

	// Jane consents; the lead helps her, then the owner does; both sessions end.
	step(10 * time.Minute)
	if _, err := c.GrantConsent(as(DemoJane), 72*time.Hour); err != nil {
		return false, err
	}
	step(5 * time.Minute)
	if _, err := c.Start(as(DemoLead), byEmail[DemoJane].ID, "ticket #4711: invoices missing"); err != nil {
		return false, err
	}
	step(3 * time.Minute)
	if _, err := c.RecordAction(as(DemoLead), "view invoices", map[string]any{"page": "/billing/invoices"}); err != nil {
		return false, err
	}
	step(9 * time.Minute)
	if err := c.End(as(DemoLead), EndExit); err != nil {
		return false, err
	}
	// Lead tries Bob, who has not consented: a denial on record.
	_, _ = c.Start(as(DemoLead), byEmail[DemoBob].ID, "quick look")
	step(40 * time.Minute)
	if _, err := c.Start(as(DemoOwner), byEmail[DemoJane].ID, "check the new dashboard"); err != nil {
		return false, err
	}
	step(2 * time.Minute)
	if _, err := c.RecordAction(as(DemoOwner), "update settings", map[string]any{"setting": "timezone", "api_token": "sk-demo-123"}); err != nil {
		return false, err
	}
	step(6 * time.Minute)
	if err := c.End(as(DemoOwner), EndExit); err != nil {
		return false, err
	}
	// Support asks to help Jane: pending in the approvals inbox (DESIGN's
	// demo data set; the README's SSH story approves it).
	step(time.Hour)
	if _, err := c.CreateRequest(as(DemoSupport), byEmail[DemoJane].ID, "Jane reports a broken export (ticket #4802)", time.Hour); err != nil {
		return false, err
	}
	return true, nil
}
