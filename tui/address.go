package tui

import tea "github.com/charmbracelet/bubbletea"

// Messages are addressed. A page's answers from core come back to the
// page that asked, and to no other: each names its page (its "to", the
// page itself being its ID) or travels in an envelope that does. Only
// core's changes (ChangeMsg) and window sizes reach every page; any other
// message goes to the page on screen.

// addressed is an answer for one page.
type addressed interface{ addressee() Page }

// envelope carries msg to the page to: how a page's parts (a dialog, a
// form) that do not know the page get their answers back to it.
type envelope struct {
	to  Page
	msg tea.Msg
}

func (e envelope) addressee() Page { return e.to }

// answerTo has the answers cmd brings back delivered to p alone; the
// messages for the root (errors, notices, tab switches and the like) and
// those already addressed go as they are, and a batch's commands are
// addressed one by one.
func answerTo(p Page, cmd tea.Cmd) tea.Cmd {
	if cmd == nil {
		return nil
	}
	return func() tea.Msg {
		switch msg := cmd().(type) {
		case nil:
			return nil
		case tea.BatchMsg:
			for i := range msg {
				msg[i] = answerTo(p, msg[i])
			}
			return msg
		case ErrorMsg, NoticeMsg, SessionMsg, OpenAuditMsg, OpenReceiptMsg, SwitchTabMsg, CloseOverlayMsg,
			ShowSessionsMsg, ThemeMsg, addressed:
			return msg
		default:
			return envelope{to: p, msg: msg}
		}
	}
}

func (m accountLoadedMsg) addressee() Page   { return m.to }
func (m themeSetMsg) addressee() Page        { return m.to }
func (m approvalsLoadedMsg) addressee() Page { return m.to }
func (m auditFilterMsg) addressee() Page     { return m.to }
func (m checkpointMsg) addressee() Page      { return m.to }
func (m receiptMsg) addressee() Page         { return m.to }
func (m sessionsLoadedMsg) addressee() Page  { return m.to }
func (m settingsLoadedMsg) addressee() Page  { return m.to }
func (m alertTestedMsg) addressee() Page     { return m.to }
func (m policySavedMsg) addressee() Page     { return m.to }
func (m staffSavedMsg) addressee() Page      { return m.to }

// deliver hands msg to the page to, or the page holding it, wherever it
// is (a tab, your pages kept while impersonating, the overlay); a page
// that has gone gets nothing.
func (m *Model) deliver(to Page, msg tea.Msg) tea.Cmd {
	if to == nil {
		return nil
	}
	var cmd tea.Cmd
	for _, pages := range []*[7]Page{&m.pages, &m.stash} {
		for n, p := range pages {
			if p != nil && (p == to || p.holds(to)) {
				pages[n], cmd = updatePage(p, msg)
				return cmd
			}
		}
	}
	if m.overlay != nil && (m.overlay == to || m.overlay.holds(to)) {
		m.overlay, cmd = updatePage(m.overlay, msg)
	}
	return cmd
}
