package tui

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/actas/actas/core"
	"github.com/actas/actas/internal/termframe"
	"github.com/actas/actas/themes"
	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
)

// urgentBefore is when the banner turns urgent: the session's last minutes.
const urgentBefore = 5 * time.Minute

// bannerView is the full-width warning line shown on every screen while
// the principal impersonates someone:
// "You are impersonating NAME (EMAIL) · 59m left · ctrl+x back to me".
func (m *Model) bannerView() string {
	s := m.common.Styles
	left := m.common.Session.TimeLeft(m.opt.Core.Now())
	style := s.Banner
	if left <= urgentBefore {
		style = s.BannerUrgent
	}
	text, tight := bannerText(core.Display(m.target.DisplayName()), core.Display(m.target.Email), timeLeft(left), m.width-2)
	if tight {
		style = style.Padding(0)
	}
	return style.Width(m.width).MaxHeight(1).Render(text)
}

// bannerText fits "You are impersonating NAME (EMAIL) · 59m left · ctrl+x
// back to me" into width cells; tight says the padding had to go. The
// email is who it really is, so it stays whole as long as anything does:
// first the name is cut, then the words around it shortened, and only on
// a terminal too narrow for the email itself is the line cut at its end.
func bannerText(name, email, left string, width int) (string, bool) {
	for _, form := range []struct {
		prefix, tail string
		tight        bool
	}{
		{"You are impersonating ", " · " + left + " left · ctrl+x back to me", false},
		{"You are impersonating ", " · " + left + " left · ctrl+x back to me", true},
		{"Impersonating ", " · " + left + " · ctrl+x back", true},
		{"As ", " · " + left + " · ctrl+x", true},
	} {
		room := width
		if form.tight {
			room += 2
		}
		if termframe.Joined(name) {
			room-- // the SSH door keeps such a line off the last column
		}
		fixed := ansi.StringWidth(form.prefix) + ansi.StringWidth(" ("+email+")") + ansi.StringWidth(form.tail)
		switch {
		case fixed+termframe.Cells(name) <= room:
			return form.prefix + name + " (" + email + ")" + form.tail, form.tight
		case form.tight && fixed+2 <= room: // at least one cell of the name and "…"
			return form.prefix + truncateCells(name, room-fixed) + " (" + email + ")" + form.tail, true
		}
	}
	return ansi.Truncate("As ("+email+") · "+left+" · ctrl+x", width+2, "…"), true
}

// truncateCells cuts s to at most n cells (as Cells counts), ending "…".
func truncateCells(s string, n int) string {
	t := ansi.Truncate(s, n, "…")
	for over := termframe.Cells(t) - n; over > 0 && t != "…"; over = termframe.Cells(t) - n {
		t = ansi.Truncate(t, ansi.StringWidth(t)-over, "…")
	}
	return t
}

// linkView is the line under the banner when policy product_url gave the
// session a way into the host product: "Open as NAME: URL · o copies". A
// ticket enters once and for TicketTTL; after that o gets a fresh one.
// The URL is never cut: what does not fit goes on to a second line (see
// linkLines), since a link cut short is no use to anyone reading it.
func (m *Model) linkView() string {
	st := m.common.Styles.Banner
	lines := m.linkText()
	for i, l := range lines {
		lines[i] = st.Width(m.width).MaxHeight(1).Render(l)
	}
	return strings.Join(lines, "\n")
}

// linkLines is how many lines linkView takes: 1, or 2 when the URL does
// not fit on one.
func (m *Model) linkLines() int { return len(m.linkText()) }

// linkText is linkView's text, one string per line, each within the
// banner's inner width.
func (m *Model) linkText() []string {
	w := max(m.width-m.common.Styles.Banner.GetHorizontalFrameSize(), 1)
	name := core.Display(m.target.DisplayName())
	if !m.link.Expires.After(m.opt.Core.Now()) {
		return []string{truncateCells("Open as "+name+": the link was used or has expired · o copies a new one", w)}
	}
	prefix, url := "Open as "+name+": ", core.Display(m.link.URL)
	for _, text := range []string{prefix + url + " · o copies", prefix + url} {
		if termframe.Cells(text) <= w {
			return []string{text}
		}
	}
	// Two lines: the name (cut if it must be) and as much of the URL as
	// fits, then the rest of the URL. URLs are ASCII: one cell a byte.
	prefix = truncateCells(prefix, max(w/2, 1))
	first := max(w-termframe.Cells(prefix), 0)
	if first > len(url) {
		first = len(url)
	}
	rest := url[first:]
	second := rest + " · o copies"
	if termframe.Cells(second) > w {
		second = truncateCells(rest, w)
	}
	return []string{prefix + url[:first], second}
}

// copyLink puts the product link on the clipboard (OSC 52), first getting
// a fresh ticket when the one shown was used or has expired.
func (m *Model) copyLink() tea.Cmd {
	c, p, link, cp := m.opt.Core, m.opt.Principal, m.link, m.opt.Copy
	if cp == nil {
		out := m.opt.Renderer.Output()
		cp = func(text string) { out.Copy(text) }
	}
	return func() tea.Msg {
		if !link.Expires.After(c.Now()) {
			var err error
			if link, err = c.RenewProductLink(p); err != nil {
				return linkCopiedMsg{err: err}
			}
		}
		cp(link.URL)
		return linkCopiedMsg{link: link}
	}
}

// timeLeft shows the countdown: "2h 05m", "59m", and in the urgent last
// minutes with seconds, "4m 09s".
func timeLeft(d time.Duration) string {
	d = max(d, 0).Truncate(time.Second)
	h, mnt, sec := int(d/time.Hour), int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second)
	switch {
	case h > 0:
		return fmt.Sprintf("%dh %02dm", h, mnt)
	case d > urgentBefore:
		return fmt.Sprintf("%dm", mnt)
	default:
		return fmt.Sprintf("%dm %02ds", mnt, sec)
	}
}

// tabLabel is tab n's label; the Approvals tab carries the pending count.
func (m *Model) tabLabel(n int) string {
	if n == TabApprovals {
		if m.pending > 0 {
			return fmt.Sprintf("%d Approvals (%d)", n, m.pending)
		}
		return fmt.Sprintf("%d Approvals", n)
	}
	return fmt.Sprintf("%d %s", n, tabTitles()[n])
}

// tabsView is the row of tabs, with who is signed in on the right, drawn
// again only when one of those changes.
func (m *Model) tabsView() string {
	me := m.me()
	key := tabsKey{styles: m.common.Styles, width: m.width, active: m.active, pending: m.pending, tabs: m.tabs,
		name: me.DisplayName(), role: me.Role}
	if m.overlay != nil {
		key.overlay, key.hasOverlay = m.overlay.Title(), true
	}
	if m.tabsDrawn.key != key || m.tabsDrawn.view == "" {
		m.tabsDrawn.key, m.tabsDrawn.view = key, m.tabsViewUncached()
	}
	return m.tabsDrawn.view
}

// tabsKey is everything the tab row shows.
type tabsKey struct {
	styles                 *themes.Styles
	width, active, pending int
	tabs                   [7]bool
	name                   string
	role                   core.Role
	overlay                string
	hasOverlay             bool
}

// whoRoom is the least room the tab row leaves for who you are.
const whoRoom = 16

func (m *Model) tabsViewUncached() string {
	s := m.common.Styles
	me := m.me()
	name := core.Display(me.DisplayName())
	who := name + " · " + core.Display(string(me.Role))
	if m.overlay != nil {
		who = core.Display(m.overlay.Title())
	}
	// The row gives up room in steps, so that who you are stays in view
	// on a narrow terminal, truncated last: first the tabs' padding, then
	// the names of the tabs not shown.
	var row string
	for level := 0; level <= 2; level++ {
		row = m.tabRow(level)
		if m.width-ansi.StringWidth(row)-2 >= min(ansi.StringWidth(who), whoRoom) {
			break
		}
	}
	row = ansi.Truncate(row, m.width, "…")
	room := m.width - ansi.StringWidth(row) - 2
	if m.overlay == nil && ansi.StringWidth(who) > room {
		who = name // the role goes before the name is cut
	}
	if room > 0 {
		who = ansi.Truncate(who, room, "…")
		row += strings.Repeat(" ", m.width-ansi.StringWidth(row)-ansi.StringWidth(who)) + s.Muted.Render(who)
	}
	return s.TabBar.Width(m.width).Render(row)
}

// tabRow is the row of tabs, compact at higher levels: 1 without the
// tabs' padding, 2 with only the numbers (and the pending count) of the
// tabs not shown.
func (m *Model) tabRow(level int) string {
	s := m.common.Styles
	active, inactive := s.TabActive, s.TabInactive
	if level > 0 {
		active, inactive = active.Padding(0), inactive.Padding(0)
	}
	var tabs []string
	for n := 1; n <= 6; n++ {
		if !m.tabs[n] {
			continue
		}
		label := m.tabLabel(n)
		switch {
		case n == m.active && s.Marks:
			tabs = append(tabs, active.Render("["+label+"]"))
		case n == m.active:
			tabs = append(tabs, active.Render(label))
		case level >= 2 && n == TabApprovals && m.pending > 0:
			tabs = append(tabs, inactive.Render(fmt.Sprintf("%d(%d)", n, m.pending)))
		case level >= 2:
			tabs = append(tabs, inactive.Render(fmt.Sprint(n)))
		default:
			tabs = append(tabs, inactive.Render(label))
		}
	}
	return strings.Join(tabs, " ")
}

// helpKeys adapts the focused page's bindings plus the global ones to
// bubbles/help.
type helpKeys struct {
	page      Page
	keys      *KeyMap
	backToMe  bool    // ctrl+x first while impersonating: never cut off
	capturing bool    // the page has the keys: only its own and ctrl+x
	tabs      [7]bool // the tabs shown
}

// first is what leads the help: ctrl+x while impersonating.
func (h helpKeys) first() []key.Binding {
	if h.backToMe {
		return []key.Binding{h.keys.BackToMe}
	}
	return nil
}

// global is what ends it: ? and q, unless the page has the keys.
func (h helpKeys) global() []key.Binding {
	if h.capturing {
		return nil
	}
	return []key.Binding{h.keys.Help, h.keys.Quit}
}

func (h helpKeys) ShortHelp() []key.Binding {
	var page []key.Binding
	if h.page != nil {
		page = h.page.ShortHelp()
	}
	return append(append(h.first(), page...), h.global()...)
}

func (h helpKeys) FullHelp() [][]key.Binding {
	var out [][]key.Binding
	if h.page != nil {
		out = append(out, h.page.FullHelp()...)
	}
	var tabs []key.Binding
	for n := 1; n <= 6 && !h.capturing; n++ {
		if h.tabs[n] {
			tabs = append(tabs, h.keys.Tabs[n-1])
		}
	}
	if len(tabs) > 0 {
		out = append(out, tabs)
	}
	return append(out, append(h.first(), h.global()...))
}

func (m *Model) helpKeys() helpKeys {
	h := helpKeys{page: m.focused(), keys: m.common.Keys, backToMe: m.common.Impersonating(), tabs: m.tabs}
	h.capturing = h.page != nil && h.page.Capturing()
	return h
}

// helpView is the help line (or the full help), drawn again only when the
// keys it lists, the width or the styles change.
func (m *Model) helpView() string {
	h := m.helpKeys()
	// What the help shows, written into a buffer kept from frame to frame;
	// the short help is checked without putting its keys together.
	sig := m.helpDrawn.next[:0]
	var groups [][]key.Binding
	if m.fullHelp {
		groups = h.FullHelp()
		sig = append(sig, 'f')
		for _, g := range groups {
			sig = appendHelp(append(sig, 0), g)
		}
	} else {
		sig = append(sig, 's')
		if h.backToMe {
			sig = appendHelp(sig, []key.Binding{h.keys.BackToMe})
		}
		if h.page != nil {
			sig = appendHelp(sig, h.page.ShortHelp())
		}
		if !h.capturing {
			sig = appendHelp(sig, []key.Binding{h.keys.Help, h.keys.Quit})
		}
	}
	m.helpDrawn.next = sig
	if m.helpDrawn.styles == m.common.Styles && m.helpDrawn.width == m.width && bytes.Equal(m.helpDrawn.sig, sig) {
		return m.helpDrawn.view
	}
	// Built here, on the rare frame whose help changed: a help.Model holds
	// its own copy of every style.
	hm := help.New()
	hm.Styles, hm.Width = m.common.Styles.Help(), m.width
	if m.fullHelp {
		m.helpDrawn.view = hm.FullHelpView(groups)
	} else {
		// bubbles/help adds the item that does not fit when its " …"
		// would not fit either: the line is cut here instead.
		m.helpDrawn.view = ansi.Truncate(hm.ShortHelpView(h.ShortHelp()), m.width, "…")
	}
	m.helpDrawn.styles, m.helpDrawn.width = m.common.Styles, m.width
	m.helpDrawn.sig, m.helpDrawn.next = sig, m.helpDrawn.sig
	return m.helpDrawn.view
}

// appendHelp appends what the help shows of keys to sig.
func appendHelp(sig []byte, keys []key.Binding) []byte {
	for _, k := range keys {
		if k.Enabled() {
			h := k.Help()
			sig = append(append(append(append(sig, h.Key...), 0), h.Desc...), 0)
		}
	}
	return sig
}

// helpDrawn is the help as last drawn, for the styles, width and keys (sig)
// it was drawn for; next is a spare buffer for the next frame's sig.
type helpDrawn struct {
	styles    *themes.Styles
	width     int
	sig, next []byte
	view      string
}

// footerHeight is the status line plus the help.
func (m *Model) footerHeight() int {
	if !m.fullHelp {
		return 2
	}
	return 1 + strings.Count(m.helpView(), "\n") + 1
}

// writeFooter writes the status line (an error or notice) and the help.
func (m *Model) writeFooter(b *strings.Builder) {
	s := m.common.Styles
	switch {
	case m.errText != "":
		b.WriteString(s.Error.Render(ansi.Truncate("✗ "+m.errText, m.width, "…")))
	case m.notice != "":
		b.WriteString(s.Notice.Render(ansi.Truncate(m.notice, m.width, "…")))
	}
	b.WriteByte('\n')
	b.WriteString(m.helpView())
}
