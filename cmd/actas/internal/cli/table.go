package cli

import (
	"bufio"
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
