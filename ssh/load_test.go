//go:build unix

package ssh

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/actas/actas/core"
	"github.com/actas/actas/store"
	"github.com/actas/actas/tui"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/log"
	gossh "golang.org/x/crypto/ssh"
)

// TestLoad is the SSH load harness of issue 5: many consoles on one
// server, fed live by core, measured for delivery latency, heap per
// session and idle CPU. It runs only with ACTAS_LOAD=1:
//
//	ACTAS_LOAD=1 go test -run TestLoad -v -timeout 10m ./ssh/
//
// ACTAS_LOAD_SESSIONS (default 500) admins each watch the Audit tab of
// their own console. Every round (ACTAS_LOAD_ROUNDS, default 20, 200 ms
// apart) core records an event whose text the tab shows, and each session
// times it from the publish to the moment the text arrives in its output.
// For the idle figure, members fill up to ACTAS_LOAD_IDLE (default 1000)
// sessions; they connect first, so that their logins (audit events) do
// not reach the admins' Audit tabs. Then the server's CPU time is
// measured over 10 s in which nothing happens.
//
// The clients run in a child process, so this process's heap and CPU are
// the server's. On the server side each console's model is wrapped to note
// when a view first holds an update, which splits the delivery time into
// the console's share and the renderer's and network's. ACTAS_LOAD_BUDGET (default 5m) bounds the whole run.
// ACTAS_LOAD_PROFILE=DIR writes CPU profiles of the rounds and of the idle
// window, the allocation counters before and after the rounds, and the server's heap profile and goroutines at the end, with
// every console still open.
//
// It reports figures and asserts only that every console ends up showing
// the newest event: a test never asserts a wall-clock time.
func TestLoad(t *testing.T) {
	if os.Getenv(envLoadClient) != "" {
		loadClientMain(t)
		return
	}
	if os.Getenv("ACTAS_LOAD") != "1" {
		t.Skip("the SSH load harness runs with ACTAS_LOAD=1")
	}
	staff := loadEnvInt(t, "ACTAS_LOAD_SESSIONS", 500)
	idle := max(loadEnvInt(t, "ACTAS_LOAD_IDLE", 1000), staff)
	members := idle - staff
	rounds := loadEnvInt(t, "ACTAS_LOAD_ROUNDS", 20)
	const (
		roundGap   = 200 * time.Millisecond
		idleWindow = 10 * time.Second
	)
	started := time.Now()
	// Every phase waits at most until the budget runs out, so the whole
	// test stays within it however slow the server is.
	budget := started.Add(loadEnvDuration(t, "ACTAS_LOAD_BUDGET", 5*time.Minute))
	left := func() time.Duration { return max(time.Until(budget), time.Second) }
	prof := loadProfiles(os.Getenv("ACTAS_LOAD_PROFILE"))
	say := func(format string, args ...any) {
		l := fmt.Sprintf("load: "+format, args...)
		t.Log(l)
		fmt.Println(l)
	}

	// Load users 0..staff-1 are admins, staff..idle-1 members.
	views := newLoadViews(rounds)
	c, srv, addr := loadServer(t, staff, members, views.wrap)
	child := startLoadClient(t, srv, addr, rounds)
	connected := 0
	open := func(kind string, from, to int) {
		t.Helper()
		start := time.Now()
		var opened loadOpenedReply
		child.call(t, fmt.Sprintf("open %s %d %d", kind, from, to), &opened, left())
		if opened.Failed > 0 {
			t.Fatalf("%d of %d %s sessions failed to open; first: %s", opened.Failed, to-from, kind, opened.Err)
		}
		took := time.Since(start)
		loadWaitQuiet(t, left())
		say("connect %d %s sessions %s, settled after %s", to-from, kind,
			took.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
		connected += to - from
		// One per session, and the server's own (watchLogouts).
		if subs := c.Hub().Subscribers(); subs != connected+1 {
			t.Fatalf("hub has %d subscribers, want one per session (%d) and the server's", subs, connected)
		}
	}

	before := loadHeap()
	atMembers := before
	if members > 0 {
		open("member", staff, idle)
		atMembers = loadHeap()
		inuse, alloc, gor := loadPerSession(before, atMembers, members)
		say("heap/session HeapInuse=%.0fKB HeapAlloc=%.0fKB goroutines/session=%.1f for %d members on the Account tab",
			inuse, alloc, gor, members)
	}
	// Every admin's login is an audit event that the admins already
	// connected see arrive on their Audit tab.
	open("staff", 0, staff)

	// Rounds: publish an event and note when the publish returned; the
	// child notes when each admin's output carried it.
	called := make([]time.Time, rounds)
	published := make([]time.Time, rounds)
	var client0, client1 loadCPUReply
	child.call(t, "cpu", &client0, left())
	prof.allocs(t, "delivery-allocs-before.pprof")
	prof.startCPU(t, "delivery-cpu.pprof")
	cpu0, wall0 := loadCPUTime(), time.Now()
	for r := range rounds {
		mark := loadMarker(r)
		views.round.Store(int64(r))
		called[r] = time.Now()
		if _, err := c.RecordAction(core.SystemPrincipal(mark), mark, nil); err != nil {
			t.Fatal(err)
		}
		published[r] = time.Now()
		time.Sleep(roundGap)
	}
	// Every console must end up showing the newest event. One that lags
	// more than a screenful of rounds behind never shows the oldest ones
	// (they are below the screen by the time it draws): those are counted
	// as passed over, not delivered.
	var rep loadReportReply
	lagging := staff
	for wait := time.Now().Add(min(30*time.Second, left())); ; {
		child.call(t, "report", &rep, left())
		lagging = 0
		for _, arr := range rep.Arrivals {
			if arr[rounds-1] == 0 {
				lagging++
			}
		}
		if lagging == 0 || time.Now().After(wait) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	serverCPU, wall := loadCPUTime()-cpu0, time.Since(wall0)
	prof.stopCPU()
	prof.allocs(t, "delivery-allocs-after.pprof")
	child.call(t, "cpu", &client1, left())
	clientCPU := client1.CPU - client0.CPU
	if lagging > 0 {
		t.Errorf("%d of %d consoles never showed the newest event", lagging, staff)
	}
	var fromPublish, fromCall []time.Duration
	perRound := make([][]time.Duration, rounds)
	passed := 0
	for _, arr := range rep.Arrivals {
		for r, at := range arr {
			if at == 0 {
				passed++
				continue
			}
			got := time.Unix(0, at)
			fromPublish = append(fromPublish, max(got.Sub(published[r]), 0))
			perRound[r] = append(perRound[r], max(got.Sub(published[r]), 0))
			fromCall = append(fromCall, got.Sub(called[r]))
		}
	}
	var toView []time.Duration
	views.mu.Lock()
	for r, ats := range views.at {
		for _, at := range ats {
			toView = append(toView, max(at.Sub(published[r]), 0))
		}
	}
	views.mu.Unlock()
	p50, p99 := loadPercentile(fromPublish, 50), loadPercentile(fromPublish, 99)
	say("delivery of %d updates (%d rounds x %d sessions, %s apart): p50=%s p99=%s max=%s; from the RecordAction call (incl. the durable commit) p50=%s p99=%s; passed over=%d",
		len(fromPublish), rounds, staff, roundGap, loadMS(p50), loadMS(p99), loadMS(loadPercentile(fromPublish, 100)),
		loadMS(loadPercentile(fromCall, 50)), loadMS(loadPercentile(fromCall, 99)), passed)
	// Whether the slow deliveries are spread out or one round's.
	var rounded []string
	for r, ds := range perRound {
		rounded = append(rounded, fmt.Sprintf("%d:%s", r, loadMS(loadPercentile(ds, 100))))
	}
	say("slowest delivery of each round: %s", strings.Join(rounded, " "))
	say("on the server, from publish to a view with the update (%d views): p50=%s p99=%s max=%s",
		len(toView), loadMS(loadPercentile(toView, 50)), loadMS(loadPercentile(toView, 99)), loadMS(loadPercentile(toView, 100)))
	perUpdate := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(max(len(fromPublish), 1)) }
	say("cpu while delivering: server %.2fcores (%.0fµs per delivered update), clients %.2fcores (%.0fµs per update)",
		serverCPU.Seconds()/wall.Seconds(), perUpdate(serverCPU), clientCPU.Seconds()/wall.Seconds(), perUpdate(clientCPU))

	// Idle: nothing happens; the server should sleep.
	loadWaitQuiet(t, left())
	prof.startCPU(t, "idle-cpu.pprof")
	cpu0, wall0 = loadCPUTime(), time.Now()
	time.Sleep(idleWindow)
	idleCores := (loadCPUTime() - cpu0).Seconds() / time.Since(wall0).Seconds()
	prof.stopCPU()
	say("idle(%d: %d admins, %d members) cpu=%.3fcores over %s", idle, staff, members, idleCores, idleWindow)

	// The admins' heap is measured last, with every console still open:
	// the full collections it takes would leave the collector's pacing
	// off for the first rounds after them (the first collection then
	// leans on the consoles' goroutines to help it, ~40 ms of one round),
	// which no server that is left alone sees.
	atStaff := loadHeap()
	prof.heap(t, "heap.pprof")
	inuse, alloc, gor := loadPerSession(atMembers, atStaff, staff)
	say("heap/session HeapInuse=%.0fKB HeapAlloc=%.0fKB goroutines/session=%.1f for %d admins on the Audit tab, after the rounds",
		inuse, alloc, gor, staff)
	child.call(t, "quit", &struct{}{}, left())
	child.wait(t)

	say("sessions=%d delivery p50=%s p99=%s heap/session=%.0fKB idle(%d) cpu=%.3fcores",
		staff, loadMS(p50), loadMS(p99), inuse, idle, idleCores)
	say("whole run %s; GOMAXPROCS=%d NumCPU=%d", time.Since(started).Round(time.Second), runtime.GOMAXPROCS(0), runtime.NumCPU())
}

// loadServer seeds a demo like actas demo does (a clock three hours back,
// then the system clock), adds admins and members with a key each and
// serves on 127.0.0.1.
func loadServer(t *testing.T, admins, members int, wrap func(tea.Model) tea.Model) (*core.Core, *Server, string) {
	t.Helper()
	// The collector's target, as actas serve runs with.
	t.Cleanup(TuneRuntime())
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
	n := admins + members
	emails := make([]string, n)
	rows := make([]core.ImportRow, n)
	for i := range rows {
		nu := core.NewUser{Email: fmt.Sprintf("load%05d@acme.test", i), Name: fmt.Sprintf("Load Admin %d", i),
			Role: core.RoleAdmin, Org: "Acme"}
		if i >= admins {
			nu = core.NewUser{Email: fmt.Sprintf("load%05d@globex.test", i), Name: fmt.Sprintf("Load Member %d", i),
				Role: core.RoleMember, Org: "Globex"}
		}
		emails[i] = nu.Email
		rows[i] = core.ImportRow{Line: i + 1, User: nu}
	}
	if _, err := c.ImportUsers(cli, rows); err != nil {
		t.Fatal(err)
	}
	// Keys one transaction each, as an operator adds them; several at once
	// so the group commit shares the syncs.
	const adders = 32
	var wg sync.WaitGroup
	errs := make(chan error, adders)
	for w := range adders {
		wg.Go(func() {
			for i := w; i < n; i += adders {
				line := string(gossh.MarshalAuthorizedKey(loadSigner(i).PublicKey()))
				if _, err := c.AddKey(cli, emails[i], line); err != nil {
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
	newModel := srv.newModel
	srv.newModel = func(o tui.Options) tea.Model { return wrap(newModel(o)) }
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
	return c, srv, ln.Addr().String()
}

// loadViews notes, on the server, when each console first drew the
// current round's marker into a view: the time core's publish took to
// reach the screen model, before the renderer and the network.
type loadViews struct {
	round atomic.Int64 // the round being published; -1 before the first
	mu    sync.Mutex
	at    [][]time.Time // by round
}

func newLoadViews(rounds int) *loadViews {
	v := &loadViews{at: make([][]time.Time, rounds)}
	v.round.Store(-1)
	return v
}

// wrap spies on one console.
func (v *loadViews) wrap(m tea.Model) tea.Model {
	return &loadViewSpy{Model: m, views: v, seen: make([]bool, len(v.at))}
}

type loadViewSpy struct {
	tea.Model
	views *loadViews
	seen  []bool // by round
}

func (s *loadViewSpy) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	m, cmd := s.Model.Update(msg)
	s.Model = m
	return s, cmd
}

// View notes the rounds published so far whose marker shows for the first
// time, in one pass over the view.
func (s *loadViewSpy) View() string {
	v := s.Model.View()
	cur := int(s.views.round.Load())
	if cur < 0 {
		return v
	}
	var now time.Time
	for rest := v; ; {
		i := strings.Index(rest, "lm")
		if i < 0 || len(rest)-i < 6 {
			break
		}
		m := rest[i : i+6]
		rest = rest[i+2:]
		r, err := strconv.Atoi(m[2:5])
		if m[5] != 'z' || err != nil || r < 0 || r > cur || s.seen[r] {
			continue
		}
		s.seen[r] = true
		if now.IsZero() {
			now = time.Now()
		}
		s.views.mu.Lock()
		s.views.at[r] = append(s.views.at[r], now)
		s.views.mu.Unlock()
	}
	return v
}

// loadClient is the child process that runs the SSH clients.
type loadClient struct {
	cmd     *exec.Cmd
	in      io.WriteCloser
	replies *json.Decoder
	logs    *syncBuffer
	exited  chan struct{} // closed once the process has ended, with err
	err     error
}

func startLoadClient(t *testing.T, srv *Server, addr string, rounds int) *loadClient {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cl := &loadClient{logs: &syncBuffer{}, exited: make(chan struct{})}
	cl.cmd = exec.Command(exe, "-test.run=^TestLoad$", "-test.timeout=20m")
	cl.cmd.Env = append(os.Environ(),
		envLoadClient+"=1",
		envLoadAddr+"="+addr,
		envLoadHostKey+"="+string(gossh.MarshalAuthorizedKey(srv.srv.HostSigners[0].PublicKey())),
		envLoadRounds+"="+strconv.Itoa(rounds),
	)
	cl.cmd.Stdout, cl.cmd.Stderr = cl.logs, cl.logs
	cl.cmd.ExtraFiles = []*os.File{w} // fd 3 in the child
	if cl.in, err = cl.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cl.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	cl.replies = json.NewDecoder(r)
	go func() {
		cl.err = cl.cmd.Wait()
		close(cl.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-cl.exited:
		default:
			_ = cl.cmd.Process.Kill()
			<-cl.exited
		}
		r.Close()
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
		t.Fatalf("client %q: %v", cmd, err)
	}
	got := make(chan error, 1)
	go func() { got <- cl.replies.Decode(reply) }()
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("client %q: %v", cmd, err)
		}
	case <-time.After(limit):
		t.Fatalf("client %q: no answer within the budget (%s left); set ACTAS_LOAD_BUDGET for a slower server", cmd, limit.Round(time.Second))
	}
}

func (cl *loadClient) wait(t *testing.T) {
	t.Helper()
	select {
	case <-cl.exited:
		if cl.err != nil {
			t.Fatalf("client process: %v", cl.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("client process did not exit")
	}
}

// loadProfiles writes profiles of the server's phases to a directory
// ("" = none).
type loadProfiles string

// write writes the named profile (pprof.Lookup) to the file name, with
// the given debug level.
func (dir loadProfiles) write(t *testing.T, profile, name string, debug int) {
	if dir == "" {
		return
	}
	f, err := os.Create(filepath.Join(string(dir), name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup(profile).WriteTo(f, debug); err != nil {
		t.Fatal(err)
	}
}

// heap writes the heap profile (as of the last collection) and, beside
// it, the goroutines then, grouped by stack.
func (dir loadProfiles) heap(t *testing.T, name string) {
	dir.write(t, "heap", name, 0)
	dir.write(t, "goroutine", strings.TrimSuffix(name, ".pprof")+"-goroutines.txt", 1)
}

// allocs writes the allocation counters so far; two of them, one taken as
// the base of the other (go tool pprof -diff_base), show what a phase
// allocated.
func (dir loadProfiles) allocs(t *testing.T, name string) { dir.write(t, "allocs", name, 0) }

func (dir loadProfiles) startCPU(t *testing.T, name string) {
	if dir == "" {
		return
	}
	f, err := os.Create(filepath.Join(string(dir), name))
	if err != nil {
		t.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		t.Fatalf("%v (drop go test's -cpuprofile when using ACTAS_LOAD_PROFILE)", err)
	}
}

func (dir loadProfiles) stopCPU() {
	if dir != "" {
		pprof.StopCPUProfile()
	}
}

type loadHeapFigures struct {
	inuse, alloc uint64
	goroutines   int
}

// loadHeap measures the live heap after a full collection.
func loadHeap() loadHeapFigures {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return loadHeapFigures{inuse: ms.HeapInuse, alloc: ms.HeapAlloc, goroutines: runtime.NumGoroutine()}
}

// loadPerSession is the growth from a to b per session: heap in use and
// live heap in KB, goroutines.
func loadPerSession(a, b loadHeapFigures, n int) (inuse, alloc, goroutines float64) {
	return float64(int64(b.inuse)-int64(a.inuse)) / float64(n) / 1024,
		float64(int64(b.alloc)-int64(a.alloc)) / float64(n) / 1024,
		float64(b.goroutines-a.goroutines) / float64(n)
}

// loadWaitQuiet waits until the server has settled, at most 60 s (or
// limit): consoles finish their first loads and the reloads other logins
// caused. Settled is under 2% of a core over half a second, or two
// half-seconds in a row below one core that differ by at most a fifth
// (the floor of whatever the idle consoles cost).
func loadWaitQuiet(t *testing.T, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(min(limit, 60*time.Second))
	prev := -1.0
	for time.Now().Before(deadline) {
		c0, w0 := loadCPUTime(), time.Now()
		time.Sleep(500 * time.Millisecond)
		rate := (loadCPUTime() - c0).Seconds() / time.Since(w0).Seconds()
		if rate < 0.02 || (prev >= 0 && rate < 1 && prev < 1 && math.Abs(rate-prev) <= 0.2*max(rate, prev)) {
			return
		}
		prev = rate
	}
	t.Log("load: the server did not settle; measuring anyway")
}

func loadPercentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[min(max(i-1, 0), len(s)-1)]
}

func loadMS(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }

func loadEnvDuration(t *testing.T, name string, def time.Duration) time.Duration {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("%s=%q: want a duration such as 5m", name, v)
	}
	return d
}

func loadEnvInt(t *testing.T, name string, def int) int {
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
