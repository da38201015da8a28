package notify

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/actas/actas/core"
)

// Block Kit limits: a header's text, a field's and a section's.
const (
	slackHeaderMax  = 150
	slackFieldMax   = 2000
	slackSectionMax = 3000
)

type slackText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type slackBlock struct {
	Type     string      `json:"type"`
	Text     *slackText  `json:"text,omitempty"`
	Fields   []slackText `json:"fields,omitempty"`
	Elements []slackText `json:"elements,omitempty"`
}

type slackMessage struct {
	Text   string       `json:"text"` // the notification's fallback
	Blocks []slackBlock `json:"blocks"`
}

// slackEscape escapes what Slack's mrkdwn treats as markup.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(core.Display(s))
}

func clipRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// SlackMessage lays a notice out as a Block Kit message: a header, the
// who / whom / why / until / environment fields, the details, and the
// message ID in the context line.
func SlackMessage(id string, n core.Notice) ([]byte, error) {
	m := slackMessage{Text: clipRunes(core.Display(n.Subject), slackSectionMax)}
	m.Blocks = append(m.Blocks, slackBlock{Type: "header", Text: &slackText{"plain_text", clipRunes(core.Display(n.Subject), slackHeaderMax)}})
	var fields []slackText
	for _, f := range noticeFields(n) {
		fields = append(fields, slackText{"mrkdwn", clipRunes("*"+f.label+"*\n"+slackEscape(f.value), slackFieldMax)})
	}
	if len(fields) > 0 {
		m.Blocks = append(m.Blocks, slackBlock{Type: "section", Fields: fields})
	}
	if len(n.Lines) > 0 {
		lines := make([]string, len(n.Lines))
		for i, l := range n.Lines {
			lines[i] = slackEscape(l)
		}
		m.Blocks = append(m.Blocks, slackBlock{Type: "section", Text: &slackText{"mrkdwn", clipRunes(strings.Join(lines, "\n"), slackSectionMax)}})
	}
	ctx := "actas · " + n.Type + " · " + id
	if n.Session != "" {
		ctx += " · " + n.Session
	}
	if n.Request != "" {
		ctx += " · " + n.Request
	}
	m.Blocks = append(m.Blocks, slackBlock{Type: "context", Elements: []slackText{{"mrkdwn", slackEscape(ctx)}}})
	return json.Marshal(m)
}

func (s *Sender) slack(ctx context.Context, ch core.Channel, m core.OutboxMessage) error {
	body, err := SlackMessage(m.ID, m.Notice)
	if err != nil {
		return err
	}
	return s.post(ctx, ch, nil, body)
}
