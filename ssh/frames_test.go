package ssh

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
)

// fakeClient stands for the SSH session under frames: it keeps every
// write, plays it on a screen, and can hold writes up like a client that
// reads slowly.
type fakeClient struct {
	mu     sync.Mutex
	writes []string
	scr    *screen
	gate   chan struct{} // when set, each write waits for a receive on it
	held   chan struct{} // told when a write starts waiting on gate
}

func newFakeClient(w, h int) *fakeClient {
	return &fakeClient{scr: newScreen(w, h), held: make(chan struct{}, 1)}
}

func (c *fakeClient) Write(p []byte) (int, error) {
	if c.gate != nil {
		select {
		case c.held <- struct{}{}:
		default:
		}
		<-c.gate
	}
	c.mu.Lock()
	c.writes = append(c.writes, string(p))
	c.mu.Unlock()
	return c.scr.Write(p)
}

func (c *fakeClient) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.writes)
}

func (c *fakeClient) last() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writes[len(c.writes)-1]
}

// idle waits until frames has written everything and nothing is scheduled.
func (f *frames) idle(t *testing.T) {
	t.Helper()
	eventually(t, "frames to finish writing", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return !f.busy
	})
}

func TestFramesWriteOnlyWhatChanged(t *testing.T) {
	c := newFakeClient(20, 5)
	f := newFrames(c, 20, 5)
	f.show("one\ntwo\nthree")
	f.idle(t)
	if got := c.scr.Text(); got != "one\ntwo\nthree" {
		t.Fatalf("screen after the first frame:\n%s", got)
	}
	if !strings.HasPrefix(c.writes[0], enterScreen) {
		t.Errorf("first frame %q does not start by entering the alternate screen", c.writes[0])
	}

	f.show("one\ntwo\nthree")
	f.idle(t)
	if n := c.count(); n != 1 {
		t.Fatalf("%d writes after showing the same view again, want 1", n)
	}

	f.show("one\n2\nthree")
	f.idle(t)
	if n := c.count(); n != 2 {
		t.Fatalf("%d writes, want 2", n)
	}
	if w := c.last(); strings.Contains(w, "one") || strings.Contains(w, "three") || !strings.Contains(w, "2") {
		t.Errorf("second frame %q should hold the changed line alone", w)
	}
	if got := c.scr.Text(); got != "one\n2\nthree" {
		t.Fatalf("screen:\n%s", got)
	}
}

// A client that does not read holds up its writer, never show (the
// program's event loop); what comes meanwhile collapses into the newest
// view.
func TestFramesCoalesceBehindASlowClient(t *testing.T) {
	c := newFakeClient(20, 5)
	c.gate = make(chan struct{})
	f := newFrames(c, 20, 5)

	shown := make(chan struct{})
	go func() {
		for i := range 50 {
			f.show(strings.Repeat("x", i%20) + "\nview " + string(rune('a'+i%26)))
		}
		f.show("last\nview")
		close(shown)
	}()
	select {
	case <-shown:
	case <-time.After(10 * time.Second):
		t.Fatal("show waited for a client that does not read")
	}

	// Let the first write through, then every later one.
	c.gate <- struct{}{}
	close(c.gate)
	f.idle(t)
	if n := c.count(); n > 2 {
		t.Errorf("%d writes for 51 views shown behind a blocked write, want at most 2", n)
	}
	if got := c.scr.Text(); got != "last\nview" {
		t.Fatalf("screen shows\n%s\nwant the newest view", got)
	}
}

func TestFramesRepaintOnResize(t *testing.T) {
	c := newFakeClient(20, 6)
	f := newFrames(c, 20, 6)
	f.show("aaaaaaaaaaaaaaaaaaaa\nbbbb\ncccc\ndddd")
	f.idle(t)

	// The terminal narrows and keeps a mess of the old frame; the view
	// does not change, and yet every line must be drawn again.
	c.scr.resize(8, 4)
	if _, err := c.scr.Write([]byte(ansi.CursorPosition(1, 4) + "stale!!")); err != nil {
		t.Fatal(err)
	}
	f.resize(8, 4)
	f.show("aaaaaaaaaaaaaaaaaaaa\nbbbb\ncccc")
	f.idle(t)
	if got, want := c.scr.Text(), "aaaaaaaa\nbbbb\ncccc"; got != want {
		t.Fatalf("screen after resize:\n%s\nwant\n%s", got, want)
	}
	w := c.last()
	for _, l := range []string{"bbbb", "cccc"} {
		if !strings.Contains(w, l) {
			t.Errorf("frame after resize %q lacks the unchanged line %q", w, l)
		}
	}
}

func TestFramesClearLinesOfATallerFrame(t *testing.T) {
	c := newFakeClient(20, 8)
	f := newFrames(c, 20, 8)
	f.show("head\nbody\nmore\nfoot\nextra")
	f.idle(t)
	// The last line stays the same and is not rewritten: what is cleared
	// must start below it.
	f.show("head\nbody")
	f.idle(t)
	if got := c.scr.Text(); got != "head\nbody" {
		t.Fatalf("screen after the view shrank:\n%s", got)
	}
	f.show("")
	f.idle(t)
	if got := c.scr.Text(); got != "" {
		t.Fatalf("screen after an empty view:\n%s", got)
	}
}

// Lines are cut to the window's width by cells, never broken inside an
// escape sequence or a wide character, so the terminal never wraps them.
func TestFramesCutWideLinesToTheWindow(t *testing.T) {
	c := newFakeClient(10, 3)
	f := newFrames(c, 10, 3)
	red := "\x1b[31m"
	f.show(red + "漢字漢字漢字" + ansi.ResetStyle + "\nnext\n0123456789ABC")
	f.idle(t)
	// The emulator shows the second cell of a wide character as a blank.
	if got, want := c.scr.Text(), "漢 字 漢 字 漢\nnext\n0123456789"; got != want {
		t.Fatalf("screen:\n%s\nwant\n%s", got, want)
	}
	for _, l := range strings.Split(c.writes[0], "\r\n") {
		if w := ansi.StringWidth(l); w > 10 {
			t.Errorf("wrote a line %d cells wide into a 10-cell window: %q", w, l)
		}
	}
	if !strings.Contains(c.writes[0], ansi.ResetStyle) {
		t.Error("cutting the line dropped the style reset after the cut")
	}
}

func TestFramesScrolledLinesStayCut(t *testing.T) {
	c := newFakeClient(10, 4)
	f := newFrames(c, 10, 4)
	f.show("top\n0123456789ABC\nshort\nend")
	f.idle(t)
	// A new row on top moves every line down by one: the widths measured
	// for the last frame are reused, and the wide line is still cut.
	f.show("new\ntop\n0123456789ABC\nshort")
	f.idle(t)
	if got, want := c.scr.Text(), "new\ntop\n0123456789\nshort"; got != want {
		t.Fatalf("screen:\n%s\nwant\n%s", got, want)
	}
	f.show("top\n0123456789ABC\nshort\nend") // and back up by one
	f.idle(t)
	if got, want := c.scr.Text(), "top\n0123456789\nshort\nend"; got != want {
		t.Fatalf("screen:\n%s\nwant\n%s", got, want)
	}
}

// listView is a screen of a header, rows first.. of a list, and a footer.
func listView(first, rows int, footer string) string {
	lines := []string{"\x1b[1mEvents\x1b[m"}
	for i := first; i < first+rows; i++ {
		lines = append(lines, fmt.Sprintf("\x1b[2mrow %03d\x1b[m event number %d", i, i))
	}
	return strings.Join(append(lines, footer), "\n")
}

// A list that takes a new row on top, or scrolls by a row, is moved on the
// terminal (insert or delete line in a scrolling region) instead of being
// written again: the frame carries the new row, not the rows that moved.
func TestFramesMoveScrolledLines(t *testing.T) {
	c := newFakeClient(40, 12)
	f := newFrames(c, 40, 12)
	f.show(listView(10, 10, "10 events"))
	f.idle(t)
	for _, step := range []struct {
		name        string
		first       int
		footer      string
		move, wrote string
	}{
		{"a new row on top", 9, "11 events", ansi.InsertLine(1), "row 009"},
		{"two new rows on top", 7, "13 events", ansi.InsertLine(2), "row 008"},
		{"scrolled down by one", 8, "13 events", ansi.DeleteLine(1), "row 017"},
		{"scrolled down by three", 11, "13 events", ansi.DeleteLine(3), "row 020"},
	} {
		want := listView(step.first, 10, step.footer)
		f.show(want)
		f.idle(t)
		if got, want := c.scr.Text(), ansi.Strip(want); got != want {
			t.Fatalf("%s: screen\n%s\nwant\n%s", step.name, got, want)
		}
		frame := c.last()
		if !strings.Contains(frame, step.move) || !strings.Contains(frame, step.wrote) {
			t.Errorf("%s: frame %q does not move the rows with %q and write %q", step.name, frame, step.move, step.wrote)
		}
		if strings.Count(frame, "row ") > 3 {
			t.Errorf("%s: frame %q writes %d rows, want only the new ones", step.name, frame, strings.Count(frame, "row "))
		}
	}
}

// Whatever views follow each other, the screen shows the last one: random
// edits of a list (rows in, out, changed, scrolled, repeated, a view of
// another height) drawn by frame and played on the test terminal.
func TestFramesScreenFollowsRandomViews(t *testing.T) {
	const w, h = 30, 10
	r := rand.New(rand.NewPCG(7, 8))
	c := newFakeClient(w, h)
	f := newFrames(c, w, h)
	var rows []string
	for i := range 8 {
		rows = append(rows, fmt.Sprintf("row %d", i))
	}
	next := 100
	row := func() string {
		next++
		switch r.IntN(4) {
		case 0:
			return "" // blank rows repeat, as do
		case 1:
			return "same"
		case 2:
			return fmt.Sprintf("\x1b[3%dmrow %d\x1b[m", r.IntN(8), next)
		}
		return fmt.Sprintf("row %d", next)
	}
	for step := range 2000 {
		switch op := r.IntN(6); {
		case op == 0 && len(rows) > 0:
			rows = slices.Delete(rows, 0, 1+r.IntN(min(3, len(rows))))
		case op == 1:
			for range 1 + r.IntN(3) {
				rows = slices.Insert(rows, 0, row())
			}
		case op == 2 && len(rows) > 0:
			rows[r.IntN(len(rows))] = row()
		case op == 3 && len(rows) > 0:
			rows = slices.Insert(rows, r.IntN(len(rows)), row())
		case op == 4:
			rows = append(rows, row())
		default:
			if len(rows) > 2 {
				rows = rows[1:]
			}
		}
		rows = rows[:min(len(rows), 12)]
		view := strings.Join(append([]string{"head"}, append(slices.Clone(rows), "foot")...), "\n")
		if _, err := c.Write([]byte(f.frame(view, w, h, false))); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(ansi.Strip(view), "\n")
		if len(lines) > h {
			lines = lines[len(lines)-h:]
		}
		if got, want := c.scr.Text(), strings.TrimRight(strings.Join(lines, "\n"), "\n"); got != want {
			t.Fatalf("step %d: screen\n%s\nwant\n%s", step, got, want)
		}
	}
}

func TestFramesStopRestoresTheTerminal(t *testing.T) {
	c := newFakeClient(20, 5)
	f := newFrames(c, 20, 5)
	f.show("console")
	f.idle(t)
	f.stop()
	if got := c.last(); got != leaveScreen {
		t.Fatalf("last write %q, want %q (leave the alternate screen, show the cursor, end bracketed paste, whole-screen scrolling)", got, leaveScreen)
	}
	n := c.count()
	f.show("after the end")
	f.resize(30, 10)
	f.show("after the end, resized")
	f.stop()
	if c.count() != n {
		t.Fatalf("frames wrote after stop: %q", c.last())
	}
}

// stop waits for a frame on its way, so the terminal is restored after
// it and not in the middle of it; and no flush is left behind.
func TestFramesStopWaitsForTheFrameBeingWritten(t *testing.T) {
	c := newFakeClient(20, 5)
	c.gate = make(chan struct{})
	f := newFrames(c, 20, 5)
	f.show("first")
	<-c.held
	stopped := make(chan struct{})
	go func() {
		f.stop()
		close(stopped)
	}()
	select {
	case <-stopped:
		t.Fatal("stop returned while a frame was being written")
	case <-time.After(50 * time.Millisecond):
	}
	close(c.gate)
	<-stopped
	if got := c.last(); got != leaveScreen {
		t.Fatalf("last write %q, want the terminal restored", got)
	}
	if f.busy {
		t.Fatal("a flush is still scheduled after stop")
	}
}

// A console that was never drawn leaves the terminal as it found it.
func TestFramesStopBeforeAnyFrameWritesNothing(t *testing.T) {
	c := newFakeClient(20, 5)
	f := newFrames(c, 20, 5)
	f.stop()
	if n := c.count(); n != 0 {
		t.Fatalf("%d writes from a console that drew nothing: %q", n, c.writes)
	}
}

// A name with a joined emoji (👩‍💻: one glyph for the console, two for a
// terminal that does not join them) at the banner's full width must not
// spill into the next row, where it would stay as a stale glyph.
func TestFramesJoinedEmojiDoesNotSpill(t *testing.T) {
	c := newFakeClient(20, 3)
	f := newFrames(c, 20, 3)
	banner := "Ada 👩\u200d💻 (ada@xy.test)" // 20 cells as the console counts
	f.show(banner + "\nsecond\nthird")
	f.idle(t)
	f.show(banner + "\nsecond\nthird!")
	f.idle(t)
	lines := strings.Split(c.scr.Text(), "\n")
	if len(lines) < 3 || lines[1] != "second" || lines[2] != "third!" {
		t.Fatalf("the banner spilled into the rows below:\n%s", c.scr.Text())
	}
	if !strings.HasPrefix(lines[0], "Ada 👩") {
		t.Fatalf("banner row: %q", lines[0])
	}
}
