package store_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/actas/actas/core"
	"github.com/actas/actas/store"
)

// crashChildEnv, when set to a database path, turns the test binary into the
// writer that TestCrashKeepsAcknowledgedEvents kills.
const crashChildEnv = "ACTAS_STORE_CRASH_CHILD_DB"

// crashKeyEnv hands the child the audit log key it signs checkpoints with.
const crashKeyEnv = "ACTAS_STORE_CRASH_LOG_KEY"

func TestMain(m *testing.M) {
	if path := os.Getenv(crashChildEnv); path != "" {
		runCrashChild(path)
		return
	}
	if path := os.Getenv(syncChildEnv); path != "" {
		runSyncChild(path)
		return
	}
	code := m.Run()
	removeBenchFixtures()
	os.Exit(code)
}

func TestConcurrentAppendsAreGapless(t *testing.T) {
	db, _ := openTemp(t)
	const writers, each = 32, 40
	seqs := make([][]uint64, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				ev := testEvent(w*each + i)
				if err := db.Update(func(tx core.Tx) error { return core.AppendEvent(tx, &ev) }); err != nil {
					t.Error(err)
					return
				}
				seqs[w] = append(seqs[w], ev.Seq)
			}
		})
	}
	wg.Wait()
	seen := make(map[uint64]bool)
	for _, s := range seqs {
		for _, seq := range s {
			if seen[seq] {
				t.Errorf("seq %d acknowledged twice", seq)
			}
			seen[seq] = true
		}
	}
	for seq := uint64(1); seq <= writers*each; seq++ {
		if !seen[seq] {
			t.Errorf("seq %d was never acknowledged", seq)
		}
	}
	v, err := core.VerifyChain(db)
	if err != nil || !v.OK() || v.Events != writers*each {
		t.Errorf("VerifyChain = %v, %v; want %d intact events", v, err, writers*each)
	}
}

func TestSecondOpenFailsWithErrInUse(t *testing.T) {
	db, path := openTemp(t)
	// flock locks belong to the open file description, so a second open in
	// this same process conflicts just as another process would.
	_, err := store.Open(path, store.Options{LockTimeout: 100 * time.Millisecond})
	if !errors.Is(err, store.ErrInUse) {
		t.Fatalf("second Open: %v, want ErrInUse", err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the file", err)
	}
	// The first handle is unharmed.
	update(t, db, func(tx core.Tx) error { return tx.PutUser(core.User{ID: "usr_00000001"}) })
}

// TestCrashKeepsAcknowledgedEvents kills a writing child process at random
// moments. After every kill the log must verify, have no gap, and contain
// every event whose Update had returned before the kill; the user indexes
// written in the same transactions must agree with the users, and the audit
// indexes (written behind the log) with the records.
func TestCrashKeepsAcknowledgedEvents(t *testing.T) {
	path := filepath.Join(t.TempDir(), "actas.db")
	key, secret, err := core.NewLogKey(core.LogOrigin("Acme"))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(crashKeyEnv, secret)
	cycles := 30
	var acked uint64 // highest seq any child reported committed
	var ackedCP uint64
	for cycle := range cycles {
		seqs, cps, stderr := runAndKillChild(t, path, time.Duration(20+rand.IntN(131))*time.Millisecond)
		for _, s := range seqs {
			acked = max(acked, s)
		}
		for _, s := range cps {
			ackedCP = max(ackedCP, s)
		}

		db, err := store.Open(path, store.Options{})
		if err != nil {
			t.Fatalf("cycle %d: reopen after kill: %v\nchild stderr:\n%s", cycle, err, stderr)
		}
		v, err := core.VerifyChain(db)
		if err != nil || !v.OK() {
			db.Close()
			t.Fatalf("cycle %d: VerifyChain = %v, %v", cycle, v, err)
		}
		if v.Events < acked {
			t.Errorf("cycle %d: log ends at seq %d but seq %d was acknowledged", cycle, v.Events, acked)
		}
		// The newest checkpoint kept is at least the last one acknowledged,
		// and the log (tree and chain, as VerifyChain found them) is
		// consistent with it.
		view(t, db, func(tx core.ReadTx) error {
			cp, err := tx.LatestCheckpoint()
			if ackedCP == 0 && errors.Is(err, core.ErrNotFound) {
				return nil
			}
			if err != nil || cp.Size < ackedCP {
				t.Errorf("cycle %d: newest checkpoint %d, %v; checkpoint %d was acknowledged", cycle, cp.Size, err, ackedCP)
				return nil
			}
			checks, err := core.CheckCheckpoints(db, key.Verifier, v, [][]byte{cp.Note})
			if err != nil || checks[0].Err != nil {
				t.Errorf("cycle %d: log not consistent with its newest checkpoint (size %d): %v %v", cycle, cp.Size, err, checks)
			}
			return nil
		})
		view(t, db, func(tx core.ReadTx) error {
			for _, s := range seqs {
				rec, err := tx.AuditRecord(s)
				if err != nil {
					t.Errorf("cycle %d: acknowledged seq %d: %v", cycle, s, err)
					continue
				}
				if ev, err := core.DecodeEvent(rec); err != nil || ev.Seq != s {
					t.Errorf("cycle %d: record of seq %d decodes to %d, %v", cycle, s, ev.Seq, err)
				}
			}
			return checkUsersIndexed(tx)
		})
		checkAuditIndexesFrom(t, db, 0)
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		if t.Failed() {
			t.FailNow()
		}
	}
	if acked == 0 || ackedCP == 0 {
		t.Fatalf("children acknowledged %d events, checkpoints up to %d; the test tested too little", acked, ackedCP)
	}
	t.Logf("%d cycles, %d events acknowledged, checkpoints up to size %d", cycles, acked, ackedCP)
}

// checkUsersIndexed checks that every user is counted and found by email.
func checkUsersIndexed(tx core.ReadTx) error {
	n := 0
	err := tx.ForEachUser(func(u core.User) error {
		n++
		got, err := tx.UserByEmail(u.Email)
		if err != nil || got.ID != u.ID {
			return fmt.Errorf("user %s: UserByEmail(%s) = %s, %v", u.ID, u.Email, got.ID, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if count, err := tx.UserCount(); err != nil || count != n {
		return fmt.Errorf("UserCount() = %d, %v; ForEachUser saw %d", count, err, n)
	}
	return nil
}

// runAndKillChild starts the writer child, lets it write for about d once it
// has opened the database, SIGKILLs it and returns the seqs and checkpoint
// sizes it acknowledged.
func runAndKillChild(t *testing.T, path string, d time.Duration) (seqs, checkpoints []uint64, stderr string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	var errBuf bytes.Buffer
	cmd.Stderr = &errBuf
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	opened := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			if line == "open" {
				close(opened)
				continue
			}
			if s, ok := strings.CutPrefix(line, "cp "); ok {
				if n, err := strconv.ParseUint(s, 10, 64); err == nil {
					checkpoints = append(checkpoints, n)
				}
			}
			if s, ok := strings.CutPrefix(line, "ack "); ok {
				if n, err := strconv.ParseUint(s, 10, 64); err == nil {
					seqs = append(seqs, n)
				}
			}
		}
	}()
	select {
	case <-opened:
		time.Sleep(d)
	case <-done:
	case <-time.After(10 * time.Second):
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatal(err)
	}
	<-done
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Fatalf("child was not killed but ended with %v; stderr:\n%s", err, errBuf.String())
	}
	return seqs, checkpoints, errBuf.String()
}

// runCrashChild appends events (and a user each) from several goroutines
// until it is killed, printing every seq whose Update has returned.
func runCrashChild(path string) {
	db, err := store.Open(path, store.Options{LockTimeout: 10 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	// One write(2) per line: a pipe write this small is atomic, and nothing
	// sits in a buffer when the kill comes.
	var outMu sync.Mutex
	say := func(s string) {
		outMu.Lock()
		os.Stdout.WriteString(s + "\n")
		outMu.Unlock()
	}
	say("open")
	pid := os.Getpid()
	var wg sync.WaitGroup
	key, err := core.ParseLogKey(os.Getenv(crashKeyEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	// Checkpoints, between the appends, as a writing actas makes them.
	wg.Go(func() {
		for {
			time.Sleep(2 * time.Millisecond)
			cp, err := core.SignedCheckpoint(db, key.Signer, time.Now())
			if err != nil {
				continue // an empty log
			}
			if err := db.Update(func(tx core.Tx) error { return tx.PutCheckpoint(cp) }); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(3)
			}
			say("cp " + strconv.FormatUint(cp.Size, 10))
		}
	})
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				ev := testEvent(i)
				err := db.Update(func(tx core.Tx) error {
					id := fmt.Sprintf("usr_%d_%d_%08d", pid, w, i)
					if err := tx.PutUser(core.User{ID: id, Email: id + "@example.com"}); err != nil {
						return err
					}
					return core.AppendEvent(tx, &ev)
				})
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(3)
				}
				say("ack " + strconv.FormatUint(ev.Seq, 10))
			}
		})
	}
	wg.Wait()
}
