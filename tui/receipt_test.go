package tui

import (
	"strings"
	"testing"

	"github.com/actas/actas/core"
)

// withLogKey gives the fixture's core a log key and makes it a writer that
// signs checkpoints.
func (f *fixture) withLogKey(t *testing.T) *core.LogKey {
	t.Helper()
	key, _, err := core.NewLogKey(core.LogOrigin("Acme"))
	if err != nil {
		t.Fatal(err)
	}
	f.c.SetLogKey(&key)
	if err := f.c.StartCheckpoints(nil); err != nil {
		t.Fatal(err)
	}
	return &key
}

// TestAuditTabShowsCheckpoint: the line under the title names the newest
// checkpoint, and a new one replaces it live.
func TestAuditTabShowsCheckpoint(t *testing.T) {
	f := newFixture(t, 30)
	f.withLogKey(t)
	p := openAuditTab(t, f, core.DemoOwner)
	mustContain(t, p.View(), "No signed checkpoint yet")
	cp, err := f.c.MakeCheckpoint()
	if err != nil {
		t.Fatal(err)
	}
	drivePage(t, p, ChangeMsg{Change: core.Change{Kind: core.ChangeCheckpoint, Checkpoint: &cp}})
	mustContain(t, p.View(), "Checkpoint: "+thousands(cp.Size)+" events", "root "+cp.ShortRoot(), cp.Time.Format("2006-01-02 15:04:05"))
	// A tab opened later reads it from core.
	mustContain(t, openAuditTab(t, f, core.DemoOwner).View(), "root "+cp.ShortRoot())
}

// TestAccountReceipt: p on a session of "Who impersonated me" opens its
// receipt; the receipt's text is proofs of exactly the session's events
// that verify with the key it shows.
func TestAccountReceipt(t *testing.T) {
	f := newFixture(t, 30)
	key := f.withLogKey(t)
	p := f.openPage(t, NewAccountPage, core.DemoJane)
	out := pageKeys(t, p, "p")
	if len(out) != 1 {
		t.Fatalf("p sent %v", out)
	}
	open, ok := out[0].(OpenReceiptMsg)
	if !ok {
		t.Fatalf("p sent %#v", out[0])
	}
	v := NewReceiptView(p.(*AccountPage).c, open.Session).(*ReceiptView)
	drivePage(t, v, v.Init())
	if v.err != nil {
		t.Fatal(v.err)
	}
	text := strings.Join(v.lines, "\n")
	mustContain(t, text, "audit prove --session "+open.Session, key.VerifierKey, "actas inclusion proof")

	jane := f.principal(t, core.DemoJane)
	r, err := f.c.SessionReceipt(jane, open.Session)
	if err != nil {
		t.Fatal(err)
	}
	proofs, err := core.ParseProofs([]byte(r.Text()))
	if err != nil {
		t.Fatal(err)
	}
	page, err := f.c.Audit(jane, core.AuditQuery{Session: open.Session}, 0, false, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(proofs) != len(page.Events) || len(proofs) == 0 {
		t.Fatalf("%d proofs for %d events", len(proofs), len(page.Events))
	}
	for i := range proofs {
		if err := proofs[i].Check(key.Verifier); err != nil || proofs[i].Seq != page.Events[i].Seq || proofs[i].Leaf != page.Events[i].Hash {
			t.Errorf("proof %d: seq %d, %v; event seq %d", i, proofs[i].Seq, err, page.Events[i].Seq)
		}
	}
	// Scrolling reaches the end; esc closes.
	drivePage(t, v, keyMsg("G"))
	if !strings.Contains(v.View(), "lines") || v.offset != v.maxOffset() {
		t.Errorf("G left offset %d of %d", v.offset, v.maxOffset())
	}
	if out := drivePage(t, v, keyMsg("esc")); len(out) != 1 || out[0] != (CloseOverlayMsg{}) {
		t.Errorf("esc sent %v", out)
	}

	// Someone else's session is refused, with core's reason on screen.
	bob := f.principal(t, "bob@globex.test")
	if _, err := f.c.SessionReceipt(bob, open.Session); err == nil {
		t.Error("bob got a receipt of jane's session")
	}
	other := NewReceiptView(f.pageCommon(t, "bob@globex.test", 100, 20), open.Session).(*ReceiptView)
	drivePage(t, other, other.Init())
	mustContain(t, other.View(), "No receipt:")
}
