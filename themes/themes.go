// Package themes owns every colour of the console: built-in palettes
// (dark, light, high-contrast, plain) turned into lipgloss styles for one
// renderer, so each SSH session gets styles for its own terminal.
//
// Styles are always built from the renderer handed to New, or for the
// client's colour profile by For, never from the global lipgloss renderer:
// over SSH the global one describes the server's terminal, not the
// client's.
package themes

import (
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/textinput"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// Theme names.
const (
	Dark         = "dark"
	Light        = "light"
	HighContrast = "high-contrast"
	Plain        = "plain"
)

// Default is the theme of a user who has not picked one.
const Default = Dark

// Names lists the built-in themes in cycling order (of `t`).
func Names() []string { return []string{Dark, Light, HighContrast, Plain} }

// Valid reports whether name is a built-in theme.
func Valid(name string) bool { return slices.Contains(Names(), name) }

// Next is the theme after name in cycling order (the first after an
// unknown name).
func Next(name string) string {
	names := Names()
	i := slices.Index(names, name)
	return names[(i+1)%len(names)]
}

// ForEnv reports whether a terminal with this environment (KEY=VALUE
// entries, e.g. os.Environ() or an SSH client's env) wants no colour:
// NO_COLOR set to anything non-empty, or TERM=dumb.
func ForEnv(environ []string) (plain bool) {
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		switch {
		case k == "NO_COLOR" && v != "":
			return true
		case k == "TERM" && v == "dumb":
			return true
		}
	}
	return false
}

// Dumb reports whether a terminal with this environment shows nothing but
// plain ASCII (TERM=dumb): no escape sequences, no glyphs.
func Dumb(environ []string) bool {
	for _, kv := range environ {
		if kv == "TERM=dumb" {
			return true
		}
	}
	return false
}

// PlainProfile is the colour profile of a terminal that wants no colour:
// under NO_COLOR, which forbids colour, not emphasis, bold and reverse
// video still show (the plain theme uses no colour at all); a dumb
// terminal gets no escape sequences.
func PlainProfile(dumb bool) termenv.Profile {
	if dumb {
		return termenv.Ascii
	}
	return termenv.ANSI
}

// palette is one theme's colours. Empty colours mean "terminal default".
type palette struct {
	fg, muted, subtle, faint string // text, secondary, disabled, rules
	accent, accentFg         string // active tab, selection, focus
	selBg, selFg             string // selected row
	warnBg, warnFg           string // banner
	urgentBg, urgentFg       string // banner, last minutes
	ok, warn, bad, info      string // status colours
	dialogBorder             string
}

// palettes are the built-in themes' colours, made afresh for each call
// (New runs once per theme and colour profile).
func palettes() map[string]palette {
	return map[string]palette{
		Dark: {
			fg: "252", muted: "245", subtle: "240", faint: "238",
			accent: "75", accentFg: "16",
			selBg: "237", selFg: "231",
			warnBg: "214", warnFg: "16",
			urgentBg: "196", urgentFg: "231",
			ok: "78", warn: "214", bad: "203", info: "75",
			dialogBorder: "75",
		},
		Light: {
			fg: "235", muted: "242", subtle: "248", faint: "252",
			accent: "25", accentFg: "231",
			selBg: "153", selFg: "16",
			warnBg: "220", warnFg: "16",
			urgentBg: "160", urgentFg: "231",
			ok: "28", warn: "130", bad: "160", info: "25",
			dialogBorder: "25",
		},
		HighContrast: {
			fg: "15", muted: "15", subtle: "250", faint: "15",
			accent: "11", accentFg: "0",
			selBg: "15", selFg: "0",
			warnBg: "11", warnFg: "0",
			urgentBg: "9", urgentFg: "15",
			ok: "10", warn: "11", bad: "9", info: "14",
			dialogBorder: "15",
		},
		Plain: {},
	}
}

// Styles are the console's styles for one renderer and theme.
type Styles struct {
	Name  string
	R     *lipgloss.Renderer
	Plain bool // no colour: selection and focus are shown by reverse video and markers
	// Marks is set when styles cannot show focus at all (the plain theme,
	// or a renderer without colour or attributes, e.g. NO_COLOR): the
	// console then adds textual marks such as [1 Users] for the active tab.
	Marks bool

	// Border is the box border: rounded, or ASCII in the plain theme.
	Border lipgloss.Border

	// Colors are the raw colours, for the rare component that needs one.
	Colors Colors

	// Frame.
	App         lipgloss.Style // the whole screen
	Title       lipgloss.Style // page or section title
	TabActive   lipgloss.Style
	TabInactive lipgloss.Style
	TabBar      lipgloss.Style // the row of tabs (rule underneath)
	TabCount    lipgloss.Style // the count in "Approvals (3)" when non-zero

	// Banner while impersonating; BannerUrgent for the last minutes.
	Banner       lipgloss.Style
	BannerUrgent lipgloss.Style

	// Tables.
	TableHeader   lipgloss.Style
	TableRow      lipgloss.Style
	TableSelected lipgloss.Style
	TableEmpty    lipgloss.Style // "no users match"

	// Kebab menu and pickers.
	Menu         lipgloss.Style // the box
	MenuItem     lipgloss.Style
	MenuSelected lipgloss.Style
	MenuDisabled lipgloss.Style // greyed, with its reason
	MenuHotkey   lipgloss.Style
	MenuReason   lipgloss.Style

	// Dialogs and forms.
	Dialog        lipgloss.Style // the box
	DialogTitle   lipgloss.Style
	Button        lipgloss.Style
	ButtonFocused lipgloss.Style
	Label         lipgloss.Style
	LabelFocused  lipgloss.Style
	Input         lipgloss.Style // text typed into an input
	Placeholder   lipgloss.Style
	Prompt        lipgloss.Style
	FieldError    lipgloss.Style // validation message under a field
	Choice        lipgloss.Style // an option of a picker (1h / 24h / …)
	ChoiceActive  lipgloss.Style

	// Footer and help.
	HelpKey  lipgloss.Style
	HelpDesc lipgloss.Style
	HelpSep  lipgloss.Style
	Error    lipgloss.Style // error line in the footer
	Notice   lipgloss.Style // notice line in the footer

	// Text.
	Text  lipgloss.Style
	Muted lipgloss.Style
	Bold  lipgloss.Style
	Faint lipgloss.Style

	// Status colours: ok (active, approved, result ok), warn (pending,
	// expiring), bad (denied, suspended, error), info (ended, neutral).
	StatusOK   lipgloss.Style
	StatusWarn lipgloss.Style
	StatusBad  lipgloss.Style
	StatusInfo lipgloss.Style

	// Inks are the styles that tables and page lines draw with most,
	// worked out once (see Ink).
	Inks Inks
}

// Inks are some of a theme's styles as Inks.
type Inks struct {
	Title, Text, Muted, Faint, Bold, Error      Ink
	TableRow, TableSelected, TableEmpty         Ink
	StatusOK, StatusWarn, StatusBad, StatusInfo Ink
}

// Colors are a theme's raw colours (lipgloss.NoColor in the plain theme).
type Colors struct {
	Accent, Muted, OK, Warn, Bad, Info lipgloss.TerminalColor
}

// New builds the styles of the named theme (Default if unknown) for r
// (lipgloss.DefaultRenderer() if nil).
func New(r *lipgloss.Renderer, name string) *Styles {
	if r == nil {
		r = lipgloss.DefaultRenderer()
	}
	if !Valid(name) {
		name = Default
	}
	p := palettes()[name]
	plain := name == Plain
	col := func(c string) lipgloss.TerminalColor {
		if c == "" {
			return lipgloss.NoColor{}
		}
		return lipgloss.Color(c)
	}
	st := r.NewStyle
	s := &Styles{Name: name, R: r, Plain: plain, Border: lipgloss.RoundedBorder(),
		Colors: Colors{Accent: col(p.accent), Muted: col(p.muted), OK: col(p.ok), Warn: col(p.warn), Bad: col(p.bad), Info: col(p.info)}}
	if plain {
		s.Border = lipgloss.ASCIIBorder()
	}
	s.Marks = plain || r.ColorProfile() == termenv.Ascii
	fg, muted, subtle := col(p.fg), col(p.muted), col(p.subtle)

	s.App = st()
	s.Text = st().Foreground(fg)
	s.Muted = st().Foreground(muted)
	s.Faint = st().Foreground(subtle)
	s.Bold = st().Bold(true)
	s.Title = st().Bold(true).Foreground(col(p.accent))

	s.TabActive = st().Bold(true).Padding(0, 1).Foreground(col(p.accentFg)).Background(col(p.accent))
	s.TabInactive = st().Padding(0, 1).Foreground(muted)
	s.TabBar = st().BorderStyle(s.Border).BorderBottom(true).BorderForeground(col(p.faint))
	s.TabCount = st().Bold(true).Foreground(col(p.warn))

	s.Banner = st().Bold(true).Padding(0, 1).Foreground(col(p.warnFg)).Background(col(p.warnBg))
	s.BannerUrgent = st().Bold(true).Padding(0, 1).Foreground(col(p.urgentFg)).Background(col(p.urgentBg))

	s.TableHeader = st().Bold(true).Foreground(col(p.accent)).BorderStyle(s.Border).BorderBottom(true).BorderForeground(col(p.faint))
	s.TableRow = st().Foreground(fg)
	s.TableSelected = st().Bold(true).Foreground(col(p.selFg)).Background(col(p.selBg))
	s.TableEmpty = st().Italic(true).Foreground(muted)

	s.Menu = st().BorderStyle(s.Border).BorderForeground(col(p.dialogBorder)).Padding(0, 1)
	s.MenuItem = st().Foreground(fg)
	s.MenuSelected = st().Bold(true).Foreground(col(p.selFg)).Background(col(p.selBg))
	s.MenuDisabled = st().Foreground(subtle)
	s.MenuHotkey = st().Bold(true).Foreground(col(p.accent))
	s.MenuReason = st().Italic(true).Foreground(subtle)

	s.Dialog = st().BorderStyle(s.Border).BorderForeground(col(p.dialogBorder)).Padding(1, 2)
	s.DialogTitle = st().Bold(true).Foreground(col(p.accent))
	s.Button = st().Padding(0, 2).Foreground(fg).Background(col(p.faint))
	s.ButtonFocused = st().Bold(true).Padding(0, 2).Foreground(col(p.accentFg)).Background(col(p.accent))
	s.Label = st().Foreground(muted)
	s.LabelFocused = st().Bold(true).Foreground(col(p.accent))
	s.Input = st().Foreground(fg)
	s.Placeholder = st().Foreground(subtle)
	s.Prompt = st().Foreground(col(p.accent))
	s.FieldError = st().Foreground(col(p.bad))
	s.Choice = st().Padding(0, 1).Foreground(muted)
	s.ChoiceActive = st().Bold(true).Padding(0, 1).Foreground(col(p.accentFg)).Background(col(p.accent))

	s.HelpKey = st().Bold(true).Foreground(col(p.accent))
	s.HelpDesc = st().Foreground(muted)
	s.HelpSep = st().Foreground(subtle)
	s.Error = st().Bold(true).Foreground(col(p.bad))
	s.Notice = st().Foreground(col(p.info))

	s.StatusOK = st().Foreground(col(p.ok))
	s.StatusWarn = st().Foreground(col(p.warn))
	s.StatusBad = st().Foreground(col(p.bad))
	s.StatusInfo = st().Foreground(col(p.info))

	if plain {
		// No colour: reverse video and bold carry selection and focus.
		s.TabActive = st().Bold(true).Reverse(true).Padding(0, 1)
		s.Banner = st().Bold(true).Reverse(true).Padding(0, 1)
		s.BannerUrgent = st().Bold(true).Reverse(true).Blink(false).Underline(true).Padding(0, 1)
		s.TableSelected = st().Reverse(true)
		s.MenuSelected = st().Reverse(true)
		s.ButtonFocused = st().Bold(true).Reverse(true).Padding(0, 2)
		s.Button = st().Padding(0, 2)
		s.ChoiceActive = st().Bold(true).Reverse(true).Padding(0, 1)
		s.MenuDisabled = st().Faint(true)
		s.MenuReason = st().Faint(true)
	}
	s.Inks = Inks{
		Title: InkOf(s.Title), Text: InkOf(s.Text), Muted: InkOf(s.Muted), Faint: InkOf(s.Faint),
		Bold: InkOf(s.Bold), Error: InkOf(s.Error),
		TableRow: InkOf(s.TableRow), TableSelected: InkOf(s.TableSelected), TableEmpty: InkOf(s.TableEmpty),
		StatusOK: InkOf(s.StatusOK), StatusWarn: InkOf(s.StatusWarn), StatusBad: InkOf(s.StatusBad),
		StatusInfo: InkOf(s.StatusInfo),
	}
	return s
}

// Cache holds the styles For has built: at most one per colour profile
// and theme, so it stays small however many consoles run. A process that
// runs consoles makes one (NewCache) and hands it to each. Safe for
// concurrent use.
type Cache struct {
	mu     sync.Mutex
	styles map[sharedKey]*Styles
}

// NewCache is an empty cache of styles.
func NewCache() *Cache { return &Cache{styles: map[sharedKey]*Styles{}} }

type sharedKey struct {
	profile termenv.Profile
	name    string
}

// For returns the named theme's styles (Default if unknown) for terminals
// with the given colour profile. They are built once per cache, from a
// renderer of their own that writes for that profile, and shared by every
// console that asks for the same pair, so a console costs no styles of its
// own. Shared styles are read-only: nobody assigns to their fields (a
// lipgloss style is a value, so deriving one, as s.Bold.Foreground(c),
// leaves s as it was).
func (c *Cache) For(profile termenv.Profile, name string) *Styles {
	if !Valid(name) {
		name = Default
	}
	k := sharedKey{profile, name}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.styles[k]; ok {
		return s
	}
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(profile)
	r.SetHasDarkBackground(true) // never ask a terminal; no theme adapts to it
	s := New(r, name)
	c.styles[k] = s
	return s
}

// StatusStyle picks the status colour for a user, request or session
// status, or an audit result.
func (s *Styles) StatusStyle(status string) lipgloss.Style {
	switch statusLevel(status) {
	case statusOK:
		return s.StatusOK
	case statusWarn:
		return s.StatusWarn
	case statusBad:
		return s.StatusBad
	}
	return s.StatusInfo
}

// StatusInk is StatusStyle as an Ink.
func (s *Styles) StatusInk(status string) Ink {
	switch statusLevel(status) {
	case statusOK:
		return s.Inks.StatusOK
	case statusWarn:
		return s.Inks.StatusWarn
	case statusBad:
		return s.Inks.StatusBad
	}
	return s.Inks.StatusInfo
}

type level int

const (
	statusInfo level = iota
	statusOK
	statusWarn
	statusBad
)

func statusLevel(status string) level {
	switch status {
	case "active", "approved", "ok", "granted":
		return statusOK
	case "pending", "expiring":
		return statusWarn
	case "suspended", "deleted", "denied", "error", "expired", "revoked":
		return statusBad
	}
	return statusInfo
}

// Ink is a style with the escape sequences it writes around a line worked
// out once, so that drawing a line with it is two string copies rather
// than lipgloss laying the text out again (a table draws hundreds of cells
// a frame). Only a style that sets colours and attributes has them; one
// that pads, sizes, borders, transforms or styles spaces apart, and a
// text with tabs or newlines, are left to lipgloss.
type Ink struct {
	Style     lipgloss.Style
	pre, post string
	ok        bool
}

// InkOf works out st's escape sequences.
func InkOf(st lipgloss.Style) Ink {
	k := Ink{Style: st}
	if st.GetMaxWidth() > 0 || st.GetMaxHeight() > 0 || st.GetWidth() > 0 || st.GetHeight() > 0 ||
		st.GetTransform() != nil || st.GetHorizontalFrameSize() > 0 || st.GetVerticalFrameSize() > 0 {
		return k
	}
	out := st.Render("\x00")
	i := strings.IndexByte(out, 0)
	if i < 0 || strings.IndexByte(out[i+1:], 0) >= 0 {
		return k
	}
	k.pre, k.post = out[:i], out[i+1:]
	// The same sequences must surround any line, spaces included.
	const probe = "a b…"
	k.ok = st.Render(probe) == k.pre+probe+k.post
	return k
}

// Render is Style.Render(s).
func (k Ink) Render(s string) string {
	if !k.ok || strings.ContainsAny(s, "\t\n") {
		return k.Style.Render(s)
	}
	return k.pre + s + k.post
}

// Write writes Style.Render(s) to b.
func (k Ink) Write(b *strings.Builder, s string) {
	if !k.ok || strings.ContainsAny(s, "\t\n") {
		b.WriteString(k.Style.Render(s))
		return
	}
	b.WriteString(k.pre)
	b.WriteString(s)
	b.WriteString(k.post)
}

// Help returns bubbles/help styles from this theme.
func (s *Styles) Help() help.Styles {
	return help.Styles{
		Ellipsis:       s.HelpSep,
		ShortKey:       s.HelpKey,
		ShortDesc:      s.HelpDesc,
		ShortSeparator: s.HelpSep,
		FullKey:        s.HelpKey,
		FullDesc:       s.HelpDesc,
		FullSeparator:  s.HelpSep,
	}
}

// ApplyTextInput overrides a bubbles text input's styles (which default to
// the global renderer) with this theme's, and stops its cursor blinking so
// an idle console costs no CPU.
func (s *Styles) ApplyTextInput(ti *textinput.Model) {
	ti.PromptStyle = s.Prompt
	ti.TextStyle = s.Input
	ti.PlaceholderStyle = s.Placeholder
	ti.CompletionStyle = s.Placeholder
	ti.Cursor.Style = s.R.NewStyle().Reverse(true)
	ti.Cursor.TextStyle = s.Input
	ti.Cursor.SetMode(cursor.CursorStatic)
}
