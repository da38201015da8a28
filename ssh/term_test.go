package ssh

import (
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/mattn/go-runewidth"
)

// screen is a small terminal emulator for tests: enough of VT100 for what
// Bubble Tea's renderer and frames write (text, CR/LF, cursor moves and
// positions, erase in line and display, the alternate screen, insert and
// delete line in a scrolling region), so a test can ask what
// the person sees now, not only what was ever written.
type screen struct {
	mu      sync.Mutex
	w, h    int
	cells   [][]rune
	x, y    int
	savedX  int
	savedY  int
	top     int // the scrolling region, rows top..bot; bot 0 means the last row
	bot     int
	pending []byte
	plain   strings.Builder // everything written, escape sequences removed
	oscs    []string        // operating system commands received (OSC 52 clipboard writes)
	// joins makes it a terminal that draws a zero-width-joiner sequence
	// (👩‍💻) as one glyph: the rune after a joiner takes no cell.
	joins    bool
	joinNext bool
}

func newScreen(w, h int) *screen {
	s := &screen{w: w, h: h}
	s.clear()
	return s
}

func (s *screen) clear() {
	s.cells = make([][]rune, s.h)
	for i := range s.cells {
		s.cells[i] = blank(s.w)
	}
}

func blank(w int) []rune {
	r := make([]rune, w)
	for i := range r {
		r[i] = ' '
	}
	return r
}

// resize keeps the top-left of what is there.
func (s *screen) resize(w, h int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cells := make([][]rune, h)
	for i := range cells {
		cells[i] = blank(w)
		if i < len(s.cells) {
			copy(cells[i], s.cells[i])
		}
	}
	s.w, s.h, s.cells = w, h, cells
	s.clamp()
}

// Text is the screen now, one line per row, trailing blanks trimmed.
func (s *screen) Text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	lines := make([]string, len(s.cells))
	for i, row := range s.cells {
		lines[i] = strings.TrimRight(string(row), " ")
	}
	return strings.TrimRight(strings.Join(lines, "\n"), "\n")
}

// Written is everything ever written, without escape sequences.
func (s *screen) Written() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.plain.String()
}

// OSCs returns the operating system commands received so far, without
// their ESC ] and terminator: "52;c;BASE64" is a clipboard write.
func (s *screen) OSCs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.oscs...)
}

func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = append(s.pending, p...)
	b := s.pending
	i := 0
loop:
	for i < len(b) {
		c := b[i]
		switch {
		case c == 0x1b:
			if i+1 >= len(b) {
				break loop
			}
			switch b[i+1] {
			case '[':
				j := i + 2
				for j < len(b) && (b[j] < 0x40 || b[j] > 0x7e) {
					j++
				}
				if j >= len(b) {
					break loop
				}
				s.csi(string(b[i+2:j]), b[j])
				i = j + 1
			case ']', 'P', '_', '^':
				end := -1
				for j := i + 2; j < len(b); j++ {
					if b[j] == 0x07 {
						end = j + 1
						break
					}
					if b[j] == 0x1b && j+1 < len(b) && b[j+1] == '\\' {
						end = j + 2
						break
					}
				}
				if end < 0 {
					break loop
				}
				if b[i+1] == ']' {
					body := strings.TrimSuffix(strings.TrimSuffix(string(b[i+2:end]), "\a"), "\x1b\\")
					s.oscs = append(s.oscs, body)
				}
				i = end
			case '(', ')', '*', '+', '#':
				if i+2 >= len(b) {
					break loop
				}
				i += 3
			case '7':
				s.savedX, s.savedY = s.x, s.y
				i += 2
			case '8':
				s.x, s.y = s.savedX, s.savedY
				i += 2
			default:
				i += 2
			}
		case c == '\r':
			s.x = 0
			i++
		case c == '\n':
			s.plain.WriteByte('\n')
			s.lineFeed()
			i++
		case c == '\b':
			if s.x > 0 {
				s.x--
			}
			i++
		case c == '\t':
			s.x = min(s.w-1, (s.x/8+1)*8)
			i++
		case c < 0x20 || c == 0x7f:
			i++
		default:
			if !utf8.FullRune(b[i:]) {
				break loop
			}
			r, n := utf8.DecodeRune(b[i:])
			s.put(r)
			s.plain.WriteRune(r)
			i += n
		}
	}
	s.pending = append(s.pending[:0], b[i:]...)
	return len(p), nil
}

func (s *screen) lineFeed() {
	top, bot := s.region()
	if s.y == bot {
		s.deleteLines(top, bot, 1)
		return
	}
	s.y = min(s.y+1, s.h-1)
}

// region is the scrolling region's first and last row.
func (s *screen) region() (top, bot int) {
	bot = s.h - 1
	if s.bot > 0 && s.bot < s.h {
		bot = s.bot
	}
	return s.top, bot
}

// deleteLines removes n rows at y, pulling up the rest of the rows to bot
// and blanking the rows freed at the bottom.
func (s *screen) deleteLines(y, bot, n int) {
	n = min(n, bot-y+1)
	copy(s.cells[y:bot+1], s.cells[y+n:bot+1])
	for i := bot - n + 1; i <= bot; i++ {
		s.cells[i] = blank(s.w)
	}
}

// insertLines puts n blank rows at y, pushing the rows down to bot; those
// pushed past bot are gone.
func (s *screen) insertLines(y, bot, n int) {
	n = min(n, bot-y+1)
	copy(s.cells[y+n:bot+1], s.cells[y:bot+1-n])
	for i := y; i < y+n; i++ {
		s.cells[i] = blank(s.w)
	}
}

func (s *screen) put(r rune) {
	if s.joins && (r == 0x200d || s.joinNext) {
		s.joinNext = r == 0x200d
		return
	}
	wd := runewidth.RuneWidth(r)
	if wd == 0 {
		return
	}
	if s.x+wd > s.w {
		s.x = 0
		s.lineFeed()
	}
	s.cells[s.y][s.x] = r
	if wd == 2 && s.x+1 < s.w {
		s.cells[s.y][s.x+1] = ' '
	}
	s.x += wd
}

func (s *screen) csi(params string, final byte) {
	private := strings.HasPrefix(params, "?")
	params = strings.TrimLeft(params, "?<=>")
	var ns []int
	for _, f := range strings.Split(params, ";") {
		n, _ := strconv.Atoi(f)
		ns = append(ns, n)
	}
	arg := func(i, def int) int {
		if i < len(ns) && ns[i] != 0 {
			return ns[i]
		}
		return def
	}
	switch final {
	case 'A':
		s.y -= arg(0, 1)
	case 'B':
		s.y += arg(0, 1)
	case 'C':
		s.x += arg(0, 1)
	case 'D':
		s.x -= arg(0, 1)
	case 'E':
		s.y += arg(0, 1)
		s.x = 0
	case 'F':
		s.y -= arg(0, 1)
		s.x = 0
	case 'G':
		s.x = arg(0, 1) - 1
	case 'd':
		s.y = arg(0, 1) - 1
	case 'H', 'f':
		s.y, s.x = arg(0, 1)-1, arg(1, 1)-1
	case 'J':
		s.clamp()
		switch arg(0, 0) {
		case 0:
			copy(s.cells[s.y][s.x:], blank(s.w-s.x))
			for y := s.y + 1; y < s.h; y++ {
				s.cells[y] = blank(s.w)
			}
		case 1:
			for y := 0; y < s.y; y++ {
				s.cells[y] = blank(s.w)
			}
			copy(s.cells[s.y][:s.x+1], blank(s.x+1))
		default:
			s.clear()
		}
	case 'K':
		s.clamp()
		switch arg(0, 0) {
		case 0:
			copy(s.cells[s.y][s.x:], blank(s.w-s.x))
		case 1:
			copy(s.cells[s.y][:s.x+1], blank(s.x+1))
		default:
			s.cells[s.y] = blank(s.w)
		}
	case 'r': // DECSTBM; the cursor goes home
		s.top, s.bot = arg(0, 1)-1, arg(1, 0)-1
		if s.bot < 0 {
			s.bot = 0
		}
		s.x, s.y = 0, 0
	case 'L', 'M':
		s.clamp()
		if top, bot := s.region(); s.y >= top && s.y <= bot {
			if final == 'L' {
				s.insertLines(s.y, bot, arg(0, 1))
			} else {
				s.deleteLines(s.y, bot, arg(0, 1))
			}
			s.x = 0
		}
	case 'h', 'l':
		if private && (arg(0, 0) == 1049 || arg(0, 0) == 47 || arg(0, 0) == 1047) {
			s.clear()
			if final == 'h' {
				s.savedX, s.savedY = s.x, s.y
			} else {
				s.x, s.y = s.savedX, s.savedY
			}
		}
	}
	s.clamp()
}

func (s *screen) clamp() {
	s.x = max(0, min(s.x, s.w-1))
	s.y = max(0, min(s.y, s.h-1))
}
