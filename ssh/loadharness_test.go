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

// loadEmail is the i-th load user's email; loadSigner their key. Both
// processes derive the key from i, so no key material crosses between them.
func loadEmail(i int) string { return fmt.Sprintf("load%05d@acme.test", i) }

func loadSigner(i int) gossh.Signer {
	seed := sha256.Sum256([]byte("actas load user " + strconv.Itoa(i)))
	s, err := gossh.NewSignerFromKey(ed25519.NewKeyFromSeed(seed[:]))
	if err != nil {
		panic(err)
	}
	return s
}

// loadMarker is the text a round publishes (as the action of an audit
// event); the console shows it in full in the Audit tab's detail pane.
// The closing "z" keeps a truncated table cell ("lm00…") from matching.
func loadMarker(round int) string { return fmt.Sprintf("lm%03dz", round) }

// loadReady is on screen once a session shows the Audit tab.
const loadReady = "Audit log"

// Replies of the client process.
type (
	openedReply struct {
		OK, Failed int
		Err        string // the first failure
	}
	reportReply struct {
		// Arrivals[s][r] is when session s first received round r's marker,
		// in Unix nanoseconds; 0 if it never did.
		Arrivals [][]int64
	}
)

// loadSession is one client session: it drains the console's output and
// notes when each round's marker first arrives.
type loadSession struct {
	client  *gossh.Client
	stdin   io.WriteCloser
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
		switch f[0] {
		case "open": // open FROM TO: sessions for load users FROM..TO-1
			from, _ := strconv.Atoi(f[1])
			to, _ := strconv.Atoi(f[2])
			opened, r := openLoadSessions(addr, hostKey, rounds, from, to)
			sessions = append(sessions, opened...)
			reply = r
		case "report":
			r := reportReply{Arrivals: make([][]int64, len(sessions))}
			for i, s := range sessions {
				r.Arrivals[i] = make([]int64, rounds)
				for j := range s.arrived {
					r.Arrivals[i][j] = s.arrived[j].Load()
				}
			}
			reply = r
		case "quit":
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

// openLoadSessions connects users from..to-1, a few at a time, each with
// an 80×24 PTY, and switches each console to the Audit tab.
func openLoadSessions(addr string, hostKey gossh.PublicKey, rounds, from, to int) ([]*loadSession, openedReply) {
	out := make([]*loadSession, to-from)
	errs := make([]error, to-from)
	next := atomic.Int64{}
	next.Store(int64(from))
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= to {
					return
				}
				out[i-from], errs[i-from] = openLoadSession(addr, hostKey, rounds, i)
			}
		})
	}
	wg.Wait()
	var r openedReply
	var ok []*loadSession
	for i, s := range out {
		if errs[i] != nil {
			r.Failed++
			if r.Err == "" {
				r.Err = fmt.Sprintf("%s: %v", loadEmail(from+i), errs[i])
			}
			continue
		}
		r.OK++
		ok = append(ok, s)
	}
	return ok, r
}

func openLoadSession(addr string, hostKey gossh.PublicKey, rounds, i int) (*loadSession, error) {
	client, err := gossh.Dial("tcp", addr, &gossh.ClientConfig{
		User:            "load",
		Auth:            []gossh.AuthMethod{gossh.PublicKeys(loadSigner(i))},
		HostKeyCallback: gossh.FixedHostKey(hostKey),
		Timeout:         20 * time.Second,
	})
	if err != nil {
		return nil, err
	}
	s := &loadSession{client: client, ready: make(chan struct{}), arrived: make([]atomic.Int64, rounds)}
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
		if s.stdin, err = sess.StdinPipe(); err != nil {
			return err
		}
		if err := sess.Shell(); err != nil {
			return err
		}
		go s.drain(stdout)
		for try := 0; ; try++ {
			if _, err := io.WriteString(s.stdin, "4"); err != nil {
				return err
			}
			select {
			case <-s.ready:
				return nil
			case <-time.After(10 * time.Second):
				if try == 2 {
					return fmt.Errorf("the Audit tab did not show within 30s")
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
// buffer, looking for the Audit tab and the round markers. The last few
// bytes of a read are kept so that text split between reads is found.
func (s *loadSession) drain(r io.Reader) {
	const keep = 16
	buf := make([]byte, keep+4096)
	k := 0
	ready := false
	for {
		n, err := r.Read(buf[k:])
		now := time.Now().UnixNano()
		data := buf[:k+n]
		if !ready && bytes.Contains(data, []byte(loadReady)) {
			ready = true
			close(s.ready)
		}
		if ready {
			s.scan(data, now)
		}
		if err != nil {
			return
		}
		k = min(len(data), keep)
		copy(buf, data[len(data)-k:])
	}
}

// scan notes the rounds whose marker ("lm" three digits "z") is in data.
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
