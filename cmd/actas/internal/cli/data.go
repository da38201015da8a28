package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"

	"github.com/actas/actas/core"
	"github.com/actas/actas/store"
)

// Files inside the data directory.
const (
	dbFile    = "actas.db"
	serveFile = "serve.json"
	hostKey   = "ssh_host_ed25519_key"
)

// defaultDataDir is $XDG_DATA_HOME/actas, else ~/.local/share/actas.
func (a *app) defaultDataDir() (string, error) {
	if x := a.env.Getenv("XDG_DATA_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, "actas"), nil
	}
	home := a.env.Getenv("HOME")
	if home == "" {
		var err error
		if home, err = os.UserHomeDir(); err != nil || home == "" {
			return "", errorf("cannot tell where to keep data: set --data DIR or ACTAS_DATA")
		}
	}
	return filepath.Join(home, ".local", "share", "actas"), nil
}

// chosenDataDir is the directory the person named with --data or
// ACTAS_DATA, or "" when they named none.
func (a *app) chosenDataDir() string {
	if a.dataFlagChanged() {
		if a.data == "" {
			return "."
		}
		return a.data
	}
	return a.env.Getenv("ACTAS_DATA")
}

// demoDataDir is where actas demo keeps its data: the directory given,
// else a folder of its own beside the default one, never the real database.
func (a *app) demoDataDir() (string, error) {
	if d := a.chosenDataDir(); d != "" {
		return d, nil
	}
	d, err := a.defaultDataDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "demo"), nil
}

// dataDir is the directory of an existing database. With no directory
// named and no database in the default one, a command that only reads
// falls back to the demo's, so that "actas demo" followed by "actas user
// list" shows the demo, and says so on stderr; a command that writes
// refuses instead, since a change meant for a real database must never
// land in the demo.
func (a *app) dataDir(writes bool) (string, error) {
	if d := a.chosenDataDir(); d != "" {
		return d, nil
	}
	d, err := a.defaultDataDir()
	if err != nil {
		return "", err
	}
	demo := filepath.Join(d, "demo")
	if !exists(filepath.Join(d, dbFile)) && exists(filepath.Join(demo, dbFile)) {
		if writes {
			return "", errorf("no database at %s — run actas init; changes never go to the demo data unless you name its folder: --data %s", d, demo)
		}
		fmt.Fprintf(a.env.Stderr, "no database in %s; using the demo data in %s\n", d, demo)
		return demo, nil
	}
	return d, nil
}

// serveInfo is DIR/serve.json: written by actas serve once it listens,
// removed when it stops, so other commands can say where it is.
type serveInfo struct {
	PID    int    `json:"pid"`
	Listen string `json:"listen"`
	HTTP   string `json:"http,omitempty"` // the host-product API, if served
}

// runningServer returns the server recorded in dir, if its process is alive.
func runningServer(dir string) (serveInfo, bool) {
	b, err := os.ReadFile(filepath.Join(dir, serveFile))
	if err != nil {
		return serveInfo{}, false
	}
	var si serveInfo
	if json.Unmarshal(b, &si) != nil || si.PID <= 0 {
		return serveInfo{}, false
	}
	return si, processAlive(si.PID)
}

// processAlive reports whether a process with the pid exists.
func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, syscall.EPERM)
}

// serverBusyError says that a running actas serve holds the directory.
func serverBusyError(dir string, si serveInfo) error {
	host, port, err := net.SplitHostPort(si.Listen)
	if err != nil {
		host, port = "", si.Listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return errorf("actas serve (pid %d) is serving %s; open the console over SSH: ssh -p %s %s\n"+
		"(if no actas server runs, delete %s)", si.PID, dir, port, host, filepath.Join(dir, serveFile))
}

// checkServer fails at once when a live actas serve holds dir.
func checkServer(dir string) error {
	if si, ok := runningServer(dir); ok {
		return serverBusyError(dir, si)
	}
	return nil
}

// errNoDatabase is what every command but init and demo says about a
// directory without an initialised database.
func errNoDatabase(dir string) error {
	return errorf("no database at %s — run actas init (or actas demo)", dir)
}

// openStore opens DIR/actas.db, failing at once if a server holds it and
// within the lock timeout if another process does.
func (a *app) openStore(dir string, readOnly bool) (*store.DB, error) {
	if err := checkServer(dir); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, dbFile)
	db, err := store.Open(path, store.Options{LockTimeout: a.env.LockTimeout, ReadOnly: readOnly})
	if errors.Is(err, store.ErrInUse) {
		// A server may have started while we waited: say how to reach it.
		if err := checkServer(dir); err != nil {
			return nil, err
		}
		return nil, errorf("the database %s is in use by another actas process; wait for it to finish or stop it, then try again", path)
	}
	return db, err
}

// opened is an open database and core on it.
type opened struct {
	dir  string
	db   *store.DB
	core *core.Core
}

func (o *opened) Close() {
	o.core.Close()
	_ = o.db.Close()
}

// openCore opens the database of dir with core on it; opt sets core's
// clock. With mustInit, a missing or uninitialised database is an error
// (and a missing file is not created).
func (a *app) openCore(dir string, opt core.Options, mustInit bool) (*opened, error) {
	if opt.Clock == nil {
		opt.Clock = a.env.Clock
	}
	if err := checkServer(dir); err != nil {
		return nil, err
	}
	if mustInit && !exists(filepath.Join(dir, dbFile)) {
		return nil, errNoDatabase(dir)
	}
	db, err := a.openStore(dir, opt.ReadOnly)
	if err != nil {
		return nil, err
	}
	if opt.Notifier == nil {
		opt.Notifier = a.notifier()
	}
	c, err := core.Open(db, opt)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open %s: %w", filepath.Join(dir, dbFile), err)
	}
	if mustInit && !c.Initialized() {
		c.Close()
		_ = db.Close()
		return nil, errNoDatabase(dir)
	}
	o := &opened{dir: dir, db: db, core: c}
	if err := useLogKey(o, opt.ReadOnly); err != nil {
		o.Close()
		return nil, err
	}
	return o, nil
}

// read runs fn on core for a command that only looks: the running
// server's core when the command is bound to one, else the database of the
// data directory, opened for the command and closed after.
func (a *app) read(fn func(c *core.Core) error) error { return a.withCore(false, fn) }

// write runs fn on core for a command that changes something; unlike read
// it never falls back to the demo's data.
func (a *app) write(fn func(c *core.Core) error) error { return a.withCore(true, fn) }

func (a *app) withCore(writes bool, fn func(c *core.Core) error) error {
	return a.withCoreIn(writes, func(c *core.Core, _ string) error { return fn(c) })
}

// writeIn is write for a command that also needs the data folder (the
// signing key's files): the server's when bound to it.
// Over SSH the folder is not known: the command refuses there.
func (a *app) writeIn(fn func(c *core.Core, dir string) error) error {
	if a.bound != nil && a.bound.Dir == "" {
		return errorf("this command works on the server's machine only: run it there (actas --data DIR …)")
	}
	return a.withCoreIn(true, fn)
}

func (a *app) withCoreIn(writes bool, fn func(c *core.Core, dir string) error) error {
	if a.bound != nil {
		return fn(a.bound.Core, a.bound.Dir)
	}
	o, served, err := a.openHere(writes)
	if served || err != nil {
		return err
	}
	defer o.Close()
	return fn(o.core, o.dir)
}

// openHere opens the data directory's database for a command of the local
// command line, unless a server holds the folder: then the server runs
// the command (forward), served is set and there is nothing to close.
// A command that only reads opens it read-only, under a shared lock: core
// then applies no expiry and ends no leftover session, so nothing is
// written and a copy on read-only media can be read (DESIGN "Read-only
// commands"); a writer does both when it opens.
func (a *app) openHere(writes bool) (o *opened, served bool, err error) {
	dir, err := a.dataDir(writes)
	if err != nil {
		return nil, false, err
	}
	if served, err := a.forward(dir); served || err != nil {
		return nil, served, err
	}
	a.stdin.stop()
	o, err = a.openCore(dir, core.Options{ReadOnly: !writes}, true)
	return o, false, err
}

// openInput opens a file named on the command line for reading: this
// machine's file for the local command line; bound commands get what
// Bound.Open gives (nothing over SSH, where only "-" is standard input).
func (a *app) openInput(name string) (io.ReadCloser, error) {
	if a.bound == nil {
		return os.Open(name)
	}
	if a.bound.Open == nil {
		return nil, errorf("cannot read %s here: files are read on the machine the command runs on; give - and send the file on standard input", name)
	}
	return a.bound.Open(name)
}

// readNamed reads file, or standard input for "-", up to limit bytes and
// one more, so that the caller can tell a file that is too big. name is
// what messages call it: the file's name, or "standard input"; what names
// the file when it cannot be opened ("the key file").
func (a *app) readNamed(file, what string, limit int) (b []byte, name string, err error) {
	r, name := a.env.Stdin, "standard input"
	if file != "-" {
		f, err := a.openInput(file)
		if err != nil {
			return nil, file, errorf("cannot read %s: %v", what, err)
		}
		defer f.Close()
		r, name = f, file
	}
	b, err = io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, name, errorf("cannot read %s: %v", name, err)
	}
	return b, name, nil
}

// withDB opens the existing, initialised database for writing, runs fn on
// it and closes it again: for the local-only commands that need the folder
// itself (tui, serve). Shared commands use read or write.
func (a *app) withDB(fn func(o *opened) error) error {
	dir, err := a.dataDir(true)
	if err != nil {
		return err
	}
	o, err := a.openCore(dir, core.Options{}, true)
	if err != nil {
		return err
	}
	defer o.Close()
	return fn(o)
}
