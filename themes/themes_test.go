package themes

import (
	"strings"
	"testing"

	"github.com/charmbracelet/bubbles/textinput"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

func renderer(p termenv.Profile) *lipgloss.Renderer {
	r := lipgloss.NewRenderer(nil)
	r.SetColorProfile(p)
	return r
}

func TestStylesComeFromTheGivenRenderer(t *testing.T) {
	// The global renderer of a test has no terminal (no colour); a colour
	// renderer passed in must still colour: styles are built from it.
	for _, name := range []string{Dark, Light, HighContrast} {
		s := New(renderer(termenv.ANSI256), name)
		if s.R == nil || s.Name != name {
			t.Fatalf("%s: %+v", name, s)
		}
		if out := s.Banner.Render("x"); !strings.Contains(out, "\x1b[") {
			t.Errorf("%s: banner without colour from an ANSI256 renderer: %q", name, out)
		}
		if s.Banner.Render("x") == s.BannerUrgent.Render("x") {
			t.Errorf("%s: urgent banner looks like the normal one", name)
		}
		if out := New(renderer(termenv.Ascii), name).Banner.Render("x"); strings.Contains(out, "\x1b") {
			t.Errorf("%s: escape codes from an ASCII renderer: %q", name, out)
		}
	}
}

func TestPlainHasNoColour(t *testing.T) {
	s := New(renderer(termenv.TrueColor), Plain)
	if !s.Plain {
		t.Fatal("plain theme not marked Plain")
	}
	for what, st := range map[string]lipgloss.Style{
		"banner": s.Banner, "urgent": s.BannerUrgent, "tab": s.TabActive, "selected": s.TableSelected,
		"error": s.Error, "status": s.StatusOK, "button": s.ButtonFocused, "header": s.TableHeader,
	} {
		out := st.Render("x")
		// Attributes (bold, reverse) are fine; colours (38;…/48;…) are not.
		if strings.Contains(out, "38;") || strings.Contains(out, "48;") {
			t.Errorf("%s renders colour in the plain theme: %q", what, out)
		}
	}
	for _, r := range s.Border.Top + s.Border.Left + s.Border.TopLeft + s.Border.BottomRight {
		if r > 0x7f {
			t.Errorf("plain border uses non-ASCII %q", r)
		}
	}
}

func TestNamesAndNext(t *testing.T) {
	names := Names()
	if len(names) != 4 || names[0] != Default {
		t.Fatalf("Names() = %v", names)
	}
	seen := map[string]bool{}
	n := Default
	for range names {
		seen[n] = true
		n = Next(n)
	}
	if n != Default || len(seen) != len(names) {
		t.Fatalf("Next does not cycle through every theme: back at %q after %v", n, seen)
	}
	if Next("nonsense") != names[0] {
		t.Fatalf("Next of an unknown theme = %q", Next("nonsense"))
	}
	if New(nil, "nonsense").Name != Default {
		t.Fatal("an unknown theme does not fall back to the default")
	}
	names[0] = "changed"
	if Names()[0] != Default {
		t.Fatal("Names hands out its own slice")
	}
}

func TestForEnv(t *testing.T) {
	for _, tc := range []struct {
		env  []string
		want bool
	}{
		{nil, false},
		{[]string{"TERM=xterm-256color"}, false},
		{[]string{"NO_COLOR=1"}, true},
		{[]string{"NO_COLOR="}, false},
		{[]string{"TERM=dumb"}, true},
		{[]string{"LANG=C", "TERM=screen", "NO_COLOR=yes"}, true},
	} {
		if got := ForEnv(tc.env); got != tc.want {
			t.Errorf("ForEnv(%q) = %v, want %v", tc.env, got, tc.want)
		}
	}
}

func TestApplyTextInput(t *testing.T) {
	s := New(renderer(termenv.ANSI256), Dark)
	ti := textinput.New()
	s.ApplyTextInput(&ti)
	ti.Placeholder = "search"
	ti.Focus()
	if out := ti.View(); !strings.Contains(out, "38;5;240") {
		t.Fatalf("placeholder not in the theme's colour: %q", out)
	}
}

func TestForSharesStylesPerProfileAndTheme(t *testing.T) {
	c := NewCache()
	For := c.For
	for _, p := range []termenv.Profile{termenv.Ascii, termenv.ANSI, termenv.ANSI256, termenv.TrueColor} {
		for _, name := range Names() {
			s := For(p, name)
			if For(p, name) != s {
				t.Fatalf("%v %s: built twice", p, name)
			}
			// The same styles as New builds for a renderer of that profile.
			want := New(renderer(p), name)
			if s.Name != name || s.Marks != want.Marks || s.R.ColorProfile() != p {
				t.Fatalf("%v %s: name %s marks %v profile %v", p, name, s.Name, s.Marks, s.R.ColorProfile())
			}
			for _, st := range [][2]string{
				{s.Banner.Render("x"), want.Banner.Render("x")},
				{s.TableSelected.Render("row"), want.TableSelected.Render("row")},
				{s.StatusBad.Render("denied"), want.StatusBad.Render("denied")},
			} {
				if st[0] != st[1] {
					t.Fatalf("%v %s: %q, want %q", p, name, st[0], st[1])
				}
			}
		}
	}
	if For(termenv.ANSI256, Dark) == For(termenv.TrueColor, Dark) || For(termenv.ANSI256, Dark) == For(termenv.ANSI256, Light) {
		t.Fatal("different profiles or themes share styles")
	}
	if For(termenv.ANSI256, "nope") != For(termenv.ANSI256, Default) {
		t.Fatal("an unknown theme is not the default")
	}
}

func TestInksRenderAsTheirStyles(t *testing.T) {
	texts := []string{"", " ", "ok", "  Jane Doe → bob@globex.test ", "2025-03-10 11:15:00", "wide 表 …", "tab\there", "two\nlines"}
	for _, p := range []termenv.Profile{termenv.Ascii, termenv.ANSI, termenv.ANSI256, termenv.TrueColor} {
		for _, name := range Names() {
			s := New(renderer(p), name)
			for _, k := range []Ink{s.Inks.Title, s.Inks.Text, s.Inks.Muted, s.Inks.Faint, s.Inks.Bold, s.Inks.Error,
				s.Inks.TableRow, s.Inks.TableSelected, s.Inks.TableEmpty, s.StatusInk("ok"), s.StatusInk("pending"),
				s.StatusInk("denied"), s.StatusInk("ended"), InkOf(s.TabActive), InkOf(s.BannerUrgent), InkOf(s.TableHeader)} {
				for _, text := range texts {
					var b strings.Builder
					k.Write(&b, text)
					if want := k.Style.Render(text); k.Render(text) != want || b.String() != want {
						t.Fatalf("%v %s: %q drawn %q, want %q", p, name, text, k.Render(text), want)
					}
				}
			}
		}
	}
	// Colour-only styles take the quick way.
	if k := New(renderer(termenv.ANSI256), Dark).Inks.TableRow; !k.ok {
		t.Fatal("the table row style is not an ink")
	}
}
