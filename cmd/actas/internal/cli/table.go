package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/mattn/go-runewidth"

	"github.com/actas/actas/core"
)

// table writes aligned columns. Widths are known up front (measure first),
// so rows stream out without being held in memory, unlike text/tabwriter.
type table struct {
	widths []int
}

func newTable(header ...string) *table {
	t := &table{widths: make([]int, len(header))}
	t.measure(header...)
	return t
}

// measure widens the columns to fit a row.
func (t *table) measure(cells ...string) {
	for i, c := range cells {
		t.widths[i] = max(t.widths[i], runewidth.StringWidth(c))
	}
}

// write prints one row; the last column is not padded.
func (t *table) write(w io.Writer, cells ...string) error {
	var b strings.Builder
	for i, c := range cells {
		b.WriteString(c)
		if i < len(cells)-1 {
			b.WriteString(strings.Repeat(" ", t.widths[i]-runewidth.StringWidth(c)+2))
		}
	}
	b.WriteByte('\n')
	_, err := io.WriteString(w, b.String())
	return err
}

// writeTable prints a header and rows in aligned columns, for lists short
// enough to hold (keys, orgs); user list streams through table instead.
func writeTable(w io.Writer, header []string, rows [][]string) error {
	t := newTable(header...)
	for _, r := range rows {
		t.measure(r...)
	}
	// bufio keeps the first write error and Flush returns it.
	bw := bufio.NewWriter(w)
	_ = t.write(bw, header...)
	for _, r := range rows {
		_ = t.write(bw, r...)
	}
	return bw.Flush()
}

// writeJSONLines prints JSON Lines: one object, record(item), per item.
func writeJSONLines[T, R any](w io.Writer, items []T, record func(T) R) error {
	enc := json.NewEncoder(w)
	for _, it := range items {
		if err := enc.Encode(record(it)); err != nil {
			return err
		}
	}
	return nil
}

// cell makes stored, untrusted text safe for a terminal; empty shows as "-".
func cell(s string) string {
	if s == "" {
		return "-"
	}
	return core.Display(s)
}

// stamp shows a time in UTC, to the second; zero shows as "-".
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// safeWriter is every output of the command line: it escapes the bytes
// that could steer a terminal — C0 controls but tab, newline and carriage
// return, DEL, and the C1 controls U+0080–U+009F — as visible \xNN or
// \u00NN, so stored text never reaches a terminal raw, whatever a command
// forgets. Tables already show text through core.Display and JSON escapes
// C0 itself; inside JSON strings the escapes keep the value the same.
type safeWriter struct {
	w       io.Writer
	pending bool // the last write ended in the first byte of a C1 control
	buf     []byte
}

func (s *safeWriter) Write(p []byte) (int, error) {
	n := len(p)
	out := s.buf[:0]
	if s.pending {
		out, p = s.appendC2(out, p), p[min(1, len(p)):]
	}
	for i := 0; i < len(p); i++ {
		b := p[i]
		switch {
		case b < 0x20 && b != '\t' && b != '\n' && b != '\r', b == 0x7f:
			out = fmt.Appendf(out, "\\x%02x", b)
		case b == 0xc2 && i+1 == len(p):
			s.pending = true
		case b == 0xc2 && p[i+1] >= 0x80 && p[i+1] <= 0x9f:
			out = fmt.Appendf(out, "\\u%04x", p[i+1])
			i++
		default:
			out = append(out, b)
		}
	}
	s.buf = out
	if _, err := s.w.Write(out); err != nil {
		return 0, err
	}
	return n, nil
}

// appendC2 writes the 0xC2 held back from the last write, now that the
// byte after it (p[0], if any) is known.
func (s *safeWriter) appendC2(out, p []byte) []byte {
	s.pending = false
	if len(p) > 0 && p[0] >= 0x80 && p[0] <= 0x9f {
		return fmt.Appendf(out, "\\u%04x", p[0])
	}
	out = append(out, 0xc2)
	if len(p) > 0 {
		out = append(out, p[0])
	}
	return out
}

// Flush writes a byte held back at the very end.
func (s *safeWriter) Flush() error {
	if !s.pending {
		return nil
	}
	s.pending = false
	_, err := s.w.Write([]byte{0xc2})
	return err
}
