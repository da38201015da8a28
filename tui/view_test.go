package tui

import (
	"sync"
	"testing"

	"github.com/actas/actas/core"
)

// View changes nothing: the frame is drawn by Update, and any number of
// Views, even at once, return it. Under -race a View that wrote (a cache,
// the frame) fails here.
func TestViewChangesNothing(t *testing.T) {
	f := newFixture(t, 20)
	m := f.newModel(t, core.DemoOwner, 100, 30)
	for _, tab := range []string{"1", "4", "3", "6", "?"} {
		drive(t, m, keyMsg(tab))
		var wg sync.WaitGroup
		views := make([]string, 4)
		for i := range views {
			wg.Go(func() { views[i] = m.View() })
		}
		wg.Wait()
		for _, v := range views {
			if v != views[0] || v == "" {
				t.Fatalf("tab %s: Views at once differ or are empty", tab)
			}
		}
	}
}
