// Package termframe draws a Bubble Tea program's views on a terminal in
// place of Bubble Tea's standard renderer. The console uses it for every
// terminal it runs on, SSH sessions, the control socket and the local one,
// so that a local test sees what an SSH user sees.
package termframe

import (
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/mattn/go-runewidth"
)

// frameGap is the shortest time between two frames: 60 a second, as Bubble
// Tea's own renderer.
const frameGap = time.Second / 60

// What frames writes before its first frame and after its last: the
// alternate screen, a hidden cursor and bracketed paste, as Bubble Tea
// does for tea.WithAltScreen, and back. Leaving also resets the scrolling
// region (scroll sets one only within a frame, but a frame may have been
// cut short) before the alternate screen restores the cursor.
const (
	enterScreen = ansi.SetModeAltScreenSaveCursor + ansi.EraseEntireScreen + ansi.CursorHomePosition +
		ansi.HideCursor + ansi.SetModeBracketedPaste
	leaveScreen = ansi.ResetModeBracketedPaste + ansi.ShowCursor + resetMargins + ansi.ResetModeAltScreenSaveCursor
)

// resetMargins makes the whole screen the scrolling region again.
const resetMargins = "\x1b[r"

// Screen draws a console's views on its terminal in place of Bubble
// Tea's standard renderer. That renderer flushes on a 60 Hz ticker for as
// long as the program runs, copying and comparing the whole frame each
// time: a thousand idle consoles kept over a quarter of a core busy, and
// its ticker cannot be turned off (tea.WithFPS only slows it, and delays
// every frame as much). So the program runs with tea.WithoutRenderer and
// its View hands each view here (Draw wraps a model to do so); a Screen works only when a view differs
// from the last one: it writes at once if the last frame is older than
// frameGap, else when the gap is over. Nothing runs while nothing
// changes: no goroutine, no timer.
//
// Writing happens on a goroutine of its own, never on the program's event
// loop, so a client that reads slowly holds up only its own frames; the
// views that arrive meanwhile collapse into the newest.
//
// Under tea.WithoutRenderer Bubble Tea ignores tea.EnterAltScreen,
// tea.HideCursor and the like; the console uses none of them.
type Screen struct {
	out io.Writer

	mu      sync.Mutex
	view    string // the newest view
	width   int
	height  int
	dirty   bool   // view or size changed since the last frame
	raw     string // sequences to write before the next frame (a clipboard copy)
	repaint bool   // the next frame rewrites every line
	busy    bool   // a flush is scheduled or running; it takes what comes meanwhile
	stopped bool
	lastAt  time.Time // when the last frame started
	flushes sync.WaitGroup

	// Only the one flush under way (or stop, after it) touches these.
	entered bool     // enterScreen is written
	shown   []string // the lines on screen, as the views gave them
	widths  []int    // their display widths, before any cut
}

// New is a Screen drawing on out, a terminal of width × height cells.
func New(out io.Writer, width, height int) *Screen {
	return &Screen{out: out, width: width, height: height}
}

// Show takes the program's newest view. It is called on the event loop
// and never waits for the client.
func (f *Screen) Show(view string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped || view == f.view && !f.dirty {
		return
	}
	f.view, f.dirty = view, true
	f.startFlushLocked()
}

// WriteRaw queues a sequence that is not part of a view, such as OSC 52 for
// the clipboard, to go out between two frames, never inside one.
func (f *Screen) WriteRaw(seq string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped {
		return
	}
	f.raw += seq
	f.dirty = true
	f.startFlushLocked()
}

// startFlushLocked starts a flush unless one is under way (which takes
// what came meanwhile). f.mu is held.
func (f *Screen) startFlushLocked() {
	if !f.busy {
		f.busy = true
		f.flushes.Add(1)
		go f.flush()
	}
}

// Resize takes the terminal's new size. The next frame, which the view
// the program draws for this WindowSizeMsg sets off, rewrites the whole
// screen: the terminal may have rewrapped or cut what was there.
func (f *Screen) Resize(width, height int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.width, f.height = width, height
	f.dirty, f.repaint = true, true
}

// flush writes the newest view, and again for as long as views keep
// coming, at most one frame per frameGap.
func (f *Screen) flush() {
	f.mu.Lock()
	for f.dirty && !f.stopped {
		if wait := frameGap - time.Since(f.lastAt); wait > 0 {
			// Still busy: this timer is the flush that takes the view.
			time.AfterFunc(wait, f.flush)
			f.mu.Unlock()
			return
		}
		view, width, height, repaint, raw := f.view, f.width, f.height, f.repaint, f.raw
		f.dirty, f.repaint, f.raw = false, false, ""
		f.lastAt = time.Now()
		f.mu.Unlock()
		if raw != "" {
			_, _ = io.WriteString(f.out, raw)
		}
		writeInPieces(f.out, f.frame(view, width, height, repaint))
		f.mu.Lock()
	}
	f.busy = false
	f.mu.Unlock()
	f.flushes.Done()
}

// maxWrite bounds one write to the session, and so one SSH packet:
// x/crypto/ssh keeps, for as long as the connection lasts, two buffers as
// large as the largest packet it sent (the packet and its sealed copy). A
// full screen is ~5 KB; a live update, which rewrites the lines that
// changed, is mostly less.
const maxWrite = 2048

// writeInPieces writes s to w at most maxWrite bytes at a time, stopping at
// the first error (the connection is going away).
func writeInPieces(w io.Writer, s string) {
	for len(s) > 0 {
		n := min(len(s), maxWrite)
		if _, err := io.WriteString(w, s[:n]); err != nil {
			return
		}
		s = s[n:]
	}
}

// Halt stops drawing at once, without waiting for a frame under way or
// giving the terminal back: for a connection that is gone.
func (f *Screen) Halt() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped = true
}

// Stop ends the drawing and gives the terminal back: main screen, cursor
// shown, bracketed paste off. It waits for a frame being written; a
// client that stopped reading altogether is cut off by the connection
// guard, which ends that write.
func (f *Screen) Stop() {
	f.mu.Lock()
	if f.stopped {
		f.mu.Unlock()
		return
	}
	f.stopped = true
	f.mu.Unlock()
	f.flushes.Wait()
	// The last view is not drawn: leaving the alternate screen would wipe
	// it at once.
	if f.entered {
		_, _ = io.WriteString(f.out, leaveScreen)
	}
}

// frame is what turns the screen from f.shown into view: the lines that
// changed, each cut to the width so that none wraps and cleared to the
// right of its end; on a repaint every line. The view's bottom lines are
// kept when it is taller than the window, as Bubble Tea does.
func (f *Screen) frame(view string, width, height int, repaint bool) string {
	var b strings.Builder
	if !f.entered {
		b.WriteString(enterScreen)
		f.entered, repaint = true, true
	}
	if repaint {
		f.shown, f.widths = nil, nil
	}
	lines := strings.Split(view, "\n")
	if height > 0 && len(lines) > height {
		lines = lines[len(lines)-height:]
	}
	if !repaint && len(f.shown) == len(lines) {
		f.scroll(&b, lines)
	}
	b.WriteString(ansi.CursorHomePosition)
	widths := make([]int, len(lines))
	for i, l := range lines {
		if i > 0 {
			// \r also ends the pending wrap after a line as wide as the window.
			b.WriteString("\r\n")
		}
		if i < len(f.shown) && f.shown[i] == l {
			widths[i] = f.widths[i]
			continue
		}
		own, w, out := f.measure(i, l, width)
		widths[i] = own
		b.WriteString(out)
		if width <= 0 || w < width {
			b.WriteString(ansi.EraseLineRight)
		}
	}
	// Clear what is left below the view: lines of a taller frame, or after
	// a resize whatever the terminal kept. The cursor may still be at the
	// start of the view's last line, so go below it first.
	if len(f.shown) > len(lines) || repaint && len(lines) < height {
		b.WriteString(ansi.CursorPosition(1, len(lines)+1) + ansi.EraseScreenBelow)
	}
	f.shown, f.widths = lines, widths
	return b.String()
}

// maxShift is how far apart (in rows) scroll looks for lines that moved.
const maxShift = 3

// scroll moves the run of lines that the new view shows a few rows up or
// down from where they are (a list that scrolled, or took a new row on
// top) with the terminal's insert or delete line inside a scrolling
// region, and makes f.shown say what the screen then holds: the moved
// lines in their new rows and blank ones where the lines came from. The
// frame then writes only what is new, not every line of the list again.
// It does nothing unless that saves rewriting at least two lines.
func (f *Screen) scroll(b *strings.Builder, lines []string) {
	old := f.shown
	// A run is new[a..b] == old[a-k..b-k]; it saves rewriting the lines in
	// it that differ from the old line in their row.
	best, bestK, bestA, bestB := 1, 0, 0, 0
	for k := -maxShift; k <= maxShift; k++ {
		if k == 0 {
			continue
		}
		a, saved := -1, 0
		for i := 0; i <= len(lines); i++ {
			j := i - k
			if i < len(lines) && j >= 0 && j < len(old) && lines[i] == old[j] {
				if a < 0 {
					a, saved = i, 0
				}
				if lines[i] != old[i] {
					saved++
				}
				continue
			}
			if a >= 0 && saved > best {
				best, bestK, bestA, bestB = saved, k, a, i-1
			}
			a = -1
		}
	}
	if bestK == 0 {
		return
	}
	k, a, z := bestK, bestA, bestB
	// The region runs from the moved lines' first row, old or new, to their
	// last; k rows go in at its top (k > 0) or out at it (k < 0), and the
	// rows they leave are blank.
	top, bottom, blank := a-k, z, [2]int{a - k, a}
	move := ansi.InsertLine(k)
	if k < 0 {
		top, bottom, blank = a, z-k, [2]int{z + 1, z - k + 1}
		move = ansi.DeleteLine(-k)
	}
	b.WriteString(ansi.ResetStyle)
	b.WriteString(ansi.SetTopBottomMargins(top+1, bottom+1))
	b.WriteString(ansi.CursorPosition(1, top+1))
	b.WriteString(move)
	shown, widths := slices.Clone(old), slices.Clone(f.widths)
	copy(shown[a:z+1], old[a-k:z-k+1])
	copy(widths[a:z+1], f.widths[a-k:z-k+1])
	clear(shown[blank[0]:blank[1]])
	clear(widths[blank[0]:blank[1]])
	b.WriteString(resetMargins)
	f.shown, f.widths = shown, widths
}

// measure cuts line i of a new view to the width; it returns the line's
// own width (kept to compare later frames with), the width written and
// what to write. A list that scrolls by one row moves every line up or
// down by one, so a line found next to its old place reuses its width:
// measuring every line of every frame was most of a live update's cost.
func (f *Screen) measure(i int, l string, width int) (own, written int, out string) {
	own = -1
	for _, j := range [2]int{i - 1, i + 1} {
		if j >= 0 && j < len(f.shown) && f.shown[j] == l {
			own = f.widths[j]
			break
		}
	}
	if own < 0 {
		own = Cells(l)
	}
	// A line with joined graphemes takes one width or another depending on
	// the terminal: it is kept off the last column, so that the erase
	// after it (which a line as wide as the window cannot have) clears
	// whatever the shorter rendering leaves of the last frame.
	limit := width
	if Joined(l) {
		limit = width - 1
	}
	if width > 0 && own > limit {
		// Cut by the console's count, then by as much again as a terminal
		// that does not join graphemes would add.
		cut := ansi.Truncate(l, limit, "")
		for w := Cells(cut); w > limit; w = Cells(cut) {
			cut = ansi.Truncate(cut, ansi.StringWidth(cut)-(w-limit), "")
		}
		return own, Cells(cut), cut
	}
	return own, own, l
}

// Joined reports text holding a zero-width joiner or a variation selector:
// grapheme clusters (👩‍💻) a terminal may draw as one glyph or several.
func Joined(s string) bool { return strings.ContainsAny(s, "\u200d\ufe0f\ufe0e") }

// Cells is how wide s (which may hold ANSI styles) may be on the person's
// terminal: for joined text (👩‍💻, one glyph to the console, several to a
// terminal that does not join them), the wider of one glyph per cluster
// and one per character, so that a line never spills into the next row.
func Cells(s string) int {
	w := ansi.StringWidth(s)
	if !Joined(s) {
		return w
	}
	sum := 0
	for _, r := range ansi.Strip(s) {
		sum += runewidth.RuneWidth(r)
	}
	return max(w, sum)
}
