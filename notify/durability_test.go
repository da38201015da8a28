package notify_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/actas/actas/core"
	"github.com/actas/actas/internal/alertsink"
	"github.com/actas/actas/notify"
	"github.com/actas/actas/store"
)

// workerChildEnv, when set to a database path, turns the test binary into
// a process that only runs the outbox worker, for the tests to kill.
const workerChildEnv = "ACTAS_NOTIFY_WORKER_CHILD_DB"

func TestMain(m *testing.M) {
	if path := os.Getenv(workerChildEnv); path != "" {
		runWorkerChild(path)
		return
	}
	os.Exit(m.Run())
}

func runWorkerChild(path string) {
	db, err := store.Open(path, store.Options{LockTimeout: 10 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	c, err := core.Open(db, core.Options{Notifier: notify.New(notify.Options{}),
		FirstRetry: 20 * time.Millisecond, DeliveryTimeout: 2 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Println("open")
	c.RunOutbox(context.Background()) // until killed
}

// startWorker runs the worker child on the database.
func startWorker(t *testing.T, path string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), workerChildEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	if !sc.Scan() || sc.Text() != "open" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatal("the worker child did not open the database")
	}
	go func() {
		for sc.Scan() {
		}
	}()
	return cmd
}

func kill(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Fatalf("the worker child was not killed but ended: %v", cmd.ProcessState)
	}
}

// withCore opens the database in this process (no worker) for fn.
func withCore(t *testing.T, path string, fn func(c *core.Core)) {
	t.Helper()
	db, err := store.Open(path, store.Options{LockTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c, err := core.Open(db, core.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fn(c)
	c.Close()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func why(h alertsink.Hook) string {
	var p notify.WebhookPayload
	_ = json.Unmarshal(h.Body, &p)
	return p.Data.Why
}

// Delivery survives SIGKILL: in each of 20 cycles a message is queued, the
// endpoint answers 500, the worker process is killed, restarted, and the
// endpoint recovers. Every message arrives, maybe more than once, and
// always with the same webhook-id; at the end the outbox is empty.
func TestDeliverySurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 40 processes")
	}
	path := filepath.Join(t.TempDir(), "actas.db")
	var failing atomic.Bool
	recv := alertsink.NewHTTP("")
	recv.Status = func(alertsink.Hook) int {
		if failing.Load() {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	}
	srv := httptest.NewServer(recv)
	defer srv.Close()

	var support, jane core.User
	cli := core.SystemPrincipal("test")
	withCore(t, path, func(c *core.Core) {
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		_, err := c.Init(cli, "owner@acme.test", "Olivia Owner", "Acme")
		must(err)
		_, err = c.SetPolicy(cli, map[string]string{"enabled": "true"})
		must(err)
		support, err = c.CreateUser(cli, core.NewUser{Email: "support@acme.test", Name: "Sam", Role: core.RoleSupport, Org: "Acme", Mode: core.ModeRequest})
		must(err)
		jane, err = c.CreateUser(cli, core.NewUser{Email: "jane@acme.test", Name: "Jane", Role: core.RoleMember, Org: "Acme"})
		must(err)
		ch, err := c.AddChannel(cli, core.ChannelWebhook, srv.URL)
		must(err)
		recv.SetSecret(ch.Secret)
	})

	const cycles = 20
	for i := range cycles {
		reason := fmt.Sprintf("cycle %02d", i)
		withCore(t, path, func(c *core.Core) {
			p := core.Principal{User: support}
			r, err := c.CreateRequest(p, jane.ID, reason, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Cancel(p, r.ID); err != nil {
				t.Fatal(err)
			}
		})
		failing.Store(true)
		w := startWorker(t, path)
		if _, ok := recv.Wait(wait, func(h alertsink.Hook) bool { return why(h) == reason && h.Status == 500 }); !ok {
			t.Fatalf("%s: the failing endpoint was never tried", reason)
		}
		kill(t, w)
		failing.Store(false)
		w = startWorker(t, path)
		if _, ok := recv.Wait(wait, func(h alertsink.Hook) bool { return why(h) == reason && h.Status == 200 }); !ok {
			t.Fatalf("%s: not delivered after the endpoint recovered", reason)
		}
		kill(t, w) // maybe before it wrote the delivery down: then it goes again
	}
	// Last runs deliver whatever was not written down as delivered. A
	// message whose 200 was not written down waits out its backoff (which
	// grew with each failed try) before it goes again, so run the worker
	// until the outbox holds no channel message, or give up after a while.
	channelLeft := func() (n int) {
		withCore(t, path, func(c *core.Core) {
			left, err := c.Outbox(cli)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range left {
				if m.Channel != "" {
					n++
				}
			}
		})
		return n
	}
	for deadline := time.Now().Add(60 * time.Second); ; {
		w := startWorker(t, path)
		for n := -1; n != len(recv.Hooks()); {
			n = len(recv.Hooks())
			time.Sleep(500 * time.Millisecond)
		}
		kill(t, w)
		if channelLeft() == 0 || time.Now().After(deadline) {
			break
		}
	}

	ids := map[string]map[string]bool{}
	for _, h := range recv.Hooks() {
		if h.Verified != nil {
			t.Errorf("a delivery failed verification: %v", h.Verified)
		}
		if ids[why(h)] == nil {
			ids[why(h)] = map[string]bool{}
		}
		ids[why(h)][h.ID] = h.Status == 200 || ids[why(h)][h.ID]
	}
	for i := range cycles {
		reason := fmt.Sprintf("cycle %02d", i)
		if len(ids[reason]) != 1 {
			t.Errorf("%s arrived with %d webhook-ids, want 1: %v", reason, len(ids[reason]), ids[reason])
		}
		for id, ok := range ids[reason] {
			if !ok {
				t.Errorf("%s (%s) never got through", reason, id)
			}
		}
	}
	withCore(t, path, func(c *core.Core) {
		left, err := c.Outbox(cli)
		for _, m := range left {
			if m.Channel != "" { // mail to the owner (an approver) waits for an SMTP server
				t.Errorf("left in the outbox after the last run: %+v", m)
			}
		}
		if err != nil {
			t.Error(err)
		}
	})
	t.Logf("%d deliveries of %d messages over %d kills", len(recv.Hooks()), cycles, 2*cycles+1)
}
