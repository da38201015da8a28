package termframe

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
)

// counter records what Bubble Tea calls on it, in order.
type counter struct {
	n     int
	calls *[]string
}

type bump struct{}

func (c counter) Init() tea.Cmd { return nil }

func (c counter) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	*c.calls = append(*c.calls, "update")
	switch msg.(type) {
	case bump:
		c.n++
	case tea.KeyMsg:
		return c, tea.Quit
	}
	return c, nil
}

func (c counter) View() string {
	*c.calls = append(*c.calls, "view")
	return fmt.Sprintf("count %d", c.n)
}

// The renderer draws only what View hands it, so it relies on Bubble Tea
// calling View after every Update even without a renderer of its own
// (tea.WithoutRenderer). A Bubble Tea that batched views, or skipped them
// when nothing changed, would leave the screen showing an old state.
func TestViewAfterEveryUpdate(t *testing.T) {
	var calls []string
	out := newFakeClient(20, 3)
	scr := New(out, 20, 3)
	in := &blockingReader{ch: make(chan []byte, 1)}
	p := tea.NewProgram(Draw(counter{calls: &calls}, scr), tea.WithoutRenderer(), tea.WithInput(in),
		tea.WithOutput(&bytes.Buffer{}), tea.WithoutSignalHandler())
	go func() {
		for range 50 {
			p.Send(bump{})
		}
		p.Send(tea.WindowSizeMsg{Width: 30, Height: 4})
		in.ch <- []byte("q")
	}()
	final, err := p.Run()
	if err != nil {
		t.Fatal(err)
	}
	if got := Model(final).(counter).n; got != 50 {
		t.Fatalf("model counted %d, want 50", got)
	}
	updates := 0
	for i, c := range calls {
		if c != "update" {
			continue
		}
		updates++
		if i+1 >= len(calls) || calls[i+1] != "view" {
			t.Fatalf("update %d was not followed by a view: %v", updates, calls[i:min(len(calls), i+3)])
		}
	}
	if updates < 52 {
		t.Fatalf("%d updates, want at least 52", updates)
	}
	scr.idle(t)
	if got := out.scr.Text(); got != "count 50" {
		t.Fatalf("the screen shows %q, want the last view", got)
	}
	scr.Stop()
}

// blockingReader is a terminal's input that gives what arrives on ch.
type blockingReader struct{ ch chan []byte }

func (r *blockingReader) Read(p []byte) (int, error) {
	select {
	case b := <-r.ch:
		return copy(p, b), nil
	case <-time.After(10 * time.Second):
		return 0, fmt.Errorf("no input")
	}
}
