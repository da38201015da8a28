package tui

// listCursor is the console's one list cursor: the selected row of a list
// and the first row on screen. Every list (the tabs' tables, the audit
// viewer, a user's keys, the kebab menu) embeds it, so its keys move the
// same way everywhere: up and down stop at the ends (a menu wraps), and
// the selection stays on screen.
type listCursor struct {
	cursor int // the selected row
	offset int // the first row on screen
}

// moveCursor moves the selection d rows, stopping at the first and last
// of count rows.
func (l *listCursor) moveCursor(d, count int) {
	l.cursor = min(max(l.cursor+d, 0), max(count-1, 0))
}

// stepCursor moves the selection d rows and keeps it on a screen of
// height rows.
func (l *listCursor) stepCursor(d, count, height int) {
	l.moveCursor(d, count)
	l.scrollCursor(count, height)
}

// wrapCursor moves the selection d rows round the ends of count rows.
func (l *listCursor) wrapCursor(d, count int) {
	if count > 0 {
		l.cursor = ((l.cursor+d)%count + count) % count
	}
}

// scrollCursor keeps the selection on a screen of height rows.
func (l *listCursor) scrollCursor(count, height int) {
	l.offset = keepVisible(l.cursor, l.offset, height, count)
}

// keepVisible returns the first row to show so that cursor is on screen.
func keepVisible(cursor, offset, height, count int) int {
	if height < 1 {
		height = 1
	}
	if cursor < offset {
		offset = cursor
	}
	if cursor >= offset+height {
		offset = cursor - height + 1
	}
	offset = min(offset, max(count-height, 0))
	return max(offset, 0)
}
