package store_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/actas/actas/core"
	"github.com/actas/actas/store"
)

// syncChildEnv, when set to a database path, turns the test binary into the
// writer of TestCommitsSync.
const syncChildEnv = "ACTAS_STORE_SYNC_CHILD_DB"

// TestCommitsSync proves that a commit waits for fsync: in a child process
// where every fsync and fdatasync fails (a seccomp filter answers EIO),
// every caller of a group commit must get an error. With NoSync switched on,
// or a committer that stopped syncing, the commits would succeed; SIGKILL
// tests cannot see that, since the page cache survives the kill.
func TestCommitsSync(t *testing.T) {
	if runtime.GOOS != "linux" || (runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64") {
		t.Skip("seccomp filter written for linux/amd64 and arm64")
	}
	path := filepath.Join(t.TempDir(), "actas.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), syncChildEnv+"="+path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sync child: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "every commit failed" {
		t.Fatalf("with fsync failing, commits were acknowledged anyway (not durable): %s", got)
	}
}

// runSyncChild opens the database, makes fsync fail, and runs 16
// concurrent updates: it prints whether each failed.
func runSyncChild(path string) {
	db, err := store.Open(path, store.Options{})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	if err := failSyncs(); err != nil {
		fmt.Println("seccomp:", err)
		os.Exit(1)
	}
	var mu sync.Mutex
	var ok []int
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			ev := core.Event{Type: core.EvLogin, Actor: core.Ref{ID: fmt.Sprint("u", i)}}
			if err := db.Update(func(tx core.Tx) error { return core.AppendEvent(tx, &ev) }); err == nil {
				mu.Lock()
				ok = append(ok, i)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(ok) == 0 {
		fmt.Println("every commit failed")
	} else {
		fmt.Printf("%d of 16 commits acknowledged without a working fsync\n", len(ok))
	}
	os.Exit(0)
}

// failSyncs installs, on every thread of the process, a seccomp filter
// that fails fsync and fdatasync with EIO and allows everything else.
func failSyncs() error {
	ins := func(code uint16, jt, jf uint8, k uint32) unix.SockFilter {
		return unix.SockFilter{Code: code, Jt: jt, Jf: jf, K: k}
	}
	const (
		ld  = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		ret = unix.BPF_RET | unix.BPF_K
	)
	prog := []unix.SockFilter{
		ins(ld, 0, 0, 0), // seccomp_data.nr
		ins(jeq, 2, 0, uint32(unix.SYS_FSYNC)),
		ins(jeq, 1, 0, uint32(unix.SYS_FDATASYNC)),
		ins(ret, 0, 0, unix.SECCOMP_RET_ALLOW),
		ins(ret, 0, 0, unix.SECCOMP_RET_ERRNO|uint32(syscall.EIO)),
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return err
	}
	_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog)))
	if errno != 0 {
		return errors.New(errno.Error())
	}
	// The filter works: fsync of a file now fails.
	f, err := os.CreateTemp("", "sync")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if f.Sync() == nil {
		return errors.New("filter installed, yet fsync succeeds")
	}
	return nil
}
