//go:build unix

package ssh

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/actas/actas/core"
	"github.com/actas/actas/store"
	"github.com/charmbracelet/log"
	gossh "golang.org/x/crypto/ssh"
)

// TestLoad is the SSH load harness of issue 5: many consoles on one
// server, fed live by core, measured for delivery latency, heap per
// session and idle CPU. It runs only with ACTAS_LOAD=1:
//
//	ACTAS_LOAD=1 go test -run TestLoad -v -timeout 10m ./ssh/
//
// ACTAS_LOAD_SESSIONS (default 500) sessions each watch the Audit tab of
// their own admin; every round core records an event whose text the tab
// shows, and each session times it from the publish to the moment the
// text arrives in its output. ACTAS_LOAD_IDLE (default 1000) sessions
// then sit idle while the server's CPU time is measured. The clients run
// in a child process, so this process's heap and CPU are the server's.
//
// It reports figures and asserts only that every session got every
// update: a test never asserts a wall-clock time.
func TestLoad(t *testing.T) {
	if os.Getenv(envLoadClient) != "" {
		loadClientMain(t)
		return
	}
	if os.Getenv("ACTAS_LOAD") != "1" {
		t.Skip("the SSH load harness runs with ACTAS_LOAD=1")
	}
	sessions := envInt(t, "ACTAS_LOAD_SESSIONS", 500)
	idle := max(envInt(t, "ACTAS_LOAD_IDLE", 1000), sessions)
	rounds := envInt(t, "ACTAS_LOAD_ROUNDS", 20)
	const (
		roundGap   = 200 * time.Millisecond
		idleWindow = 10 * time.Second
	)
	started := time.Now()

	c, srv := loadServer(t, idle)
	before := heapNow()

	child := startLoadClient(t, srv, rounds)
	phase := time.Now()
	var opened openedReply
	child.call(t, fmt.Sprintf("open 0 %d", sessions), &opened, 3*time.Minute)
	if opened.Failed > 0 {
		t.Fatalf("%d of %d sessions failed to open; first: %s", opened.Failed, sessions, opened.Err)
	}
	connectTime := time.Since(phase)
	waitQuiet(t)
	after := heapNow()
	if subs := c.Hub().Subscribers(); subs != sessions {
		t.Fatalf("hub has %d subscribers, want one per session (%d)", subs, sessions)
	}

	// Rounds: publish an event, note when the publish returned; the child
	// notes when each session's output carried it.
	called := make([]time.Time, rounds)
	published := make([]time.Time, rounds)
	cpu0, wall0 := cpuTime(), time.Now()
	for r := range rounds {
		called[r] = time.Now()
		if _, err := c.RecordAction(core.SystemPrincipal("load"), loadMarker(r), nil); err != nil {
			t.Fatal(err)
		}
		published[r] = time.Now()
		time.Sleep(roundGap)
	}
	time.Sleep(2 * time.Second) // stragglers
	roundsCPU, roundsWall := cpuTime()-cpu0, time.Since(wall0)
	var rep reportReply
	child.call(t, "report", &rep, 30*time.Second)
	var fromPublish, fromCall []time.Duration
	missing := 0
	for _, arr := range rep.Arrivals {
		for r, at := range arr {
			if at == 0 {
				missing++
				continue
			}
			got := time.Unix(0, at)
			fromPublish = append(fromPublish, max(got.Sub(published[r]), 0))
			fromCall = append(fromCall, got.Sub(called[r]))
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d updates never reached their session", missing, sessions*rounds)
	}

	// Idle: fill up to the idle count, let everything settle, then measure
	// the server's CPU time while nobody does anything.
	if idle > sessions {
		child.call(t, fmt.Sprintf("open %d %d", sessions, idle), &opened, 3*time.Minute)
		if opened.Failed > 0 {
			t.Fatalf("%d of %d idle sessions failed to open; first: %s", opened.Failed, idle-sessions, opened.Err)
		}
	}
	waitQuiet(t)
	atIdle := heapNow()
	cpu0, wall0 = cpuTime(), time.Now()
	time.Sleep(idleWindow)
	idleCores := (cpuTime() - cpu0).Seconds() / time.Since(wall0).Seconds()
	child.call(t, "quit", &struct{}{}, 30*time.Second)
	child.wait(t)

	p50, p99, pmax := percentile(fromPublish, 50), percentile(fromPublish, 99), percentile(fromPublish, 100)
	perSession := func(a, b heapFigures, n int) (inuse, alloc float64, goroutines float64) {
		return float64(int64(b.inuse)-int64(a.inuse)) / float64(n) / 1024,
			float64(int64(b.alloc)-int64(a.alloc)) / float64(n) / 1024,
			float64(b.goroutines-a.goroutines) / float64(n)
	}
	inuse, alloc, gor := perSession(before, after, sessions)
	inuseIdle, allocIdle, _ := perSession(before, atIdle, idle)
	lines := []string{
		fmt.Sprintf("load: sessions=%d delivery p50=%s p99=%s heap/session=%.0fKB idle(%d) cpu=%.3fcores",
			sessions, ms(p50), ms(p99), inuse, idle, idleCores),
		fmt.Sprintf("load: delivery over %d updates (%d rounds x %d sessions, %s apart): max=%s; from the RecordAction call (incl. the durable commit) p50=%s p99=%s; missing=%d",
			len(fromPublish), rounds, sessions, roundGap, ms(pmax), ms(percentile(fromCall, 50)), ms(percentile(fromCall, 99)), missing),
		fmt.Sprintf("load: server cpu while delivering=%.2fcores (%.0fµs per delivered update)",
			roundsCPU.Seconds()/roundsWall.Seconds(), float64(roundsCPU.Microseconds())/float64(max(len(fromPublish), 1))),
		fmt.Sprintf("load: heap/session HeapInuse=%.0fKB HeapAlloc=%.0fKB goroutines/session=%.1f at %d sessions; HeapInuse=%.0fKB HeapAlloc=%.0fKB at %d",
			inuse, alloc, gor, sessions, inuseIdle, allocIdle, idle),
		fmt.Sprintf("load: connect %d sessions in %s; whole run %s; GOMAXPROCS=%d NumCPU=%d",
			sessions, connectTime.Round(time.Millisecond), time.Since(started).Round(time.Second), runtime.GOMAXPROCS(0), runtime.NumCPU()),
	}
	for _, l := range lines {
		t.Log(l)
		fmt.Println(l)
	}
}

// loadServer seeds a demo like actas demo does (a clock three hours back,
// then the system clock), adds n admins with a key each and serves on
// 127.0.0.1.
func loadServer(t *testing.T, n int) (*core.Core, *Server) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "actas.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	clock := core.NewFakeClock(time.Now().Add(-3 * time.Hour))
	c, err := core.Open(db, core.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := core.SeedDemo(c, clock, 200); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if db, err = store.Open(path, store.Options{}); err != nil {
		t.Fatal(err)
	}
	if c, err = core.Open(db, core.Options{}); err != nil {
		t.Fatal(err)
	}

	cli := core.SystemPrincipal("load")
	rows := make([]core.ImportRow, n)
	for i := range rows {
		rows[i] = core.ImportRow{Line: i + 1, User: core.NewUser{Email: loadEmail(i), Name: fmt.Sprintf("Load Admin %d", i),
			Role: core.RoleAdmin, Org: "Acme"}}
	}
	if _, err := c.ImportUsers(cli, rows); err != nil {
		t.Fatal(err)
	}
	// Keys one transaction each, as an operator adds them; several at once
	// so the group commit shares the syncs.
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := range 32 {
		wg.Go(func() {
			for i := w; i < n; i += 32 {
				line := string(gossh.MarshalAuthorizedKey(loadSigner(i).PublicKey()))
				if _, err := c.AddKey(cli, loadEmail(i), line); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}

	srv, err := New(Config{
		Core:          c,
		HostKeyPath:   filepath.Join(dir, "ssh_host_ed25519_key"),
		PerIPConnRate: -1, // every client comes from 127.0.0.1
		Logger:        log.NewWithOptions(io.Discard, log.Options{Level: log.InfoLevel}),
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		<-served
		c.Close()
		db.Close()
	})
	return c, srv
}

// loadClient is the child process that runs the SSH clients.
type loadClient struct {
	cmd     *exec.Cmd
	in      io.WriteCloser
	replies *json.Decoder
	logs    *syncBuffer
	done    chan error
}

func startLoadClient(t *testing.T, srv *Server, rounds int) *loadClient {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cl := &loadClient{logs: &syncBuffer{}, done: make(chan error, 1)}
	cl.cmd = exec.Command(exe, "-test.run=^TestLoad$", "-test.timeout=10m")
	cl.cmd.Env = append(os.Environ(),
		envLoadClient+"=1",
		envLoadAddr+"="+srv.Addr().String(),
		envLoadHostKey+"="+string(gossh.MarshalAuthorizedKey(srv.srv.HostSigners[0].PublicKey())),
		envLoadRounds+"="+strconv.Itoa(rounds),
	)
	cl.cmd.Stdout, cl.cmd.Stderr = cl.logs, cl.logs
	cl.cmd.ExtraFiles = []*os.File{w}
	if cl.in, err = cl.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cl.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	cl.replies = json.NewDecoder(r)
	go func() { cl.done <- cl.cmd.Wait() }()
	t.Cleanup(func() {
		r.Close()
		if cl.cmd.ProcessState == nil {
			_ = cl.cmd.Process.Kill()
			<-cl.done
		}
		if t.Failed() {
			t.Logf("client process output:\n%s", cl.logs.String())
		}
	})
	return cl
}

// call sends a command and decodes its reply, within limit.
func (cl *loadClient) call(t *testing.T, cmd string, reply any, limit time.Duration) {
	t.Helper()
	if _, err := fmt.Fprintln(cl.in, cmd); err != nil {
		t.Fatalf("client %q: %v\n%s", cmd, err, cl.logs.String())
	}
	got := make(chan error, 1)
	go func() { got <- cl.replies.Decode(reply) }()
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("client %q: %v\n%s", cmd, err, cl.logs.String())
		}
	case <-time.After(limit):
		t.Fatalf("client %q: no answer within %s", cmd, limit)
	}
}

func (cl *loadClient) wait(t *testing.T) {
	t.Helper()
	select {
	case err := <-cl.done:
		if err != nil {
			t.Fatalf("client process: %v\n%s", err, cl.logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("client process did not exit")
	}
}

type heapFigures struct {
	inuse, alloc uint64
	goroutines   int
}

func heapNow() heapFigures {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return heapFigures{inuse: ms.HeapInuse, alloc: ms.HeapAlloc, goroutines: runtime.NumGoroutine()}
}

// cpuTime is this process's user plus system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// waitQuiet waits until the server has settled (under 2% of a core over
// half a second), at most 60 s: consoles finish their first loads and the
// reloads that other logins' audit events caused.
func waitQuiet(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		c0, w0 := cpuTime(), time.Now()
		time.Sleep(500 * time.Millisecond)
		if (cpuTime()-c0).Seconds()/time.Since(w0).Seconds() < 0.02 {
			return
		}
	}
	t.Log("load: the server did not settle within 60s; measuring anyway")
}

func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[min(max(i-1, 0), len(s)-1)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}
