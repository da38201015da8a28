package cli

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"

	"github.com/charmbracelet/log"
	"golang.org/x/sys/unix"

	"github.com/actas/actas/core"
)

// The control socket: actas serve listens on DIR/actas.sock (0600), and
// every command run on a folder a server holds is carried out by that
// server, as cli:<the caller's OS user> (from the socket's peer
// credentials), with the same output and exit status.
//
// The protocol is frames of [kind byte][length uint32, big-endian][data].
// The client sends frameArgs (a controlRequest as JSON) first; the server
// answers with frameOut and frameErr (the command's stdout and stderr), a
// frameWantIn the first time the command reads standard input (the client
// then sends frameIn chunks and one frameInEOF), and frameExit with the
// exit status, after which it closes the connection.
const (
	sockFile = "actas.sock"

	frameArgs   = 'A'
	frameIn     = 'I'
	frameInEOF  = 'E'
	frameOut    = 'O'
	frameErr    = 'R'
	frameWantIn = 'W'
	frameExit   = 'X'
	// A console: the server asks for the caller's terminal in raw mode
	// (frameRaw, answered by a stream of frameIn), the caller sends its
	// new sizes (frameSize: width and height, uint32 big-endian each).
	frameRaw  = 'T'
	frameSize = 'Z'

	maxFrame = 1 << 20
)

// controlRequest is what the client sends first.
type controlRequest struct {
	Args []string `json:"args"`
	Dir  string   `json:"dir"` // the client's working directory, for relative file names
	// Env holds the client's values of the environment variables commands
	// read (forwardedEnv), so a command reads the same through the socket.
	Env map[string]string `json:"env,omitempty"`
	// Term describes the caller's terminal, when its standard input and
	// output are one: a console can then run on it.
	Term *controlTerm `json:"term,omitempty"`
}

type controlTerm struct {
	Env    map[string]string `json:"env"`
	Width  int               `json:"width"`
	Height int               `json:"height"`
}

// forwardedEnv lists the environment variables a command may read that
// the control socket carries to the server.
var forwardedEnv = []string{smtpPasswordEnv}

func writeFrame(w io.Writer, kind byte, data []byte) error {
	var h [5]byte
	h[0] = kind
	binary.BigEndian.PutUint32(h[1:], uint32(len(data)))
	if _, err := w.Write(h[:]); err != nil {
		return err
	}
	_, err := w.Write(data)
	return err
}

func readFrame(r io.Reader) (byte, []byte, error) {
	var h [5]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(h[1:])
	if n > maxFrame {
		return 0, nil, fmt.Errorf("control socket: frame of %d bytes is too big", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return 0, nil, err
	}
	return h[0], b, nil
}

// frameConn writes frames onto one connection; writes of all kinds, from
// every goroutine, go through its one lock.
type frameConn struct {
	mu sync.Mutex
	w  io.Writer
}

// send writes one frame.
func (c *frameConn) send(kind byte, data []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return writeFrame(c.w, kind, data)
}

// writer sends what is written to it as frames of kind.
func (c *frameConn) writer(kind byte) frameWriter { return frameWriter{c, kind} }

// frameWriter sends what is written as frames of one kind.
type frameWriter struct {
	c    *frameConn
	kind byte
}

func (w frameWriter) Write(p []byte) (int, error) {
	w.c.mu.Lock()
	defer w.c.mu.Unlock()
	n := 0
	for len(p) > 0 {
		chunk := p[:min(len(p), 32<<10)]
		if err := writeFrame(w.c.w, w.kind, chunk); err != nil {
			return n, err
		}
		n += len(chunk)
		p = p[len(chunk):]
	}
	return n, nil
}

// ControlServer serves the control socket of one data folder.
type ControlServer struct {
	ln      net.Listener
	path    string
	core    *core.Core
	console ConsoleFunc // runs actas tui and demo's console on the caller's terminal
	dir     string
	log     *log.Logger
	wg      sync.WaitGroup
	ctx     context.Context
	stop    context.CancelFunc

	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// listenControl listens on DIR/actas.sock, mode 0600. A socket left by a
// server that was killed is removed first; a live one, or a file that is
// not our socket, is refused.
func listenControl(dir string, c *core.Core, console ConsoleFunc, logger *log.Logger) (*ControlServer, error) {
	path := filepath.Join(dir, sockFile)
	if fi, err := os.Lstat(path); err == nil {
		if err := checkSocketOwner(path, fi); err != nil {
			return nil, err
		}
		if conn, err := net.Dial("unix", path); err == nil {
			conn.Close()
			return nil, errorf("another actas server listens on %s", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, errorf("cannot remove the stale control socket %s: %v", path, err)
		}
	}
	// The socket is created with the umask's mode: make it 0600 from the
	// start, not only after a chmod.
	old := syscall.Umask(0o177)
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, errorf("cannot listen on the control socket: %v", err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(true)
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	s := &ControlServer{ln: ln, path: path, core: c, console: console, dir: dir, log: logger, ctx: ctx, stop: stop, conns: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// checkSocketOwner refuses a socket file that is not a socket or belongs
// to someone else: talking to it could hand them our commands and input.
func checkSocketOwner(path string, fi os.FileInfo) error {
	if fi.Mode()&os.ModeSocket == 0 {
		return errorf("%s is not actas's control socket (not a socket); move it away", path)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return errorf("%s belongs to uid %d, not to you (uid %d); refusing to use it", path, st.Uid, os.Getuid())
	}
	return nil
}

// Close stops accepting commands, cuts off running ones, waits for them
// and removes the socket.
func (s *ControlServer) Close() {
	s.ln.Close()
	s.stop()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *ControlServer) serve() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[conn] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, conn)
				s.mu.Unlock()
				conn.Close()
			}()
			s.handle(conn.(*net.UnixConn))
		}()
	}
}

// peerUser names the OS user at the other end of the socket.
func peerUser(conn *net.UnixConn) (uid int, name string, err error) {
	raw, err := conn.SyscallConn()
	if err != nil {
		return 0, "", err
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return 0, "", err
	}
	if cerr != nil {
		return 0, "", cerr
	}
	uid = int(cred.Uid)
	name = "uid" + strconv.Itoa(uid)
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil && u.Username != "" {
		name = u.Username
	}
	return uid, name, nil
}

func (s *ControlServer) handle(conn *net.UnixConn) {
	fc := &frameConn{w: conn}
	stderr := fc.writer(frameErr)
	exit := func(code int) { _ = fc.send(frameExit, binary.BigEndian.AppendUint32(nil, uint32(code))) }
	uid, name, err := peerUser(conn)
	if err != nil || (uid != os.Getuid() && uid != 0) {
		fmt.Fprintf(stderr, "actas: the control socket serves only its owner\n")
		exit(1)
		return
	}
	kind, b, err := readFrame(conn)
	var req controlRequest
	if err != nil || kind != frameArgs || json.Unmarshal(b, &req) != nil {
		fmt.Fprintf(stderr, "actas: bad request on the control socket\n")
		exit(1)
		return
	}
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	in := &lazyStdin{want: func() error { return fc.send(frameWantIn, nil) }}
	in.r, in.w = io.Pipe()
	var term *Terminal
	sizes := make(chan Size, 1)
	if req.Term != nil {
		sizes <- Size{req.Term.Width, req.Term.Height}
		term = &Terminal{Env: req.Term.Env, Width: req.Term.Width, Height: req.Term.Height,
			In: in, Out: fc.writer(frameOut), Resize: sizes,
			raw: func() error { return fc.send(frameRaw, nil) }}
	}
	// The reader feeds standard input and window sizes, and notices a
	// client that went away.
	go func() {
		defer cancel()
		for {
			kind, b, err := readFrame(conn)
			switch {
			case err != nil:
				in.w.CloseWithError(io.ErrUnexpectedEOF)
				return
			case kind == frameIn:
				if _, err := in.w.Write(b); err != nil {
					return
				}
			case kind == frameInEOF:
				in.w.Close()
			case kind == frameSize && len(b) == 8:
				sz := Size{int(binary.BigEndian.Uint32(b)), int(binary.BigEndian.Uint32(b[4:]))}
				select { // only the newest size matters
				case <-sizes:
				default:
				}
				sizes <- sz
			}
		}
	}()
	s.log.Debug("control command", "user", name, "args", core.LoggableArgs(req.Args))
	code := RunBound(ctx, Bound{
		Core: s.core, Principal: core.SystemPrincipal(name), Dir: s.dir, Term: term, Console: s.console,
		Getenv: func(k string) string {
			if slices.Contains(forwardedEnv, k) {
				return req.Env[k]
			}
			return ""
		},
		Stdin: in, Stdout: fc.writer(frameOut), Stderr: stderr,
		Open: func(file string) (io.ReadCloser, error) {
			if !filepath.IsAbs(file) {
				file = filepath.Join(req.Dir, file)
			}
			return os.Open(file)
		},
	}, req.Args)
	exit(code)
}

// lazyStdin asks the client for its standard input on the first read, so
// that a command that reads none never takes a line typed at the terminal.
type lazyStdin struct {
	once sync.Once
	want func() error
	r    *io.PipeReader
	w    *io.PipeWriter
}

func (l *lazyStdin) Read(p []byte) (int, error) {
	var err error
	l.once.Do(func() { err = l.want() })
	if err != nil {
		return 0, err
	}
	return l.r.Read(p)
}

// errForwarded carries the exit status of a command a server ran.
type errForwarded struct{ code int }

func (e errForwarded) Error() string { return "exit status " + strconv.Itoa(e.code) }

// forward runs this command line on the server holding dir, if one
// listens on its control socket: ok is false when none does (the caller
// then opens the folder itself). A socket left by a server that died is
// removed.
func (a *app) forward(dir string) (ok bool, err error) {
	path := filepath.Join(dir, sockFile)
	fi, err := os.Lstat(path)
	if err != nil {
		return false, nil
	}
	if err := checkSocketOwner(path, fi); err != nil {
		return false, err
	}
	conn, err := net.Dial("unix", path)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			// Nobody listens: the server was killed. Remove what it left.
			_ = os.Remove(path)
			return false, nil
		}
		return false, errorf("cannot reach the server on %s: %v", path, err)
	}
	defer conn.Close()
	cwd, _ := os.Getwd()
	env := map[string]string{}
	for _, k := range forwardedEnv {
		if v := a.env.Getenv(k); v != "" {
			env[k] = v
		}
	}
	tty := a.terminal()
	req, _ := json.Marshal(controlRequest{Args: a.args, Dir: cwd, Env: env, Term: tty.describe(a.env.Getenv)})
	fc := &frameConn{w: conn}
	if err := fc.send(frameArgs, req); err != nil {
		return true, errorf("the server on %s went away: %v", path, err)
	}
	sendIn := sync.OnceFunc(func() {
		go func() {
			// What the command already read here goes first.
			r := io.MultiReader(bytes.NewReader(a.stdin.read), a.stdin.r)
			_, _ = io.Copy(fc.writer(frameIn), r)
			_ = fc.send(frameInEOF, nil)
		}()
	})
	for {
		kind, b, err := readFrame(conn)
		if err != nil {
			return true, errorf("the server on %s went away before the command finished", path)
		}
		switch kind {
		// The server filtered what its commands wrote (safeWriter); a
		// console's frames must reach the terminal as they are.
		case frameOut:
			if _, err := a.out.w.Write(b); err != nil {
				return true, err
			}
		case frameErr:
			_, _ = a.errOut.w.Write(b)
		case frameWantIn:
			sendIn()
		case frameRaw:
			if tty == nil {
				break
			}
			restore, err := tty.raw(func(w, h int) {
				_ = fc.send(frameSize, binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, uint32(w)), uint32(h)))
			})
			if err != nil {
				return true, errorf("cannot use this terminal for the console: %v", err)
			}
			defer restore()
			sendIn()
		case frameExit:
			if len(b) != 4 {
				return true, errorf("bad answer from the server on %s", path)
			}
			return true, errForwarded{int(binary.BigEndian.Uint32(b))}
		}
	}
}

// recordingReader remembers what was read through it, so that a command
// that read some of its input before finding the folder served can hand
// the server all of it.
type recordingReader struct {
	r    io.Reader
	on   bool
	read []byte
}

func (r *recordingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if r.on {
		r.read = append(r.read, p[:n]...)
	}
	return n, err
}

// stop forgets what was read and records no more: the command runs here.
func (r *recordingReader) stop() { r.on, r.read = false, nil }
