package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/charmbracelet/log"
	"github.com/spf13/cobra"

	"github.com/actas/actas/core"
	"github.com/actas/actas/httpapi"
)

// ServeFunc runs the SSH server on c until ctx ends. It calls cfg.Ready
// with the address it listens on once it accepts connections.
type ServeFunc func(ctx context.Context, c *core.Core, cfg ServeConfig) error

// ServeConfig is what actas serve hands the SSH server.
type ServeConfig struct {
	Listen           string
	HostKeyPath      string // DIR/ssh_host_ed25519_key, created 0600 if missing
	IdleTimeout      time.Duration
	MaxSession       time.Duration
	HandshakeTimeout time.Duration
	Logger           *log.Logger
	Ready            func(addr string)
	// HTTP is the address of the host-product API (--http); empty: none.
	HTTP string
	// Commands runs "ssh HOST COMMAND…": the command tree bound to the
	// person whose key logged in (see SSHCommands).
	Commands func(ctx context.Context, p core.Principal, args []string, in io.Reader, out, errw io.Writer) int
}

// SSHCommands is the command line over SSH: the same commands, bound to
// the person logged in, without --data and without the commands that need
// this machine (demo, init, tui, serve).
func SSHCommands(c *core.Core) func(ctx context.Context, p core.Principal, args []string, in io.Reader, out, errw io.Writer) int {
	return func(ctx context.Context, p core.Principal, args []string, in io.Reader, out, errw io.Writer) int {
		return RunBound(ctx, Bound{Core: c, Principal: p, Stdin: in, Stdout: out, Stderr: errw, Remote: true}, args)
	}
}

func (a *app) serveCmd() *cobra.Command {
	cfg := ServeConfig{}
	c := &cobra.Command{
		Use:   "serve [--listen ADDR] [--http ADDR]",
		Short: "Run the SSH server: the console for everyone with a registered key",
		Long: `Run the SSH server. People log in with a public key registered with
actas key add, and get the console as themselves.

While it runs, the server holds the database and listens on the control
socket DATA/actas.sock (mode 0600): every other actas command run on the
same data directory is carried out by the server, with the same output and
exit status, as cli:<your OS user>. People with a key run the same commands
over SSH as themselves: ssh -p 23234 HOST user list --json.`,
		Example: `  actas serve --listen :23234
  ssh -p 23234 localhost
  actas serve --http 127.0.0.1:8080    # and the API for host products`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for name, d := range map[string]time.Duration{"--idle-timeout": cfg.IdleTimeout,
				"--max-session": cfg.MaxSession, "--handshake-timeout": cfg.HandshakeTimeout} {
				if d <= 0 {
					return errorf("%s must be positive, not %s", name, d)
				}
			}
			if a.env.Serve == nil {
				return errorf("the SSH server is not built yet")
			}
			return a.withDB(func(o *opened) error {
				ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
				defer stop()
				return a.serve(ctx, o, cfg)
			})
		},
	}
	c.Flags().StringVar(&cfg.Listen, "listen", ":23234", "address to listen on")
	c.Flags().StringVar(&cfg.HTTP, "http", "", "also serve the HTTP API for host products on this address (e.g. 127.0.0.1:8080)")
	c.Flags().DurationVar(&cfg.IdleTimeout, "idle-timeout", 15*time.Minute, "close a connection idle this long")
	c.Flags().DurationVar(&cfg.MaxSession, "max-session", 12*time.Hour, "close any connection after this long")
	c.Flags().DurationVar(&cfg.HandshakeTimeout, "handshake-timeout", 30*time.Second, "drop a connection that has not authenticated by then")
	return c
}

// serve runs the server with DIR/serve.json present while it listens, and
// ends every impersonation session when it stops.
func (a *app) serve(ctx context.Context, o *opened, cfg ServeConfig) error {
	logger := log.NewWithOptions(a.env.Stderr, log.Options{ReportTimestamp: true, Prefix: "actas"})
	cfg.Logger = logger
	cfg.HostKeyPath = filepath.Join(o.dir, hostKey)
	cfg.Commands = SSHCommands(o.core)
	ctl, err := listenControl(o.dir, o.core, a.env.Console, logger)
	if err != nil {
		return err
	}
	info := filepath.Join(o.dir, serveFile)
	var wrote bool
	var writeErr error
	var httpAddr string
	cfg.Ready = func(addr string) {
		if writeErr = writeServeInfo(info, serveInfo{PID: os.Getpid(), Listen: addr, HTTP: httpAddr}); writeErr != nil {
			logger.Error("cannot record the server in serve.json; other commands will only see a busy database", "err", writeErr)
			return
		}
		wrote = true
		host, port, _ := net.SplitHostPort(addr)
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			host = "localhost"
		}
		logger.Info("ready", "addr", addr, "connect", fmt.Sprintf("ssh -p %s %s", port, host))
	}
	defer func() {
		if wrote {
			_ = os.Remove(info)
		}
	}()
	if cfg.HTTP != "" {
		stopHTTP, addr, err := startHTTP(o, cfg.HTTP, logger)
		if err != nil {
			ctl.Close()
			return err
		}
		defer stopHTTP()
		httpAddr = addr
		logger.Info("http ready", "addr", addr, "jwks", "http://"+addr+"/.well-known/jwks.json")
	}
	// The users' search index is built now, in the background, so no
	// console waits for it or adds it to its own cost.
	o.core.WarmUsers()
	stopLog := logImpersonations(o.core, logger)
	stopOutbox := runOutbox(ctx, o.core)
	err = a.env.Serve(ctx, o.core, cfg)
	ctl.Close()
	if serr := o.core.Shutdown(); serr != nil {
		logger.Error("ending sessions at shutdown", "err", serr)
	}
	stopLog() // after the shutdown, so that its session ends are logged
	// What the shutdown queued (its session.ended notices) stays in the
	// outbox and goes out when actas next runs.
	stopOutbox()
	if err != nil && ctx.Err() == nil {
		return err
	}
	logger.Info("stopped")
	return nil
}

// startHTTP serves the host-product API on addr beside the SSH server,
// on the same core. stop ends its streams and waits for requests in flight.
func startHTTP(o *opened, addr string, logger *log.Logger) (stop func(), bound string, err error) {
	kr, err := httpapi.OpenKeyring(o.dir, o.core.Now)
	if err != nil {
		return nil, "", err
	}
	api, err := httpapi.New(httpapi.Config{Core: o.core, Keyring: kr, Logger: logger})
	if err != nil {
		return nil, "", err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", errorf("cannot serve the HTTP API: %v", err)
	}
	srv := api.HTTPServer()
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("http server stopped", "err", err)
		}
	}()
	return func() {
		api.Close()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-done
	}, ln.Addr().String(), nil
}

// writeServeInfo writes the file whole or not at all.
func writeServeInfo(path string, si serveInfo) error {
	b, err := json.Marshal(si)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// logImpersonations writes a line to the server's log when a session
// starts and when it ends, in the form the main logs of ITSM tools expect:
//
//	impersonation start: Jane Doe (jane@globex.test) by: Lee Lead (lead@acme.test)
//	impersonation end: Jane Doe (jane@globex.test) by: Lee Lead (lead@acme.test) reason: exit
//
// stop unsubscribes and returns once the lines of the changes already
// published are written.
func logImpersonations(c *core.Core, logger *log.Logger) (stop func()) {
	sub := c.Hub().Subscribe(1024)
	done := make(chan struct{})
	go func() {
		defer close(done)
		started := map[string]bool{} // a running session changes (a shorter end) without starting again
		for ch := range sub.C {
			s := ch.Session
			if ch.Kind != core.ChangeSession || s == nil {
				continue
			}
			switch {
			case s.Active() && !started[s.ID]:
				started[s.ID] = true
				logger.Info("impersonation start: " + sessionPeople(c, *s))
			case !s.Active():
				delete(started, s.ID)
				logger.Info("impersonation end: " + sessionPeople(c, *s) + " reason: " + core.Display(string(s.EndReason)))
			}
		}
	}()
	return func() {
		sub.Close()
		<-done
	}
}

// sessionPeople is "TARGET (EMAIL) by: IMPERSONATOR (EMAIL)", made safe
// for a log line.
func sessionPeople(c *core.Core, s core.Session) string {
	who := func(id string) string {
		u, err := c.SystemUser(id)
		if err != nil {
			return core.Display(id)
		}
		return core.Display(u.DisplayName()) + " (" + core.Display(u.Email) + ")"
	}
	return who(s.Target) + " by: " + who(s.Impersonator)
}
