package tui

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/actas/actas/core"
	"github.com/actas/actas/store"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// fixtureEpoch is the demo's fixed start, so golden files do not change
// from run to run.
var fixtureEpoch = time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)

type fixture struct {
	db    *store.DB
	c     *core.Core
	clock *core.FakeClock
	// shared is what the fixture's consoles share, as those of one
	// server do; each fixture has its own, so that replayed events (the
	// same hashes) are drawn afresh.
	shared *Shared
}

// newFixture opens a real store under t.TempDir() and seeds the demo.
func newFixture(t testing.TB, members int) *fixture {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "actas.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clock := core.NewFakeClock(fixtureEpoch)
	c, err := core.Open(db, core.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if _, err := core.SeedDemo(c, clock, members); err != nil {
		t.Fatal(err)
	}
	return &fixture{db: db, c: c, clock: clock, shared: NewShared()}
}

// reopen restarts core on the same store, e.g. after writing to the store
// behind core's back.
func (f *fixture) reopen(t testing.TB) {
	t.Helper()
	f.c.Close()
	c, err := core.Open(f.db, core.Options{Clock: f.clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	f.c = c
}

func (f *fixture) principal(t testing.TB, email string) core.Principal {
	t.Helper()
	u, err := f.c.SystemUserByEmail(email)
	if err != nil {
		t.Fatal(err)
	}
	return core.Principal{User: u, Conn: "test"}
}

// asciiRenderer renders without any colour or attribute, for goldens.
func asciiRenderer() *lipgloss.Renderer {
	r := lipgloss.NewRenderer(nil)
	r.SetColorProfile(termenv.Ascii)
	return r
}

// newModel builds a console at w×h as email.
func (f *fixture) newModel(t testing.TB, email string, w, h int) *Model {
	t.Helper()
	m := New(Options{Core: f.c, Principal: f.principal(t, email), Renderer: asciiRenderer(), Width: w, Height: h, Shared: f.shared, noTimers: true})
	drive(t, m, m.Init())
	return m
}

// isSequence reports whether msg is tea.Sequence's (unexported) message.
func isSequence(msg tea.Msg) bool {
	v := reflect.ValueOf(msg)
	return v.Kind() == reflect.Slice && v.Type().Elem() == reflect.TypeOf(tea.Cmd(nil))
}

func runSequence(msg tea.Msg) []tea.Msg {
	v := reflect.ValueOf(msg)
	var out []tea.Msg
	for i := 0; i < v.Len(); i++ {
		c, _ := v.Index(i).Interface().(tea.Cmd)
		out = append(out, run(c)...)
	}
	return out
}

// drive runs a message through the model and every Cmd it returns, the
// way the program would, until nothing is left (ticks and timers, which
// would wait, are dropped).
func drive(t testing.TB, m *Model, msgs ...tea.Msg) {
	t.Helper()
	var queue []tea.Msg
	for _, msg := range msgs {
		if cmd, ok := msg.(tea.Cmd); ok {
			queue = append(queue, run(cmd)...)
			continue
		}
		queue = append(queue, msg)
	}
	for steps := 0; len(queue) > 0; steps++ {
		if steps > 10000 {
			t.Fatal("drive: runaway message loop")
		}
		msg := queue[0]
		queue = queue[1:]
		_, cmd := m.Update(msg)
		queue = append(queue, run(cmd)...)
	}
}

// run executes a Cmd and what it batches or sequences, returning the
// messages. Models under test have no timers (noTimers), so no Cmd waits.
func run(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	done := make(chan tea.Msg, 1)
	go func() { done <- cmd() }()
	var msg tea.Msg
	select {
	case msg = <-done:
	case <-time.After(5 * time.Second):
		panic("run: a Cmd blocked for 5s")
	}
	switch msg := msg.(type) {
	case nil:
		return nil
	case tea.BatchMsg:
		var out []tea.Msg
		for _, c := range msg {
			out = append(out, run(c)...)
		}
		return out
	case tea.QuitMsg:
		return nil
	default:
		if isSequence(msg) {
			return runSequence(msg)
		}
		return []tea.Msg{msg}
	}
}

// keys turns "a", "enter", "ctrl+x"… into key messages.
func keys(names ...string) []tea.Msg {
	var out []tea.Msg
	for _, n := range names {
		out = append(out, keyMsg(n))
	}
	return out
}

func keyMsg(n string) tea.KeyMsg {
	switch n {
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	case "tab":
		return tea.KeyMsg{Type: tea.KeyTab}
	case "shift+tab":
		return tea.KeyMsg{Type: tea.KeyShiftTab}
	case "up":
		return tea.KeyMsg{Type: tea.KeyUp}
	case "down":
		return tea.KeyMsg{Type: tea.KeyDown}
	case "ctrl+x":
		return tea.KeyMsg{Type: tea.KeyCtrlX}
	case "ctrl+s":
		return tea.KeyMsg{Type: tea.KeyCtrlS}
	case "ctrl+c":
		return tea.KeyMsg{Type: tea.KeyCtrlC}
	case "backspace":
		return tea.KeyMsg{Type: tea.KeyBackspace}
	case "pgdown":
		return tea.KeyMsg{Type: tea.KeyPgDown}
	case "pgup":
		return tea.KeyMsg{Type: tea.KeyPgUp}
	case "left":
		return tea.KeyMsg{Type: tea.KeyLeft}
	case "right":
		return tea.KeyMsg{Type: tea.KeyRight}
	case "home":
		return tea.KeyMsg{Type: tea.KeyHome}
	case "end":
		return tea.KeyMsg{Type: tea.KeyEnd}
	case "space":
		return tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(n)}
}

// typing turns a string into one key message per rune.
func typing(s string) []tea.Msg {
	var out []tea.Msg
	for _, r := range s {
		out = append(out, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
	return out
}

func mustContain(t testing.TB, view string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(view, w) {
			t.Fatalf("view lacks %q:\n%s", w, view)
		}
	}
}

func mustNotContain(t testing.TB, view string, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(view, w) {
			t.Fatalf("view has %q:\n%s", w, view)
		}
	}
}
