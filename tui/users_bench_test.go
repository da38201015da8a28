package tui

import (
	"sync"
	"testing"
	"time"

	"github.com/actas/actas/core"
	"github.com/actas/actas/internal/benchfix"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

const benchUsers = 1_000_000

var (
	benchOnce sync.Once
	benchCore *core.Core
	benchErr  error
)

// benchWorld builds, once per run and only for benchmarks, a database with
// a million members.
func benchWorld(b *testing.B) *core.Core {
	b.Helper()
	benchOnce.Do(func() {
		start := time.Now()
		benchCore, benchErr = benchfix.Members(benchUsers)
		b.Logf("fixture: %d users in %s", benchUsers, time.Since(start).Round(time.Millisecond))
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchCore
}

// BenchmarkUsersView is one keypress (down arrow) on the Users page of a
// million users, with whatever fetch it triggers, and the frame's View.
func BenchmarkUsersView(b *testing.B) {
	c := benchWorld(b)
	owner, err := c.SystemUserByEmail(core.DemoOwner)
	if err != nil {
		b.Fatal(err)
	}
	// A colour terminal: styles cost more than under the ASCII profile.
	r := lipgloss.NewRenderer(nil)
	r.SetColorProfile(termenv.ANSI256)
	m := New(Options{Core: c, Principal: core.Principal{User: owner, Conn: "bench"}, Renderer: r, Width: 120, Height: 40, Shared: NewShared(), noTimers: true})
	settle(m, m.Init())
	if m.pages[TabUsers] == nil || !m.pages[TabUsers].(*UsersPage).pg.loaded {
		b.Fatal("users page did not load")
	}
	down := tea.KeyMsg{Type: tea.KeyDown}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, cmd := m.Update(down)
		settle(m, cmd)
		_ = m.View()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/keypress")
	if p := m.pages[TabUsers].(*UsersPage); p.pg.cursor != min(b.N, benchUsers) && p.pg.cursor != benchUsers {
		b.Fatalf("cursor at %d after %d presses", p.pg.cursor, b.N)
	}
}

// settle runs a Cmd and feeds its messages back, as the program would.
func settle(m *Model, cmd tea.Cmd) {
	queue := run(cmd)
	for len(queue) > 0 {
		msg := queue[0]
		queue = queue[1:]
		_, c := m.Update(msg)
		queue = append(queue, run(c)...)
	}
}

// BenchmarkUsersBottom is G on the Users page of a million users, from a
// console that has read only its first page: one keypress to the last row,
// with the fetch it triggers and the frame's View.
func BenchmarkUsersBottom(b *testing.B) {
	c := benchWorld(b)
	owner, err := c.SystemUserByEmail(core.DemoOwner)
	if err != nil {
		b.Fatal(err)
	}
	r := lipgloss.NewRenderer(nil)
	r.SetColorProfile(termenv.ANSI256)
	bottom := tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("G")}
	top := tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("g")}
	m := New(Options{Core: c, Principal: core.Principal{User: owner, Conn: "bench"}, Renderer: r, Width: 120, Height: 40, Shared: NewShared(), noTimers: true})
	settle(m, m.Init())
	p := m.pages[TabUsers].(*UsersPage)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, cmd := m.Update(bottom)
		settle(m, cmd)
		_ = m.View()
		b.StopTimer()
		if p.pg.cursor != p.pg.total-1 || p.pg.total != c.UserCount() {
			b.Fatalf("G: cursor %d of %d, want the last of %d", p.pg.cursor, p.pg.total, c.UserCount())
		}
		settle(m, func() tea.Cmd { _, cmd := m.Update(top); return cmd }())
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/keypress")
}
