package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Init creates the root org, the default policy and its first owner in a
// new database.
func (c *Core) Init(p Principal, ownerEmail, ownerName, orgName string) (User, error) {
	if c.Initialized() {
		return User{}, refuse(CodeConflict, "this database is already initialised (root org %q)", c.RootOrg().Name)
	}
	if orgName == "" {
		orgName = "Root"
	}
	var owner User
	err := c.update(func(t *txn) error {
		org, err := t.addOrg(p, orgName, "")
		if err != nil {
			return err
		}
		if err := t.PutPolicy(DefaultPolicy()); err != nil {
			return err
		}
		t.policyChanged = true
		owner, err = t.addUser(p, NewUser{Email: ownerEmail, Name: ownerName, Role: RoleOwner, Org: org.ID, Approver: true})
		return err
	})
	return owner, err
}

// CreateOrg adds a customer org under parent (a name; "" = the root org).
func (c *Core) CreateOrg(p Principal, name, parent string) (Org, error) {
	n := change(CapAdmin, "adding an org")
	if err := c.check(p, n); err != nil {
		return Org{}, err
	}
	var o Org
	err := c.update(func(t *txn) error {
		if _, err := authorize(t, p, n); err != nil {
			return err
		}
		parentID := c.RootOrg().ID
		if parentID == "" {
			return refuse(CodeConflict, "actas is not initialised yet: run actas init first")
		}
		if parent != "" {
			po, err := t.OrgByName(parent)
			if err != nil {
				return notFound("no org named %q (see actas org list)", parent)
			}
			parentID = po.ID
		}
		var err error
		o, err = t.addOrg(p, name, parentID)
		return err
	})
	return o, err
}

func (t *txn) addOrg(p Principal, name, parent string) (Org, error) {
	name, err := checkName("org name", name, 100)
	if err != nil {
		return Org{}, err
	}
	if _, err := t.OrgByName(name); err == nil {
		return Org{}, refuse(CodeConflict, "an org named %q already exists", name)
	}
	n, err := t.NextID("org")
	if err != nil {
		return Org{}, err
	}
	o := Org{ID: formatID("org", n), Name: name, Parent: parent, Created: t.now}
	if err := t.PutOrg(o); err != nil {
		return Org{}, err
	}
	t.orgs = true
	_, err = t.record(Event{Type: EvOrgCreated, Actor: p.ref(), Org: o.ID}, map[string]any{"name": name, "parent": parent})
	return o, err
}

// Orgs lists every org.
func (c *Core) Orgs() []Org {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]Org, 0, len(c.orgs))
	for _, o := range c.orgs {
		out = append(out, o)
	}
	slices.SortFunc(out, func(a, b Org) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// NewUser is what adding a user takes. Org is an org name or ID ("" = root).
type NewUser struct {
	Email    string
	Name     string
	Role     Role
	Org      string
	Status   Status // default active
	Kind     Kind   // default human
	Mode     Mode   // default never
	Approver bool
}

// CreateUser adds one user.
func (c *Core) CreateUser(p Principal, nu NewUser) (User, error) {
	n := change(CapAdmin, "adding a user")
	if err := c.check(p, n); err != nil {
		return User{}, err
	}
	var u User
	err := c.update(func(t *txn) error {
		if _, err := authorize(t, p, n); err != nil {
			return err
		}
		var err error
		u, err = t.addUser(p, nu)
		return err
	})
	return u, err
}

// resolveOrg finds an org by name or ID.
func (t *txn) resolveOrg(ref string) (Org, error) {
	if o, ok := t.orgRefs[ref]; ok {
		return o, nil
	}
	key := ref
	if ref == "" {
		ref = t.c.RootOrg().ID
	}
	o, err := t.Org(ref)
	if err != nil {
		if o, err = t.OrgByName(ref); err != nil {
			return Org{}, invalid("org", "no org named %q (see actas org list)", ref)
		}
	}
	if t.orgRefs != nil {
		t.orgRefs[key] = o
	}
	return o, nil
}

// validateUser checks a new user's fields and fills defaults.
func (t *txn) validateUser(nu NewUser) (User, error) {
	email, err := checkEmail(nu.Email)
	if err != nil {
		return User{}, err
	}
	name, err := checkName("name", nu.Name, 200)
	if err != nil {
		return User{}, err
	}
	u := User{Email: email, Name: name, Role: nu.Role, Status: nu.Status, Kind: nu.Kind, Mode: nu.Mode, Approver: nu.Approver, Created: t.now}
	if u.Role, err = orDefault(u.Role, RoleMember, ParseRole); err != nil {
		return User{}, err
	}
	if u.Status, err = orDefault(u.Status, StatusActive, ParseStatus); err != nil {
		return User{}, err
	}
	if u.Kind, err = orDefault(u.Kind, KindHuman, ParseKind); err != nil {
		return User{}, err
	}
	if u.Mode, err = orDefault(u.Mode, ModeNever, ParseMode); err != nil {
		return User{}, err
	}
	if err := memberSettings(email, u.Role, u.Mode, u.Approver); err != nil {
		return User{}, err
	}
	org, err := t.resolveOrg(nu.Org)
	if err != nil {
		return User{}, err
	}
	u.Org = org.ID
	return u, nil
}

// orDefault parses an enum value given in any case, or takes the default.
func orDefault[T ~string](v, def T, parse func(string) (T, error)) (T, error) {
	if v == "" {
		return def, nil
	}
	return parse(string(v))
}

func (t *txn) addUser(p Principal, nu NewUser) (User, error) {
	u, err := t.validateUser(nu)
	if err != nil {
		return User{}, err
	}
	if err := t.emailFree(u.Email); err != nil {
		return User{}, err
	}
	d, err := prepareDetails(userCreatedDetails(u))
	if err != nil {
		return User{}, err
	}
	return t.insertUser(p, u, d)
}

// userCreatedDetails are the details of u's user.created event.
func userCreatedDetails(u User) map[string]any {
	return map[string]any{"name": u.Name, "role": string(u.Role), "status": string(u.Status), "kind": string(u.Kind), "mode": string(u.Mode), "approver": u.Approver}
}

// insertUser stores u, validated and with a free email, under a new ID
// and records user.created with details d (prepareDetails).
func (t *txn) insertUser(p Principal, u User, d json.RawMessage) (User, error) {
	n, err := t.NextID("user")
	if err != nil {
		return User{}, err
	}
	u.ID = formatID("usr", n)
	u.Created = t.now
	if err := t.putUser(u); err != nil {
		return User{}, err
	}
	if _, err := t.recordPrepared(Event{Type: EvUserCreated, Actor: p.ref(), Subject: u.Ref(), Org: u.Org}, d); err != nil {
		return User{}, err
	}
	uu := u
	t.publish(Change{Kind: ChangeUser, User: &uu})
	return u, nil
}

// emailFree refuses an email (as stored) that a user already has.
func (t *txn) emailFree(email string) error {
	if _, err := t.UserByEmail(email); err == nil {
		return refuse(CodeConflict, "a user with email %s already exists", email)
	}
	return nil
}

// UserChange is a partial update; nil fields stay as they are.
type UserChange struct {
	Name     *string
	Role     *Role
	Status   *Status
	Mode     *Mode
	Approver *bool
}

// UpdateUser changes a user's settings. Leaving active (suspended, deleted,
// …) ends every session the user is part of at once.
func (c *Core) UpdateUser(p Principal, email string, ch UserChange) (User, error) {
	n := change(CapSettings, "changing a user")
	if err := c.check(p, n); err != nil {
		return User{}, err
	}
	var u User
	err := c.update(func(t *txn) error {
		me, err := authorize(t, p, n)
		if err != nil {
			return err
		}
		u, err = t.UserByEmail(normaliseEmail(email))
		if err != nil {
			return notFound("no user with email %s", email)
		}
		if p.System == "" && u.ID == p.User.ID && (ch.Role != nil || ch.Status != nil) {
			return refuse(CodeSelf, "you cannot change your own role or status")
		}
		if err := outranks(p, me, u); err != nil {
			return err
		}
		old := u
		diff := map[string]any{}
		if ch.Name != nil {
			if u.Name, err = checkName("name", *ch.Name, 200); err != nil {
				return err
			}
		}
		if ch.Role != nil {
			if u.Role, err = ParseRole(string(*ch.Role)); err != nil {
				return err
			}
		}
		if ch.Status != nil {
			if u.Status, err = ParseStatus(string(*ch.Status)); err != nil {
				return err
			}
		}
		if ch.Mode != nil {
			if u.Mode, err = ParseMode(string(*ch.Mode)); err != nil {
				return err
			}
		}
		if ch.Approver != nil {
			u.Approver = *ch.Approver
		}
		if err := memberSettings(u.Email, u.Role, u.Mode, u.Approver); err != nil {
			return err
		}
		if p.System == "" && u.Role.Level() > me.Role.Level() {
			return refuse(CodeHigherPrivilege, "you cannot give a role above your own (%s)", me.Role)
		}
		if err := lastOwnerCheck(t, old, u.Role, u.Status); err != nil {
			return err
		}
		for k, pair := range map[string][2]any{
			"name": {old.Name, u.Name}, "role": {old.Role, u.Role}, "status": {old.Status, u.Status},
			"mode": {old.Mode, u.Mode}, "approver": {old.Approver, u.Approver},
		} {
			if pair[0] != pair[1] {
				diff[k] = fmt.Sprintf("%v -> %v", pair[0], pair[1])
			}
		}
		if len(diff) == 0 {
			return nil
		}
		if err := t.putUser(u); err != nil {
			return err
		}
		if _, err := t.record(Event{Type: EvUserUpdated, Actor: p.ref(), Subject: u.Ref(), Org: u.Org}, diff); err != nil {
			return err
		}
		uu := u
		t.publish(Change{Kind: ChangeUser, User: &uu})
		if old.Status == StatusActive && u.Status != StatusActive {
			reason := endReasonForStatus(u.Status)
			t.publish(Change{Kind: ChangeLogout, Logout: &Logout{User: u.ID, Reason: reason,
				Message: logoutMessage(reason, p.ref())}})
			return t.endSessionsOn(u.ID, reason, p.ref())
		}
		// Losing the right to impersonate ends what they run now, not
		// only what they would start next.
		if u.Mode == ModeNever || u.Role.Level() < RoleSupport.Level() {
			return t.endSessionsBy(u.ID, EndPermissionRemoved, p.ref())
		}
		return nil
	})
	return u, err
}

// ImportError lists every bad line of an import.
type ImportError struct{ Lines []LineError }

// LineError is one bad input line.
type LineError struct {
	Line int
	Err  error
}

func (e *ImportError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d bad line(s), nothing imported:", len(e.Lines))
	for _, l := range e.Lines {
		fmt.Fprintf(&b, "\n  line %d: %v", l.Line, l.Err)
	}
	return b.String()
}

// ImportUsers adds every user in one transaction, or none: each row is
// validated (line numbers as given in rows[i].Line) and all problems are
// reported together.
func (c *Core) ImportUsers(p Principal, rows []ImportRow) (int, error) {
	return c.ImportUsersWith(p, rows, ImportOptions{})
}

// ImportOptions tune ImportUsersWith.
type ImportOptions struct {
	// Batch > 0 commits the users Batch at a time, after checking every
	// row first, so that one transaction does not hold a million users
	// (5 GB). A failure then leaves the batches before it in the store:
	// use it only on a database that is thrown away when the import fails
	// — the command line imports into a copy of the file and puts it in
	// place at the end (see cli importUsers).
	Batch int
	// Progress, if set, is told how many users are in after each batch,
	// and 0 once the rows are checked.
	Progress func(done int)
}

// ImportUsersWith is ImportUsers, in batches when opt.Batch > 0.
func (c *Core) ImportUsersWith(p Principal, rows []ImportRow, opt ImportOptions) (int, error) {
	if err := c.guard(p, CapAdmin, "importing users"); err != nil {
		return 0, err
	}
	if opt.Batch <= 0 {
		err := c.update(func(t *txn) error {
			if _, err := authorize(t, p, change(CapAdmin, "importing users")); err != nil {
				return err
			}
			order, err := t.checkImport(rows)
			if err != nil {
				return err
			}
			users, err := t.prepareRows(rows, order)
			if err != nil {
				return err
			}
			return t.insertPrepared(p, users)
		})
		if err != nil {
			return 0, err
		}
		return len(rows), nil
	}
	var order []int
	err := c.st.View(func(tx ReadTx) error {
		t := &txn{c: c, now: c.clock.Now(), Tx: readOnly{tx}}
		var err error
		order, err = t.checkImport(rows)
		return err
	})
	if err != nil {
		return 0, err
	}
	if opt.Progress != nil {
		opt.Progress(0)
	}
	// A pipeline: the next batch is validated and its events' details
	// encoded here, in a read transaction, while the store's one committer
	// writes the batch before it. Every row was checked above against
	// this file, which nothing else writes (see Batch), so the committer
	// only numbers, stores and records them.
	batches := make(chan preparedBatch, 1)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		defer close(batches)
		for done := 0; done < len(order); done += opt.Batch {
			b := c.prepareImport(rows, order[done:min(done+opt.Batch, len(order))])
			select {
			case batches <- b:
			case <-stop:
				return
			}
			if b.err != nil {
				return
			}
		}
	}()
	done := 0
	for b := range batches {
		if b.err != nil {
			return done, b.err
		}
		err := c.update(func(t *txn) error { return t.insertPrepared(p, b.users) })
		if err != nil {
			return done, err
		}
		done += len(b.users)
		if opt.Progress != nil {
			opt.Progress(done)
		}
	}
	return len(rows), nil
}

// preparedBatch is a batch of import rows ready for insertUser.
type preparedBatch struct {
	users []preparedUser
	err   error
}

type preparedUser struct {
	line    int
	u       User
	details json.RawMessage
}

// prepareImport prepares a batch (prepareRows) in a read transaction of
// its own, outside the committer.
func (c *Core) prepareImport(rows []ImportRow, part []int) preparedBatch {
	var b preparedBatch
	b.err = c.st.View(func(tx ReadTx) error {
		t := &txn{c: c, now: c.clock.Now(), Tx: readOnly{tx}}
		var err error
		b.users, err = t.prepareRows(rows, part)
		return err
	})
	return b
}

// prepareRows builds the users of the rows at the positions part lists
// (checkImport checked them: this builds them again rather than keep a
// million users alive meanwhile) and their events' details.
func (t *txn) prepareRows(rows []ImportRow, part []int) ([]preparedUser, error) {
	t.orgRefs = map[string]Org{}
	defer func() { t.orgRefs = nil }()
	users := make([]preparedUser, 0, len(part))
	for _, i := range part {
		u, err := t.validateUser(rows[i].User)
		var d json.RawMessage
		if err == nil {
			d, err = prepareDetails(userCreatedDetails(u))
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", rows[i].Line, err)
		}
		users = append(users, preparedUser{rows[i].Line, u, d})
	}
	return users, nil
}

// insertPrepared adds prepared users, whose emails checkImport found free
// in this file.
func (t *txn) insertPrepared(p Principal, users []preparedUser) error {
	for _, r := range users {
		if _, err := t.insertUser(p, r.u, r.details); err != nil {
			return fmt.Errorf("line %d: %w", r.line, err)
		}
	}
	return nil
}

// checkImport validates every row against the store and returns the
// order to add them in, or an ImportError listing every bad line.
//
// Users are added in email order, so the email index grows at one end
// instead of taking the inserts in random places, which slows one bolt
// transaction down as it grows (1M users took 3½ min in file order). Users
// get their IDs in that order too.
func (t *txn) checkImport(rows []ImportRow) ([]int, error) {
	t.orgRefs = map[string]Org{}
	defer func() { t.orgRefs = nil }()
	var bad []LineError
	seen := make(map[string]int, len(rows))
	emails := make([]string, len(rows)) // as stored
	for i, r := range rows {
		if r.Err != nil {
			bad = append(bad, LineError{r.Line, r.Err})
			continue
		}
		u, err := t.validateUser(r.User)
		if err == nil {
			if prev, dup := seen[u.Email]; dup {
				err = fmt.Errorf("email %s repeats line %d", u.Email, prev)
			} else {
				err = t.emailFree(u.Email)
			}
			seen[u.Email] = r.Line
			emails[i] = u.Email
		}
		if err != nil {
			bad = append(bad, LineError{r.Line, err})
		}
	}
	if len(bad) > 0 {
		return nil, &ImportError{Lines: bad}
	}
	order := make([]int, len(rows))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(emails[a], emails[b]) })
	return order, nil
}

// ImportRow is one parsed input line; Err is a parse error for it.
type ImportRow struct {
	Line int
	User NewUser
	Err  error
}

// SystemUserByEmail finds a user by email. System API: no principal (the
// command line's wiring, the demo); people ask PersonByEmail.
func (c *Core) SystemUserByEmail(email string) (User, error) {
	e := normaliseEmail(email)
	var u User
	err := c.st.View(func(tx ReadTx) error {
		var err error
		u, err = tx.UserByEmail(e)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return User{}, notFound("no user with email %s", email)
	}
	return u, err
}

// SystemUser finds a user by ID. System API: no principal (the command
// line's wiring, the SSH server's checks of its consoles); people ask Me,
// Person or People.
func (c *Core) SystemUser(id string) (User, error) {
	var u User
	err := c.st.View(func(tx ReadTx) error {
		var err error
		u, err = tx.User(id)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return User{}, notFound("no user %s", id)
	}
	return u, err
}

// UserCount is the number of users (0 if the store cannot say).
func (c *Core) UserCount() int {
	n := 0
	_ = c.st.View(func(tx ReadTx) error {
		var err error
		n, err = tx.UserCount()
		return err
	})
	return n
}

// visibleOrgs is the set of orgs whose users p (viewer, as authorize read
// them) may see, nil for all (the command line, and staff of the root org).
func (c *Core) visibleOrgs(p Principal, viewer User) map[string]bool {
	if p.System != "" {
		return nil
	}
	c.mu.RLock()
	orgs := c.orgs
	root := c.rootOrg
	c.mu.RUnlock()
	if viewer.Org == root {
		return nil
	}
	allowed := map[string]bool{}
	for id := range orgs {
		allowed[id] = inSubtree(orgs, viewer.Org, id)
	}
	return allowed
}

// SearchUsers returns a page of the users p may see, in name order, whose
// name or email contains query (all when empty), starting at position from
// (see UserPage). ctx cancels a stale search when the next keystroke
// arrives.
//
// A search waits for the users' index (Directory), which the first call
// starts building in the background; until it is ready, the plain list of
// someone who sees every user is read from the store's name index, so a
// console's first frame does not wait for it.
func (c *Core) SearchUsers(ctx context.Context, p Principal, query string, from, limit int) (UserPage, error) {
	me, err := c.allowed(p, see(CapUsers))
	if err != nil {
		return UserPage{Next: -1, Total: -1}, err
	}
	allowed := c.visibleOrgs(p, me)
	query = normalQuery(query)
	c.dir.Warm()
	if query == "" && allowed == nil && !c.dir.Ready() {
		return c.usersFromIndex(from, limit)
	}
	if err := c.dir.wait(ctx); err != nil {
		return UserPage{Next: -1, Total: -1}, err
	}
	dp, err := c.dir.find(ctx, query, from, limit, allowed)
	if err != nil {
		return UserPage{Next: -1, Total: -1}, err
	}
	page := UserPage{Users: make([]User, 0, len(dp.ids)), Next: dp.next, Total: dp.total}
	err = c.st.View(func(tx ReadTx) error {
		for _, id := range dp.ids {
			u, err := tx.User(id)
			if errors.Is(err, ErrNotFound) {
				continue // gone since the index saw it
			}
			if err != nil {
				return err
			}
			page.Users = append(page.Users, u)
		}
		return nil
	})
	if err != nil {
		return UserPage{Next: -1, Total: -1}, err
	}
	return page, nil
}

// usersFromIndex reads rows from…from+limit of every user, in table
// order, from the store's name index: walked from the nearer end, so the
// last page is as quick as the first.
func (c *Core) usersFromIndex(from, limit int) (UserPage, error) {
	page := UserPage{Next: -1, Total: -1}
	err := c.st.View(func(tx ReadTx) error {
		n, err := tx.UserCount()
		if err != nil {
			return err
		}
		page.Total = n
		from = max(from, 0)
		end := min(from+limit, n)
		if from >= end {
			return nil
		}
		reverse := from > n-end
		skip := from
		if reverse {
			skip = n - end
		}
		var uerr error
		err = tx.ScanUserIndex(reverse, func(e UserIndexEntry) bool {
			if skip > 0 {
				skip--
				return true
			}
			var u User
			if u, uerr = e.User(); uerr != nil {
				return false
			}
			page.Users = append(page.Users, u)
			return len(page.Users) < end-from
		})
		if err == nil {
			err = uerr
		}
		if err != nil {
			return err
		}
		if reverse {
			slices.Reverse(page.Users)
		}
		if end < n {
			page.Next = end
		}
		return nil
	})
	return page, err
}

// EachUser calls fn for every user p may see, in name order, from one
// snapshot, until fn returns an error; a cancelled ctx stops it too. It
// streams: the command line lists a million users in constant memory.
func (c *Core) EachUser(ctx context.Context, p Principal, fn func(User) error) error {
	me, err := c.allowed(p, see(CapUsers))
	if err != nil {
		return err
	}
	allowed := c.visibleOrgs(p, me)
	return c.st.View(func(tx ReadTx) error {
		var err error
		n := 0
		scan := tx.ScanUserIndex(false, func(e UserIndexEntry) bool {
			if n++; n&4095 == 0 {
				if err = ctx.Err(); err != nil {
					return false
				}
			}
			if allowed != nil && !allowed[string(e.Org)] {
				return true
			}
			var u User
			if u, err = e.User(); err != nil {
				return false
			}
			err = fn(u)
			return err == nil
		})
		if err != nil {
			return err
		}
		return scan
	})
}

// SetTheme stores the theme of whoever p is showing: themselves, or the
// target while impersonating (recorded as an action done as them).
func (c *Core) SetTheme(p Principal, theme string) error {
	theme, err := checkText("theme", theme, 1, 40)
	if err != nil {
		return err
	}
	return c.update(func(t *txn) error {
		me, err := authorize(t, p, see(""))
		if err != nil {
			return err
		}
		id := me.ID
		s, impersonating, err := sessionBy(t, me.ID)
		if err != nil {
			return err
		}
		if impersonating {
			id = s.Target
		}
		u, err := t.User(id)
		if err != nil {
			return err
		}
		u.Theme = theme
		if err := t.putUser(u); err != nil {
			return err
		}
		if impersonating {
			_, err = t.record(Event{Type: EvActionPerformed, Actor: p.ref(), Subject: u.Ref(), Org: u.Org, Session: s.ID},
				map[string]any{"action": "theme", "theme": theme})
		}
		return err
	})
}

// memberSettings refuses staff settings on someone who is not staff: a
// member never impersonates or approves. The refusal names the setting
// (Field "mode" or "approver") that has to change too, so that a staff
// member being made a member is told to give up their mode as well.
func memberSettings(email string, role Role, mode Mode, approver bool) error {
	switch {
	case role.IsStaff():
		return nil
	case mode != ModeNever:
		return invalid("mode", "%s would be a %s with impersonation mode %s: only staff can impersonate — set the mode to never as well", email, role, mode)
	case approver:
		return invalid("approver", "%s would be a %s who approves requests: only staff can approve — take the approver flag away as well", email, role)
	}
	return nil
}

// Staff lists the users whose role is support or above, in name order,
// for the owners' Settings page, from the store's staff index.
func (c *Core) Staff(p Principal) ([]User, error) {
	var out []User
	err := c.viewAs(p, see(CapSettings), func(tx ReadTx) error {
		var err error
		out, err = tx.StaffUsers()
		return err
	})
	slices.SortFunc(out, func(a, b User) int {
		if c := strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)); c != 0 {
			return c
		}
		return strings.Compare(a.Email, b.Email)
	})
	return out, err
}
