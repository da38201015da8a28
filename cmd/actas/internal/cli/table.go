package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

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

// jsonLines writes one JSON value a line. encoding/json escapes the C0
// controls; this escapes DEL and the C1 controls (U+0080–U+009F, which
// some terminals read as escape sequences) too, so stored text can never
// steer the terminal that shows the output. The values stay the same.
type jsonLines struct {
	w   io.Writer
	buf bytes.Buffer
	out []byte
	enc *json.Encoder
}

func newJSONLines(w io.Writer) *jsonLines {
	j := &jsonLines{w: w}
	j.enc = json.NewEncoder(&j.buf)
	return j
}

// Encode writes v and a newline.
func (j *jsonLines) Encode(v any) error {
	j.buf.Reset()
	if err := j.enc.Encode(v); err != nil {
		return err
	}
	j.out = escapeControls(j.out[:0], j.buf.Bytes())
	_, err := j.w.Write(j.out)
	return err
}

// escapeControls appends b to dst with DEL and C1 controls as \u00XX.
func escapeControls(dst, b []byte) []byte {
	// The usual line has neither DEL nor a C1 control, whose UTF-8 starts
	// with 0xC2: copied whole (a million rows of user list --json).
	if bytes.IndexByte(b, 0x7f) < 0 && bytes.IndexByte(b, 0xc2) < 0 {
		return append(dst, b...)
	}
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == 0x7f || (r >= 0x80 && r <= 0x9f) {
			dst = fmt.Appendf(dst, "\\u%04x", r)
		} else {
			dst = append(dst, b[:n]...)
		}
		b = b[n:]
	}
	return dst
}
