//go:build unix

package ssh

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// The load harness runs its SSH clients in a child process (the test
// binary again, with ACTAS_LOAD_CLIENT set), so that the parent's heap and
// CPU time are the server's alone. The parent drives the child with one
// command per line on its stdin; the child answers each with one JSON
// value on file descriptor 3.

// Environment of the client process.
const (
	envLoadClient  = "ACTAS_LOAD_CLIENT"  // set: this process is the client driver
	envLoadAddr    = "ACTAS_LOAD_ADDR"    // server address
	envLoadHostKey = "ACTAS_LOAD_HOSTKEY" // server host key, authorized_keys line
	envLoadRounds  = "ACTAS_LOAD_ROUNDS"
)

// loadSigner is the key of load user i. Both processes derive it from i,
// so no key material crosses between them.
func loadSigner(i int) gossh.Signer {
	seed := sha256.Sum256([]byte("actas load user " + strconv.Itoa(i)))
	s, err := gossh.NewSignerFromKey(ed25519.NewKeyFromSeed(seed[:]))
	if err != nil {
		panic(err)
	}
	return s
}

// loadMarker is the text a round publishes, as the actor and the action
// of an audit event: the Audit tab shows the actor in full in the event's
// row ("cli:lm007z"), even once newer events have pushed it down, and the
// action in the detail pane. The closing "z" keeps a truncated cell
// ("lm00…") from matching.
func loadMarker(round int) string { return fmt.Sprintf("lm%03dz", round) }

// loadKind is what a load session does once connected.
type loadKind struct {
	keys  string // typed once the console runs
	ready string // on screen once it shows what the session watches
	watch bool   // look for the round markers
}

var loadKinds = map[string]loadKind{
	// Staff watch the Audit tab, where every new event appears on top.
	"staff": {keys: "4", ready: "Audit log", watch: true},
	// Members sit on their only tab, Account.
	"member": {ready: "Impersonation consent"},
}

// Replies of the client process.
type (
	loadOpenedReply struct {
		OK, Failed int
		Err        string // the first failure
	}
	loadCPUReply struct {
		CPU time.Duration // the client process's CPU time so far
	}
	loadReportReply struct {
		// Arrivals[s][r] is when watching session s first received round
		// r's marker, in Unix nanoseconds; 0 if it never did.
		Arrivals [][]int64
	}
)

// loadSession is one client session: it drains the console's output and
// notes when each round's marker first arrives.
type loadSession struct {
	client  *gossh.Client
	stdin   io.WriteCloser
	kind    loadKind
	ready   chan struct{}
	arrived []atomic.Int64
}

// loadClientMain is the client process.
func loadClientMain(t *testing.T) {
	hostKey, _, _, _, err := gossh.ParseAuthorizedKey([]byte(os.Getenv(envLoadHostKey)))
	if err != nil {
		t.Fatalf("host key: %v", err)
	}
	rounds, _ := strconv.Atoi(os.Getenv(envLoadRounds))
	addr := os.Getenv(envLoadAddr)
	replies := json.NewEncoder(os.NewFile(3, "replies"))
	var sessions []*loadSession
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		f := strings.Fields(in.Text())
		if len(f) == 0 {
			continue
		}
		var reply any
		switch {
		case f[0] == "open" && len(f) == 4: // open KIND FROM TO: users FROM..TO-1
			kind, ok := loadKinds[f[1]]
			from, err1 := strconv.Atoi(f[2])
			to, err2 := strconv.Atoi(f[3])
			if !ok || err1 != nil || err2 != nil {
				t.Fatalf("bad command %q", in.Text())
			}
			opened, r := openLoadSessions(addr, hostKey, kind, rounds, from, to)
			sessions = append(sessions, opened...)
			reply = r
		case f[0] == "report":
			var r loadReportReply
			for _, s := range sessions {
				if !s.kind.watch {
					continue
				}
				arr := make([]int64, rounds)
				for j := range s.arrived {
					arr[j] = s.arrived[j].Load()
				}
				r.Arrivals = append(r.Arrivals, arr)
			}
			reply = r
		case f[0] == "cpu":
			reply = loadCPUReply{CPU: loadCPUTime()}
		case f[0] == "quit":
			for _, s := range sessions {
				s.client.Close()
			}
			_ = replies.Encode(struct{}{})
			return
		default:
			t.Fatalf("unknown command %q", in.Text())
		}
		if err := replies.Encode(reply); err != nil {
			t.Fatalf("reply: %v", err)
		}
	}
}

// openLoadSessions connects users from..to-1, sixteen at a time, each with
// an 80×24 PTY, and waits until each console shows what it watches.
func openLoadSessions(addr string, hostKey gossh.PublicKey, kind loadKind, rounds, from, to int) ([]*loadSession, loadOpenedReply) {
	out := make([]*loadSession, to-from)
	errs := make([]error, to-from)
	var next atomic.Int64
	next.Store(int64(from))
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= to {
					return
				}
				out[i-from], errs[i-from] = openLoadSession(addr, hostKey, kind, rounds, i)
			}
		})
	}
	wg.Wait()
	var r loadOpenedReply
	var ok []*loadSession
	for i, s := range out {
		if errs[i] != nil {
			r.Failed++
			if r.Err == "" {
				r.Err = fmt.Sprintf("load user %d: %v", from+i, errs[i])
			}
			continue
		}
		r.OK++
		ok = append(ok, s)
	}
	return ok, r
}

func openLoadSession(addr string, hostKey gossh.PublicKey, kind loadKind, rounds, i int) (*loadSession, error) {
	client, err := gossh.Dial("tcp", addr, &gossh.ClientConfig{
		User:            "load",
		Auth:            []gossh.AuthMethod{gossh.PublicKeys(loadSigner(i))},
		HostKeyCallback: gossh.FixedHostKey(hostKey),
		Timeout:         20 * time.Second,
	})
	if err != nil {
		return nil, err
	}
	s := &loadSession{client: client, kind: kind, ready: make(chan struct{})}
	if kind.watch {
		s.arrived = make([]atomic.Int64, rounds)
	}
	err = func() error {
		sess, err := client.NewSession()
		if err != nil {
			return err
		}
		if err := sess.RequestPty("xterm-256color", 24, 80, gossh.TerminalModes{gossh.ECHO: 0}); err != nil {
			return err
		}
		stdout, err := sess.StdoutPipe()
		if err != nil {
			return err
		}
		// Kept open: a console whose input ends would quit.
		if s.stdin, err = sess.StdinPipe(); err != nil {
			return err
		}
		if err := sess.Shell(); err != nil {
			return err
		}
		go s.drain(stdout)
		for try := 0; ; try++ {
			if _, err := io.WriteString(s.stdin, kind.keys); err != nil {
				return err
			}
			select {
			case <-s.ready:
				return nil
			case <-time.After(10 * time.Second):
				if try == 2 {
					return fmt.Errorf("%q did not show within 30s", kind.ready)
				}
			}
		}
	}()
	if err != nil {
		client.Close()
		return nil, err
	}
	return s, nil
}

// drain reads the console's output until the connection ends, with a small
// buffer, looking for the ready text and then the round markers. The last
// few bytes of a read are kept so that text split between reads is found.
func (s *loadSession) drain(r io.Reader) {
	const keep = 32
	buf := make([]byte, keep+4096)
	k := 0
	ready := false
	for {
		n, err := r.Read(buf[k:])
		now := time.Now().UnixNano()
		data := buf[:k+n]
		if !ready && bytes.Contains(data, []byte(s.kind.ready)) {
			ready = true
			close(s.ready)
		}
		if ready && s.kind.watch {
			s.scan(data, now)
		}
		if err != nil {
			return
		}
		k = min(len(data), keep)
		copy(buf, data[len(data)-k:])
	}
}

// scan notes the rounds whose marker ("lm", three digits, "z") is in data.
func (s *loadSession) scan(data []byte, now int64) {
	for {
		i := bytes.Index(data, []byte("lm"))
		if i < 0 || len(data)-i < 6 {
			return
		}
		m := data[i : i+6]
		data = data[i+2:]
		if m[5] != 'z' {
			continue
		}
		round, err := strconv.Atoi(string(m[2:5]))
		if err != nil || round < 0 || round >= len(s.arrived) {
			continue
		}
		s.arrived[round].CompareAndSwap(0, now)
	}
}

// loadCPUTime is this process's user plus system CPU time.
func loadCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
