package tui

import (
	"fmt"
	"testing"

	"github.com/actas/actas/core"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// auditTabConsole is an admin's 80×24 console with 256 colours on the
// Audit tab, as an SSH client would have it.
func auditTabConsole(b *testing.B, f *fixture) *Model {
	b.Helper()
	r := lipgloss.NewRenderer(nil)
	r.SetColorProfile(termenv.ANSI256)
	m := New(Options{Core: f.c, Principal: f.principal(b, core.DemoApprover), Renderer: r, Width: 80, Height: 24, Shared: f.shared})
	m.noTimers = true
	drive(b, m, m.Init())
	drive(b, m, keys("4")...)
	return m
}

// BenchmarkLiveAuditEvent is what one live audit event costs the consoles
// watching the Audit tab: each takes the ChangeMsg and every message its
// Cmds bring back through Update, with a View after each, as Bubble Tea
// does. The event's durable append is not timed. Reported per console.
func BenchmarkLiveAuditEvent(b *testing.B) {
	for _, sessions := range []int{1, 50} {
		b.Run(fmt.Sprintf("sessions=%d", sessions), func(b *testing.B) {
			f := newFixture(b, 200)
			consoles := make([]*Model, sessions)
			for i := range consoles {
				consoles[i] = auditTabConsole(b, f)
			}
			sub := f.c.Hub().Subscribe(16)
			defer sub.Close()
			views := 0
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				mark := fmt.Sprintf("lm%03dz", i%1000)
				if _, err := f.c.RecordAction(core.SystemPrincipal(mark), mark, nil); err != nil {
					b.Fatal(err)
				}
				ch := <-sub.C
				b.StartTimer()
				for _, m := range consoles {
					queue := []tea.Msg{ChangeMsg{Change: ch}}
					for len(queue) > 0 {
						msg := queue[0]
						queue = queue[1:]
						_, cmd := m.Update(msg)
						_ = m.View()
						views++
						queue = append(queue, run(cmd)...)
					}
				}
			}
			b.StopTimer()
			for _, m := range consoles {
				mustContain(b, m.View(), fmt.Sprintf("lm%03dz", (b.N-1)%1000))
			}
			n := float64(b.N * sessions)
			b.ReportMetric(float64(views)/n, "views/console")
			b.ReportMetric(float64(b.Elapsed().Microseconds())/n, "µs/console")
		})
	}
}

// BenchmarkAuditTabView is drawing one frame of an admin's console on
// the Audit tab after an Update, its rows drawn already.
func BenchmarkAuditTabView(b *testing.B) {
	m := auditTabConsole(b, newFixture(b, 200))
	b.ReportAllocs()
	for b.Loop() {
		m.frame = m.draw() // as an Update does
	}
}
