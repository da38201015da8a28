//go:build unix

package tui

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/term"
)

// localTerminal is this process's terminal, set up as Bubble Tea's own
// renderer would: keys from standard input (or /dev/tty when that is not
// a terminal) in raw mode, frames to standard output, new sizes on
// SIGWINCH. restore gives the terminal back.
func localTerminal(width, height int) (t Terminal, restore func(), err error) {
	var undo []func()
	restore = func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	in := os.Stdin
	if !term.IsTerminal(in.Fd()) {
		if tty, err := os.Open("/dev/tty"); err == nil {
			in = tty
			undo = append(undo, func() { _ = tty.Close() })
		}
	}
	t = Terminal{In: in, Out: os.Stdout, Width: width, Height: height}
	if fd := in.Fd(); term.IsTerminal(fd) {
		state, err := term.MakeRaw(fd)
		if err != nil {
			restore()
			return t, nil, fmt.Errorf("entering raw mode: %w", err)
		}
		undo = append(undo, func() { _ = term.Restore(fd, state) })
	}
	if fd := os.Stdout.Fd(); term.IsTerminal(fd) {
		if w, h, err := term.GetSize(fd); err == nil {
			t.Width, t.Height = w, h
		}
		sizes := make(chan tea.WindowSizeMsg, 1)
		winch := make(chan os.Signal, 1)
		done := make(chan struct{})
		signal.Notify(winch, syscall.SIGWINCH)
		go func() {
			for {
				select {
				case <-winch:
					w, h, err := term.GetSize(fd)
					if err != nil {
						continue
					}
					select {
					case <-sizes: // only the newest size matters
					default:
					}
					sizes <- tea.WindowSizeMsg{Width: w, Height: h}
				case <-done:
					return
				}
			}
		}()
		undo = append(undo, func() { signal.Stop(winch); close(done) })
		t.Sizes = sizes
	}
	return t, restore, nil
}
