//go:build !unix

package tui

import (
	"fmt"
	"os"

	"github.com/charmbracelet/x/term"
)

// localTerminal is this process's terminal: keys from standard input in
// raw mode, frames to standard output; its size is read once.
func localTerminal(width, height int) (t Terminal, restore func(), err error) {
	t = Terminal{In: os.Stdin, Out: os.Stdout, Width: width, Height: height}
	restore = func() {}
	if fd := os.Stdin.Fd(); term.IsTerminal(fd) {
		state, err := term.MakeRaw(fd)
		if err != nil {
			return t, nil, fmt.Errorf("entering raw mode: %w", err)
		}
		restore = func() { _ = term.Restore(fd, state) }
	}
	if w, h, err := term.GetSize(os.Stdout.Fd()); err == nil {
		t.Width, t.Height = w, h
	}
	return t, restore, nil
}
