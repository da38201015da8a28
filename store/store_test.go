package store_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/actas/actas/core"
	"github.com/actas/actas/store"
)

func openTemp(t testing.TB) (*store.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data", "actas.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func update(t testing.TB, db *store.DB, fn func(tx core.Tx) error) {
	t.Helper()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

func view(t testing.TB, db *store.DB, fn func(tx core.ReadTx) error) {
	t.Helper()
	if err := db.View(fn); err != nil {
		t.Fatal(err)
	}
}

// fill sets every exported field of v, at any depth, to a distinct non-zero
// value, so a round trip through the codec shows any field it drops —
// including fields core adds later.
func fill(t *testing.T, v reflect.Value, n *int) {
	*n++
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d", *n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(*n) * 1_000_003)
	case reflect.Uint64:
		v.SetUint(uint64(*n) * 1_000_003)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fill(t, s.Index(i), n)
		}
		v.Set(s)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Unix(1_700_000_000+int64(*n), int64(*n)).UTC()))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(t, v.Field(i), n)
			}
		}
	default:
		t.Fatalf("fill: no rule for %s fields; teach the codec and this test", v.Type())
	}
}

func filled[T any](t *testing.T) T {
	var v T
	n := 0
	fill(t, reflect.ValueOf(&v).Elem(), &n)
	return v
}

// TestRoundTripEveryField stores values with every field set, and values
// with only their key set (zero times, nil slices), and reads them back.
func TestRoundTripEveryField(t *testing.T) {
	db, _ := openTemp(t)
	org, user, key := filled[core.Org](t), filled[core.User](t), filled[core.Key](t)
	req, sess, pol := filled[core.Request](t), filled[core.Session](t), filled[core.Policy](t)
	org0, user0, key0 := core.Org{ID: "org_0"}, core.User{ID: "usr_0"}, core.Key{Fingerprint: "SHA256:zero"}
	req0, sess0 := core.Request{ID: "req_0"}, core.Session{ID: "ses_0"}
	apiKey, ticket := filled[core.APIKey](t), filled[core.Ticket](t)
	update(t, db, func(tx core.Tx) error {
		return errors.Join(tx.PutOrg(org), tx.PutUser(user), tx.PutKey(key),
			tx.PutRequest(req), tx.PutSession(sess), tx.PutPolicy(pol),
			tx.PutOrg(org0), tx.PutUser(user0), tx.PutKey(key0),
			tx.PutRequest(req0), tx.PutSession(sess0), tx.PutAPIKey(apiKey), tx.PutTicket(ticket))
	})
	check := func(what string, got, want any, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s round trip:\n got %+v\nwant %+v", what, got, want)
		}
	}
	view(t, db, func(tx core.ReadTx) error {
		for _, w := range []core.Org{org, org0} {
			got, err := tx.Org(w.ID)
			check("org", got, w, err)
		}
		for _, w := range []core.User{user, user0} {
			got, err := tx.User(w.ID)
			check("user", got, w, err)
		}
		for _, w := range []core.Key{key, key0} {
			got, err := tx.Key(w.Fingerprint)
			check("key", got, w, err)
		}
		for _, w := range []core.Request{req, req0} {
			got, err := tx.Request(w.ID)
			check("request", got, w, err)
		}
		for _, w := range []core.Session{sess, sess0} {
			got, err := tx.Session(w.ID)
			check("session", got, w, err)
		}
		got, err := tx.Policy()
		check("policy", got, pol, err)
		gotKey, err := tx.APIKey(apiKey.Name)
		check("API key", gotKey, apiKey, err)
		gotTicket, err := tx.Ticket(ticket.Hash)
		check("ticket", gotTicket, ticket, err)
		bySession, err := tx.TicketsOf(ticket.Session)
		check("tickets of a session", bySession, []core.Ticket{ticket}, err)
		return nil
	})
	msg, msg0, ch, smtp := filled[core.OutboxMessage](t), core.OutboxMessage{ID: "msg_0"}, filled[core.Channel](t), filled[core.SMTPConfig](t)
	update(t, db, func(tx core.Tx) error {
		return errors.Join(tx.PutOutbox(msg), tx.PutOutbox(msg0), tx.PutChannel(ch), tx.PutSMTP(smtp))
	})
	view(t, db, func(tx core.ReadTx) error {
		for _, w := range []core.OutboxMessage{msg, msg0} {
			got, err := tx.OutboxMessage(w.ID)
			check("outbox message", got, w, err)
		}
		gotCh, err := tx.Channel(ch.ID)
		check("channel", gotCh, ch, err)
		gotSMTP, err := tx.SMTP()
		check("smtp", gotSMTP, smtp, err)
		return nil
	})
}

func TestLookupsOfMissingRecords(t *testing.T) {
	db, _ := openTemp(t)
	view(t, db, func(tx core.ReadTx) error {
		_, e1 := tx.Org("org_404")
		_, e2 := tx.OrgByName("nobody")
		_, e3 := tx.User("usr_404")
		_, e4 := tx.UserByEmail("no@example.com")
		_, e5 := tx.Key("SHA256:none")
		_, e6 := tx.Request("req_404")
		_, e7 := tx.Session("ses_404")
		_, e8 := tx.Policy()
		_, e9 := tx.AuditRecord(1)
		for i, err := range []error{e1, e2, e3, e4, e5, e6, e7, e8, e9} {
			if !errors.Is(err, core.ErrNotFound) {
				t.Errorf("lookup %d: err = %v, want core.ErrNotFound", i+1, err)
			}
		}
		return nil
	})
	err := db.Update(func(tx core.Tx) error { return tx.DeleteKey("SHA256:none") })
	if !errors.Is(err, core.ErrNotFound) {
		t.Errorf("DeleteKey of a missing key: err = %v, want core.ErrNotFound", err)
	}
}

func TestNextIDCountsPerKind(t *testing.T) {
	db, _ := openTemp(t)
	for round := uint64(1); round <= 3; round++ {
		update(t, db, func(tx core.Tx) error {
			for _, kind := range []string{"org", "user", "request", "session"} {
				n, err := tx.NextID(kind)
				if err != nil {
					return err
				}
				if n != round {
					t.Errorf("NextID(%s) = %d, want %d", kind, n, round)
				}
			}
			return nil
		})
	}
	if err := db.Update(func(tx core.Tx) error { _, err := tx.NextID("planet"); return err }); err == nil {
		t.Error("NextID of an unknown kind succeeded")
	}
}

func TestOrgNameIndex(t *testing.T) {
	db, _ := openTemp(t)
	update(t, db, func(tx core.Tx) error {
		return errors.Join(
			tx.PutOrg(core.Org{ID: "org_00000001", Name: "Operator"}),
			tx.PutOrg(core.Org{ID: "org_00000002", Name: "Acme", Parent: "org_00000001"}),
		)
	})
	update(t, db, func(tx core.Tx) error {
		return tx.PutOrg(core.Org{ID: "org_00000002", Name: "Acme Corp", Parent: "org_00000001"})
	})
	view(t, db, func(tx core.ReadTx) error {
		if _, err := tx.OrgByName("Acme"); !errors.Is(err, core.ErrNotFound) {
			t.Errorf("old name still found: %v", err)
		}
		o, err := tx.OrgByName("Acme Corp")
		if err != nil || o.ID != "org_00000002" {
			t.Errorf("OrgByName(new name) = %+v, %v", o, err)
		}
		orgs, err := tx.Orgs()
		if err != nil || len(orgs) != 2 || orgs[0].ID != "org_00000001" || orgs[1].Name != "Acme Corp" {
			t.Errorf("Orgs() = %+v, %v", orgs, err)
		}
		return nil
	})
	err := db.Update(func(tx core.Tx) error { return tx.PutOrg(core.Org{ID: "org_00000003", Name: "Operator"}) })
	if core.CodeOf(err) != core.CodeConflict {
		t.Errorf("second org named Operator: err = %v, want a conflict", err)
	}
}

func TestUserEmailIndexAndCount(t *testing.T) {
	db, _ := openTemp(t)
	jane := core.User{ID: "usr_00000001", Email: "jane@example.com", Name: "Jane", Role: core.RoleMember, Status: core.StatusActive}
	update(t, db, func(tx core.Tx) error {
		return errors.Join(tx.PutUser(jane), tx.PutUser(core.User{ID: "usr_00000002", Email: "bob@example.com"}))
	})
	jane.Email = "jane.doe@example.com"
	update(t, db, func(tx core.Tx) error { return tx.PutUser(jane) })
	view(t, db, func(tx core.ReadTx) error {
		if _, err := tx.UserByEmail("jane@example.com"); !errors.Is(err, core.ErrNotFound) {
			t.Errorf("old email still found: %v", err)
		}
		u, err := tx.UserByEmail("jane.doe@example.com")
		if err != nil || u != jane {
			t.Errorf("UserByEmail(new) = %+v, %v", u, err)
		}
		if n, err := tx.UserCount(); err != nil || n != 2 {
			t.Errorf("UserCount() = %d, %v; want 2 (an update is not a new user)", n, err)
		}
		return nil
	})
	err := db.Update(func(tx core.Tx) error {
		return tx.PutUser(core.User{ID: "usr_00000003", Email: "bob@example.com"})
	})
	if core.CodeOf(err) != core.CodeConflict {
		t.Errorf("a second user with bob's email: err = %v, want a conflict", err)
	}
	view(t, db, func(tx core.ReadTx) error {
		if u, err := tx.UserByEmail("bob@example.com"); err != nil || u.ID != "usr_00000002" {
			t.Errorf("bob's email now points to %+v, %v", u, err)
		}
		if n, _ := tx.UserCount(); n != 2 {
			t.Errorf("UserCount() = %d after a refused put, want 2", n)
		}
		return nil
	})
}

func TestForEachUserInIDOrderUntilError(t *testing.T) {
	db, _ := openTemp(t)
	update(t, db, func(tx core.Tx) error {
		for _, n := range []int{3, 1, 10, 2} {
			if err := tx.PutUser(core.User{ID: fmt.Sprintf("usr_%08d", n), Email: fmt.Sprintf("u%d@example.com", n)}); err != nil {
				return err
			}
		}
		return nil
	})
	var ids []string
	stop := errors.New("stop")
	err := db.View(func(tx core.ReadTx) error {
		return tx.ForEachUser(func(u core.User) error {
			ids = append(ids, u.ID)
			if len(ids) == 3 {
				return stop
			}
			return nil
		})
	})
	if !errors.Is(err, stop) {
		t.Errorf("ForEachUser returned %v, want fn's error", err)
	}
	if want := []string{"usr_00000001", "usr_00000002", "usr_00000003"}; !slices.Equal(ids, want) {
		t.Errorf("ForEachUser visited %v, want %v", ids, want)
	}
}

func fingerprints(keys []core.Key) []string {
	var fps []string
	for _, k := range keys {
		fps = append(fps, k.Fingerprint)
	}
	return fps
}

func TestKeysByUser(t *testing.T) {
	db, _ := openTemp(t)
	update(t, db, func(tx core.Tx) error {
		return errors.Join(
			tx.PutKey(core.Key{Fingerprint: "SHA256:a", UserID: "usr_00000001"}),
			tx.PutKey(core.Key{Fingerprint: "SHA256:b", UserID: "usr_00000001"}),
			tx.PutKey(core.Key{Fingerprint: "SHA256:c", UserID: "usr_00000002"}),
			// usr_00000010 shares a prefix with usr_00000001 but not the separator.
			tx.PutKey(core.Key{Fingerprint: "SHA256:d", UserID: "usr_000000010"}),
		)
	})
	keysOf := func(user string) []string {
		var keys []core.Key
		view(t, db, func(tx core.ReadTx) error {
			var err error
			keys, err = tx.Keys(user)
			return err
		})
		return fingerprints(keys)
	}
	if got := keysOf("usr_00000001"); !slices.Equal(got, []string{"SHA256:a", "SHA256:b"}) {
		t.Errorf("Keys(usr 1) = %v", got)
	}
	if got := keysOf(""); len(got) != 4 {
		t.Errorf("Keys(all) = %v, want 4 keys", got)
	}
	update(t, db, func(tx core.Tx) error {
		return errors.Join(
			tx.PutKey(core.Key{Fingerprint: "SHA256:b", UserID: "usr_00000002"}), // moves to user 2
			tx.DeleteKey("SHA256:a"),
		)
	})
	if got := keysOf("usr_00000001"); len(got) != 0 {
		t.Errorf("Keys(usr 1) after move and delete = %v, want none", got)
	}
	if got := keysOf("usr_00000002"); !slices.Equal(got, []string{"SHA256:b", "SHA256:c"}) {
		t.Errorf("Keys(usr 2) = %v", got)
	}
}

func requestIDs(reqs []core.Request) []string {
	var ids []string
	for _, r := range reqs {
		ids = append(ids, r.ID)
	}
	return ids
}

func TestRequestsByStatusNewestFirst(t *testing.T) {
	db, _ := openTemp(t)
	update(t, db, func(tx core.Tx) error {
		for n := 1; n <= 5; n++ {
			if err := tx.PutRequest(core.Request{ID: fmt.Sprintf("req_%08d", n), Status: core.RequestPending}); err != nil {
				return err
			}
		}
		return nil
	})
	update(t, db, func(tx core.Tx) error {
		r, err := tx.Request("req_00000003")
		if err != nil {
			return err
		}
		r.Status = core.RequestApproved
		return tx.PutRequest(r)
	})
	list := func(status core.RequestStatus, limit int) []string {
		var reqs []core.Request
		view(t, db, func(tx core.ReadTx) error {
			var err error
			reqs, err = tx.Requests(status, limit)
			return err
		})
		return requestIDs(reqs)
	}
	for _, c := range []struct {
		status core.RequestStatus
		limit  int
		want   []string
	}{
		{core.RequestPending, 0, []string{"req_00000005", "req_00000004", "req_00000002", "req_00000001"}},
		{core.RequestPending, 2, []string{"req_00000005", "req_00000004"}},
		{core.RequestApproved, 0, []string{"req_00000003"}},
		{core.RequestDenied, 0, nil},
	} {
		if got := list(c.status, c.limit); !slices.Equal(got, c.want) {
			t.Errorf("Requests(%s, %d) = %v, want %v", c.status, c.limit, got, c.want)
		}
	}
}

func sessionIDs(ss []core.Session) []string {
	var ids []string
	for _, s := range ss {
		ids = append(ids, s.ID)
	}
	return ids
}

func sid(n int) string { return fmt.Sprintf("ses_%08d", n) }

func TestSessionIndexes(t *testing.T) {
	db, _ := openTemp(t)
	// Ten sessions; odd ones on usr_a, even ones on usr_b; 9 and 10 active.
	update(t, db, func(tx core.Tx) error {
		for n := 1; n <= 10; n++ {
			s := core.Session{ID: sid(n), Target: "usr_b", Status: core.SessionEnded}
			if n%2 == 1 {
				s.Target = "usr_a"
			}
			if n >= 9 {
				s.Status = core.SessionActive
			}
			if err := tx.PutSession(s); err != nil {
				return err
			}
		}
		return nil
	})
	active := func() []string {
		var ss []core.Session
		view(t, db, func(tx core.ReadTx) error {
			var err error
			ss, err = tx.ActiveSessions()
			return err
		})
		return sessionIDs(ss)
	}
	if got := active(); !slices.Equal(got, []string{sid(9), sid(10)}) {
		t.Errorf("ActiveSessions() = %v", got)
	}
	update(t, db, func(tx core.Tx) error {
		s, err := tx.Session(sid(9))
		if err != nil {
			return err
		}
		s.Status, s.EndReason = core.SessionEnded, core.EndExit
		return tx.PutSession(s)
	})
	if got := active(); !slices.Equal(got, []string{sid(10)}) {
		t.Errorf("ActiveSessions() after ending 9 = %v", got)
	}

	for _, c := range []struct {
		target, before string
		limit          int
		want           []string
	}{
		{"", "", 3, []string{sid(10), sid(9), sid(8)}},
		{"", sid(8), 3, []string{sid(7), sid(6), sid(5)}},
		{"", sid(2), 0, []string{sid(1)}},
		{"", sid(1), 5, nil},
		{"", "ses_99999999", 1, []string{sid(10)}},
		{"usr_a", "", 0, []string{sid(9), sid(7), sid(5), sid(3), sid(1)}},
		{"usr_a", sid(7), 2, []string{sid(5), sid(3)}},
		{"usr_a", sid(6), 1, []string{sid(5)}}, // before need not be one of the target's
		{"usr_b", "", 2, []string{sid(10), sid(8)}},
		{"usr_c", "", 0, nil},
	} {
		var ss []core.Session
		view(t, db, func(tx core.ReadTx) error {
			var err error
			ss, err = tx.Sessions(c.target, c.before, c.limit)
			return err
		})
		if got := sessionIDs(ss); !slices.Equal(got, c.want) {
			t.Errorf("Sessions(%q, %q, %d) = %v, want %v", c.target, c.before, c.limit, got, c.want)
		}
	}

	// Moving a session to another target moves its index entry.
	update(t, db, func(tx core.Tx) error {
		return tx.PutSession(core.Session{ID: sid(1), Target: "usr_c", Status: core.SessionEnded})
	})
	view(t, db, func(tx core.ReadTx) error {
		a, _ := tx.Sessions("usr_a", "", 0)
		c, _ := tx.Sessions("usr_c", "", 0)
		if slices.Contains(sessionIDs(a), sid(1)) || !slices.Equal(sessionIDs(c), []string{sid(1)}) {
			t.Errorf("after retargeting: usr_a %v, usr_c %v", sessionIDs(a), sessionIDs(c))
		}
		return nil
	})
}

func TestPolicyAbsentUntilPut(t *testing.T) {
	db, _ := openTemp(t)
	view(t, db, func(tx core.ReadTx) error {
		if _, err := tx.Policy(); !errors.Is(err, core.ErrNotFound) {
			t.Errorf("Policy() of a new database: %v, want ErrNotFound", err)
		}
		return nil
	})
	want := core.DefaultPolicy()
	want.Environment = "production"
	update(t, db, func(tx core.Tx) error { return tx.PutPolicy(want) })
	view(t, db, func(tx core.ReadTx) error {
		got, err := tx.Policy()
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("Policy() = %+v, %v; want %+v", got, err, want)
		}
		return nil
	})
}

func TestDataSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "actas.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	update(t, db, func(tx core.Tx) error { return tx.PutUser(core.User{ID: "usr_00000001", Email: "a@example.com"}) })
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(core.Tx) error { return nil }); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Update after Close: %v, want ErrClosed", err)
	}
	if err := db.View(func(core.ReadTx) error { return nil }); !errors.Is(err, store.ErrClosed) {
		t.Errorf("View after Close: %v, want ErrClosed", err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	db, err = store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	view(t, db, func(tx core.ReadTx) error {
		u, err := tx.UserByEmail("a@example.com")
		if err != nil || u.ID != "usr_00000001" {
			t.Errorf("after reopen: %+v, %v", u, err)
		}
		return nil
	})
}

// nameIndex is the users_by_name index as key|id|org|role lines, forward
// and, checked against it, backward.
func nameIndex(t *testing.T, db *store.DB) []string {
	t.Helper()
	var fwd, back []string
	view(t, db, func(tx core.ReadTx) error {
		for _, rev := range []bool{false, true} {
			err := tx.ScanUserIndex(rev, func(e core.UserIndexEntry) bool {
				u, err := e.User()
				if err != nil || u.ID != string(e.ID) || u.Org != string(e.Org) {
					t.Errorf("entry %q: user %+v, %v", e.Key, u, err)
				}
				line := strings.ReplaceAll(string(e.Key), "\x00", "/") + "|" + string(e.ID) + "|" + string(e.Org) + "|" + string(u.Role)
				if rev {
					back = append(back, line)
				} else {
					fwd = append(fwd, line)
				}
				return true
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		return nil
	})
	slices.Reverse(back)
	if !slices.Equal(fwd, back) {
		t.Errorf("name index backward %q, forward %q", back, fwd)
	}
	return fwd
}

// The name index follows every put: new users in order, a rename moves
// the entry, an org or role change rewrites it, and several puts of one
// user in one transaction leave its last form alone.
func TestUserNameIndex(t *testing.T) {
	db, _ := openTemp(t)
	u1 := core.User{ID: "usr_00000001", Email: "c@x.test", Name: "Carla", Org: "org_1", Role: core.RoleMember}
	u2 := core.User{ID: "usr_00000002", Email: "a@x.test", Name: "bea", Org: "org_1", Role: core.RoleMember}
	u3 := core.User{ID: "usr_00000003", Email: "b@x.test", Name: "Bea", Org: "org_2", Role: core.RoleOwner}
	update(t, db, func(tx core.Tx) error {
		for _, u := range []core.User{u1, u2, u3} {
			if err := tx.PutUser(u); err != nil {
				return err
			}
		}
		return nil
	})
	want := []string{"bea/a@x.test|usr_00000002|org_1|member", "bea/b@x.test|usr_00000003|org_2|owner", "carla/c@x.test|usr_00000001|org_1|member"}
	if got := nameIndex(t, db); !slices.Equal(got, want) {
		t.Errorf("after adding: %q, want %q", got, want)
	}
	update(t, db, func(tx core.Tx) error {
		u1.Name = "Aaron" // renamed: moves to the top
		if err := tx.PutUser(u1); err != nil {
			return err
		}
		u2.Role = core.RoleSupport
		if err := tx.PutUser(u2); err != nil {
			return err
		}
		u3.Name = "Zora" // twice in one transaction: the last one counts
		if err := tx.PutUser(u3); err != nil {
			return err
		}
		u3.Name, u3.Org = "Yves", "org_3"
		return tx.PutUser(u3)
	})
	want = []string{"aaron/c@x.test|usr_00000001|org_1|member", "bea/a@x.test|usr_00000002|org_1|support", "yves/b@x.test|usr_00000003|org_3|owner"}
	if got := nameIndex(t, db); !slices.Equal(got, want) {
		t.Errorf("after changes: %q, want %q", got, want)
	}
}

// The consent index holds the users whose consent is set, and no others.
func TestConsentUsers(t *testing.T) {
	db, _ := openTemp(t)
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	u1 := core.User{ID: "usr_00000001", Email: "a@x.test", Name: "A", ConsentFrom: now, ConsentUntil: now.Add(time.Hour)}
	u2 := core.User{ID: "usr_00000002", Email: "b@x.test", Name: "B"}
	update(t, db, func(tx core.Tx) error {
		if err := tx.PutUser(u1); err != nil {
			return err
		}
		return tx.PutUser(u2)
	})
	consents := func() []string {
		var ids []string
		view(t, db, func(tx core.ReadTx) error {
			us, err := tx.ConsentUsers()
			for _, u := range us {
				ids = append(ids, u.ID)
			}
			return err
		})
		return ids
	}
	if got := consents(); !slices.Equal(got, []string{"usr_00000001"}) {
		t.Errorf("consents = %v, want usr_00000001", got)
	}
	update(t, db, func(tx core.Tx) error {
		u1.ConsentFrom = time.Time{}
		if err := tx.PutUser(u1); err != nil {
			return err
		}
		u2.ConsentFrom, u2.ConsentUntil = now, now.Add(time.Hour)
		return tx.PutUser(u2)
	})
	if got := consents(); !slices.Equal(got, []string{"usr_00000002"}) {
		t.Errorf("consents after changes = %v, want usr_00000002", got)
	}
}

// The staff index holds the users of a staff role and follows role changes.
func TestStaffUsers(t *testing.T) {
	db, _ := openTemp(t)
	m := core.User{ID: "usr_00000001", Email: "m@x.test", Name: "M", Role: core.RoleMember}
	s := core.User{ID: "usr_00000002", Email: "s@x.test", Name: "S", Role: core.RoleSupport}
	update(t, db, func(tx core.Tx) error {
		if err := tx.PutUser(m); err != nil {
			return err
		}
		return tx.PutUser(s)
	})
	staff := func() []string {
		var ids []string
		view(t, db, func(tx core.ReadTx) error {
			us, err := tx.StaffUsers()
			for _, u := range us {
				ids = append(ids, u.ID)
			}
			return err
		})
		return ids
	}
	if got := staff(); !slices.Equal(got, []string{s.ID}) {
		t.Errorf("staff = %v, want %s", got, s.ID)
	}
	m.Role, s.Role = core.RoleOwner, core.RoleMember
	update(t, db, func(tx core.Tx) error {
		if err := tx.PutUser(m); err != nil {
			return err
		}
		return tx.PutUser(s)
	})
	if got := staff(); !slices.Equal(got, []string{m.ID}) {
		t.Errorf("staff after role changes = %v, want %s", got, m.ID)
	}
}

// Releasing the mapped pages loses nothing: the next reads see the same
// records, mapped again from the page cache.
func TestReleaseMappedKeepsData(t *testing.T) {
	db, _ := openTemp(t)
	update(t, db, func(tx core.Tx) error {
		for i := range 500 {
			u := core.User{ID: fmt.Sprintf("usr_%08d", i+1), Email: fmt.Sprintf("u%d@x.test", i), Name: fmt.Sprintf("User %d", i)}
			if err := tx.PutUser(u); err != nil {
				return err
			}
		}
		return nil
	})
	before := nameIndex(t, db)
	if err := store.ReleaseMapped(db); err != nil {
		t.Fatal(err)
	}
	if after := nameIndex(t, db); !slices.Equal(before, after) || len(after) != 500 {
		t.Fatalf("after release: %d entries, before %d", len(after), len(before))
	}
}
