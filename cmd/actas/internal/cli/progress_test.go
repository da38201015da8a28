package cli

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

func TestProgressLine(t *testing.T) {
	for _, c := range []struct {
		done, total int
		elapsed     time.Duration
		want        string
	}{
		{0, 1_000_000, 0, "importing users: 0 of 1,000,000 (0%)"},
		{350_000, 1_000_000, 10 * time.Second, "importing users: 350,000 of 1,000,000 (35%) · 35,000/s · 19s left"},
		{1_000_000, 1_000_000, 25 * time.Second, "importing users: 1,000,000 of 1,000,000 (100%) · 40,000/s"},
		{5, 0, time.Second, "importing users: 5 of 0 · 5/s"},
	} {
		if got := progressLine("importing users", c.done, c.total, c.elapsed); got != c.want {
			t.Errorf("progressLine(%d, %d, %v) = %q, want %q", c.done, c.total, c.elapsed, got, c.want)
		}
	}
}

// On a terminal the line is rewritten in place, at most five times a
// second (and always at the end), and taken away before the final line.
func TestProgressRewritesOneLine(t *testing.T) {
	var b bytes.Buffer
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := &progress{w: &b, live: true, what: "importing users", total: 100, start: now, now: func() time.Time { return now }}
	now = now.Add(time.Second)
	p.update(10)
	now = now.Add(50 * time.Millisecond)
	p.update(20) // too soon: not shown
	p.update(100)
	p.clear()
	want := "\r\x1b[Kimporting users: 10 of 100 (10%) · 10/s · 9s left" +
		"\r\x1b[Kimporting users: 100 of 100 (100%) · 95/s" + "\r\x1b[K"
	if b.String() != want {
		t.Errorf("terminal output %q, want %q", b.String(), want)
	}
	b.Reset()
	quiet := &progress{w: &b, what: "x", total: 100, start: now, now: time.Now}
	quiet.update(50)
	quiet.clear()
	if b.Len() != 0 {
		t.Errorf("not live, yet wrote %q", b.String())
	}
}

// Output that is not a terminal gets the final line alone.
func TestImportPrintsOnlyTheFinalLine(t *testing.T) {
	c := newCLI(t)
	c.initDB()
	c.importBatch = 50
	file := c.write("people.csv", membersCSV(300, ""))
	if out := c.ok("import", "users", file); out != "imported 300 users from "+file+"\n" {
		t.Errorf("output %q", out)
	}
	r := newCLI(t).run("demo", "--no-tui", "--users", "30")
	if r.code != 0 {
		t.Fatalf("demo: %s", r.err)
	}
	if strings.Contains(r.out+r.err, "\r") {
		t.Errorf("demo wrote a progress line off a terminal: %q", r.out+r.err)
	}
}

// On a real terminal, the command itself draws the line: through the
// writer that escapes control bytes in everything else it prints.
func TestImportDrawsProgressOnATerminal(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	var screen bytes.Buffer
	read := make(chan struct{})
	go func() { io.Copy(&screen, ptmx); close(read) }()
	c := newCLI(t)
	c.initDB()
	file := c.write("people.csv", membersCSV(300, ""))
	env := Env{Stdin: strings.NewReader(""), Stdout: tty, Stderr: io.Discard, Getenv: func(k string) string { return c.env[k] },
		Operator: "tester", LockTimeout: 100 * time.Millisecond, ImportBatch: 50}
	if code := Run(context.Background(), env, []string{"--data", c.dir, "import", "users", file}); code != 0 {
		t.Fatalf("import exit %d", code)
	}
	tty.Close()
	<-read
	if out := screen.String(); !strings.Contains(out, "\x1b[Kimporting users: ") || !strings.Contains(out, "imported 300 users") {
		t.Errorf("the terminal showed %q, want a progress line, then the final line", out)
	}
}
