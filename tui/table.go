package tui

import (
	"strings"

	"github.com/actas/actas/themes"
)

// table is the console's one table, which every list draws with: the
// titles and widths of its columns (laid out from colSpecs by tableOf,
// or by a page's own rule) and its rows, drawn with the theme's inks so
// that no row goes through lipgloss's layout (a table draws hundreds of
// cells a frame).
type table struct {
	cols   []colSpec // the columns' titles, when titles is nil
	titles []string
	widths []int
}

// tableOf lays cols out on a line of total cells.
func tableOf(cols []colSpec, total int) table {
	return table{cols: cols, widths: layoutCols(cols, total)}
}

// join fits each cell to its column and joins them with spaces.
func (t table) join(cells []string) string {
	var b strings.Builder
	for i, w := range t.widths {
		if i > 0 {
			b.WriteByte(' ')
		}
		cell := ""
		if i < len(cells) {
			cell = cells[i]
		}
		b.WriteString(fit(cell, w))
	}
	return b.String()
}

// header is the column titles over the theme's rule, behind the
// two-cell gutter that marks the selected row, w cells wide.
func (t table) header(st pageStyles, w int) string {
	titles := t.titles
	if titles == nil {
		titles = colTitles(t.cols)
	}
	return st.TableHeader.Width(w).Render(fit("  "+t.join(titles), w))
}

// row is one row: "> " and the selection ink when selected (seen even
// without colour), else each cell in its ink (inks by column, the row's
// ink for the others).
func (t table) row(st pageStyles, cells []string, selected bool, inks map[int]themes.Ink) string {
	var b strings.Builder
	t.writeRow(&b, st, cells, selected, inks)
	return b.String()
}

// writeRow writes row to b. Neighbouring cells in the row's ink go out
// as one run, inside one pair of escape sequences.
func (t table) writeRow(b *strings.Builder, st pageStyles, cells []string, selected bool, inks map[int]themes.Ink) {
	ink := &st.Inks
	if selected {
		ink.TableSelected.Write(b, "> "+t.join(cells))
		return
	}
	run := make([]byte, 0, 160)
	run = append(run, "  "...)
	for i, w := range t.widths {
		if i > 0 {
			run = append(run, ' ')
		}
		cell := ""
		if i < len(cells) {
			cell = cells[i]
		}
		k, own := inks[i]
		if !own {
			run = append(run, fit(cell, w)...)
			continue
		}
		if len(run) > 0 {
			ink.TableRow.Write(b, string(run))
			run = run[:0]
		}
		k.Write(b, fit(cell, w))
	}
	if len(run) > 0 {
		ink.TableRow.Write(b, string(run))
	}
}
