package tui

import (
	"bytes"
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/actas/actas/core"
	tea "github.com/charmbracelet/bubbletea"
)

// recorder is a model that keeps the changes it is sent.
type recorder struct {
	mu      sync.Mutex
	changes []core.Change
}

func (r *recorder) Init() tea.Cmd { return nil }
func (r *recorder) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if ch, ok := msg.(ChangeMsg); ok {
		r.mu.Lock()
		r.changes = append(r.changes, ch.Change)
		r.mu.Unlock()
	}
	return r, nil
}
func (r *recorder) View() string { return "" }

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.changes)
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestPumpForwardsChangesAndQuitsWithContext(t *testing.T) {
	f := newFixture(t, 10)
	rec := &recorder{}
	p := tea.NewProgram(rec, tea.WithInput(nil), tea.WithOutput(io.Discard))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan error, 1)
	go func() { _, err := p.Run(); ran <- err }()
	pumped := make(chan struct{})
	before := f.c.Hub().Subscribers()
	go func() { Pump(ctx, p, f.c, f.principal(t, core.DemoOwner)); close(pumped) }()
	eventually(t, "the pump to subscribe", func() bool { return f.c.Hub().Subscribers() == before+1 })

	if _, err := f.c.GrantConsent(f.principal(t, core.DemoBob), time.Hour); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the change to arrive", func() bool { return rec.count() > 0 })

	cancel()
	select {
	case <-pumped:
	case <-time.After(5 * time.Second):
		t.Fatal("Pump did not return when its context ended")
	}
	select {
	case err := <-ran:
		if err != nil {
			t.Fatalf("program ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the program did not quit when the pump's context ended")
	}
	if n := f.c.Hub().Subscribers(); n != before {
		t.Fatalf("%d subscribers left, want %d", n, before)
	}
}

func TestRunReturnsWhenContextEnds(t *testing.T) {
	f := newFixture(t, 10)
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- RunOn(ctx, Options{Core: f.c, Principal: f.principal(t, core.DemoOwner), Renderer: asciiRenderer()},
			Terminal{Out: &out, Width: 100, Height: 30})
	}()
	eventually(t, "the console to subscribe", func() bool { return f.c.Hub().Subscribers() > 0 })
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
	if n := f.c.Hub().Subscribers(); n != 0 {
		t.Fatalf("%d subscribers left", n)
	}
}

// A member's console gets the audit of the sessions on them (shown under
// Account) and of events about them, not the rest of the log; staff get
// every event.
func TestFeedForLeavesOutAuditNobodyShows(t *testing.T) {
	f := newFixture(t, 10)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := func(email string) *recorder {
		rec := &recorder{}
		p := tea.NewProgram(rec, tea.WithInput(nil), tea.WithOutput(io.Discard))
		go func() { _, _ = p.Run() }()
		before := f.c.Hub().Subscribers()
		go pump(ctx, p, FeedFor(f.c, f.principal(t, email)))
		eventually(t, "the pump to subscribe", func() bool { return f.c.Hub().Subscribers() == before+1 })
		return rec
	}
	jane, owner := start(core.DemoJane), start(core.DemoOwner)
	// audits counts the audit events r got, and whether the session's end
	// was among them.
	audits := func(r *recorder) (n int, ended bool) {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, ch := range r.changes {
			if ch.Kind == core.ChangeAudit {
				n++
				ended = ended || ch.Event.Type == "session.ended"
			}
		}
		return n, ended
	}
	if _, err := f.c.RecordAction(f.principal(t, core.DemoOwner), "not about jane", nil); err != nil {
		t.Fatal(err)
	}
	// Lee impersonates Jane and acts as her: the session's audit shows
	// under Jane's Account.
	lead := f.principal(t, core.DemoLead)
	jid := f.principal(t, core.DemoJane).User.ID
	if _, err := f.c.Start(lead, jid, "ticket 42"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.RecordAction(lead, "as jane", nil); err != nil {
		t.Fatal(err)
	}
	if err := f.c.End(lead, core.EndExit); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the owner to see the session end", func() bool { _, ended := audits(owner); return ended })
	ownerAll, _ := audits(owner)
	eventually(t, "jane to see the session end", func() bool { _, ended := audits(jane); return ended })
	if n, _ := audits(jane); n >= ownerAll {
		t.Fatalf("jane got %d audit events, as many as the owner (%d): the rest of the log too", n, ownerAll)
	}
	jane.mu.Lock()
	defer jane.mu.Unlock()
	for _, ch := range jane.changes {
		if ev := ch.Event; ch.Kind == core.ChangeAudit && ev.Session == "" && ev.Actor.ID != jid && ev.Subject.ID != jid {
			t.Fatalf("jane got %s by %s, which no screen of hers shows", ev.Type, ev.Actor.Email)
		}
	}
}
