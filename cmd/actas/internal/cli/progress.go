package cli

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/charmbracelet/x/term"
)

// progress shows how far a long step is (import users, demo --users) on
// one line that it rewrites, with the count, the rate and the time left —
// only when standard output is a terminal and --quiet is not given;
// otherwise nothing, and the command prints just its final line.
type progress struct {
	w      io.Writer
	live   bool
	what   string
	total  int
	start  time.Time
	last   time.Time
	now    func() time.Time
	showed bool
}

// newProgress starts a progress line on w for total items of what, shown
// when w is a terminal. Output goes through a writer that escapes control
// bytes (safeWriter); the line is drawn on the terminal underneath it,
// since it moves the cursor itself.
func (a *app) newProgress(w io.Writer, what string, total int, quiet bool) *progress {
	if s, ok := w.(*safeWriter); ok {
		w = s.w
	}
	live := !quiet && isTerminal(w)
	return &progress{w: w, live: live, what: what, total: total, start: time.Now(), now: time.Now}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(f.Fd())
}

// update shows done items, at most five times a second.
func (p *progress) update(done int) {
	if !p.live {
		return
	}
	now := p.now()
	if done < p.total && now.Sub(p.last) < 200*time.Millisecond {
		return
	}
	p.last = now
	p.showed = true
	fmt.Fprintf(p.w, "\r\x1b[K%s", progressLine(p.what, done, p.total, now.Sub(p.start)))
}

// clear takes the progress line away, before the final line is printed.
func (p *progress) clear() {
	if p.showed {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.showed = false
	}
}

// progressLine is "importing users: 350,000 of 1,000,000 (35%) · 41,200/s ·
// 16s left".
func progressLine(what string, done, total int, elapsed time.Duration) string {
	s := fmt.Sprintf("%s: %s of %s", what, thousands(done), thousands(total))
	if total > 0 {
		s += fmt.Sprintf(" (%d%%)", done*100/total)
	}
	if secs := elapsed.Seconds(); done > 0 && secs > 0 {
		rate := float64(done) / secs
		s += fmt.Sprintf(" · %s/s", thousands(int(rate)))
		if left := total - done; left > 0 {
			s += fmt.Sprintf(" · %s left", time.Duration(float64(left)/rate*float64(time.Second)).Round(time.Second))
		}
	}
	return s
}

// thousands writes n with commas: 1,000,000.
func thousands(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
