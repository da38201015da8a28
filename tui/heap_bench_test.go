package tui

import (
	"fmt"
	"io"
	"runtime"
	"testing"

	"github.com/actas/actas/core"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// BenchmarkConsoleHeap is the live heap one console holds once it shows
// its first tab: an admin on the Audit tab, a member on Account, as the
// SSH load harness has them (80×24, 256 colours, a renderer per console).
func BenchmarkConsoleHeap(b *testing.B) {
	const consoles = 100
	for _, kind := range []struct {
		name, keys string
		admin      bool
	}{{"admin-audit", "4", true}, {"member-account", "", false}} {
		b.Run(kind.name, func(b *testing.B) {
			f := newFixture(b, 200)
			var who []core.Principal
			for i := range consoles {
				nu := core.NewUser{Email: fmt.Sprintf("heap%03d@globex.test", i), Name: fmt.Sprintf("Heap %d", i),
					Role: core.RoleMember, Org: "Globex"}
				if kind.admin {
					nu.Email, nu.Role, nu.Org = fmt.Sprintf("heap%03d@acme.test", i), core.RoleAdmin, "Acme"
				}
				u, err := f.c.CreateUser(core.SystemPrincipal("bench"), nu)
				if err != nil {
					b.Fatal(err)
				}
				who = append(who, core.Principal{User: u, Conn: fmt.Sprintf("c%d", i)})
			}
			var perConsole float64
			for b.Loop() {
				ms := make([]*Model, consoles)
				before := liveHeap()
				for i := range ms {
					r := lipgloss.NewRenderer(io.Discard, termenv.WithUnsafe(), termenv.WithColorCache(true))
					r.SetColorProfile(termenv.ANSI256)
					m := New(Options{Core: f.c, Principal: who[i], Renderer: r, Width: 80, Height: 24, Shared: f.shared, noTimers: true})
					drive(b, m, m.Init())
					if kind.keys != "" {
						drive(b, m, keys(kind.keys)...)
					}
					_ = m.View()
					ms[i] = m
				}
				perConsole = float64(liveHeap()-before) / consoles / 1024
				runtime.KeepAlive(ms)
			}
			b.ReportMetric(perConsole, "KB/console")
		})
	}
}

func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}
