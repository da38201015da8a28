package termframe

import tea "github.com/charmbracelet/bubbletea"

// Draw is m with every view it draws going to s. It relies on what
// Bubble Tea does under tea.WithoutRenderer: View is still called once
// after Init and again after every Update, and its result goes to no
// renderer (TestViewAfterEveryUpdate pins this). A tea.WindowSizeMsg
// reaches s before m, so that the view m draws for it rewrites the whole
// window.
func Draw(m tea.Model, s *Screen) tea.Model { return &drawn{m: m, s: s} }

type drawn struct {
	m tea.Model
	s *Screen
}

func (d *drawn) Init() tea.Cmd { return d.m.Init() }

func (d *drawn) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if ws, ok := msg.(tea.WindowSizeMsg); ok {
		d.s.Resize(ws.Width, ws.Height)
	}
	m, cmd := d.m.Update(msg)
	d.m = m
	return d, cmd
}

func (d *drawn) View() string {
	v := d.m.View()
	d.s.Show(v)
	return v
}

// Model is the model Draw wrapped, as it is now.
func Model(m tea.Model) tea.Model {
	if d, ok := m.(*drawn); ok {
		return d.m
	}
	return m
}
