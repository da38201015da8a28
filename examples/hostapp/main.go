// Command hostapp is a small product built on hostkit: its users sign in and
// keep invoices, and actas's staff can open it as one of them from the
// console's "Open as" link. Run it beside `actas serve --http`:
//
//	go run ./examples/hostapp --actas http://127.0.0.1:8081 --api-key actas_… --listen 127.0.0.1:8090
//
// (or set ACTAS_URL and ACTAS_API_KEY), with actas's policy product_url set
// to http://127.0.0.1:8090/actas/enter?ticket={ticket}.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/actas/actas/hostkit"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "hostapp:", err)
		os.Exit(1)
	}
}

// run parses the flags, connects hostkit to actas and serves until ctx ends.
func run(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := flag.NewFlagSet("hostapp", flag.ContinueOnError)
	fs.SetOutput(out)
	actasURL := fs.String("actas", getenv("ACTAS_URL"), "base URL of `actas serve --http` (env ACTAS_URL)")
	apiKey := fs.String("api-key", getenv("ACTAS_API_KEY"), "API key from `actas apikey add --name NAME` (env ACTAS_API_KEY)")
	keyName := fs.String("key-name", getenv("ACTAS_KEY_NAME"), "the API key's name, the tokens' audience (env ACTAS_KEY_NAME; learned from the first ticket when empty)")
	listen := fs.String("listen", "127.0.0.1:8090", "address to serve the product on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *actasURL == "" || *apiKey == "" {
		return errors.New("give --actas URL and --api-key KEY (or ACTAS_URL and ACTAS_API_KEY); create a key with `actas apikey add --name hostapp`")
	}
	log := slog.New(slog.NewTextHandler(out, nil))
	kit, err := hostkit.New(hostkit.Config{URL: *actasURL, APIKey: *apiKey, Audience: *keyName, Logger: log})
	if err != nil {
		return err
	}
	defer kit.Close()

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: NewApp(kit).Handler(), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(out, "hostapp on http://%s (ticket entry http://%s/actas/enter?ticket={ticket}), actas at %s\n", ln.Addr(), ln.Addr(), *actasURL)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}
