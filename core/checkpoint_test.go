package core_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/actas/actas/core"
)

// latestCheckpoint is the newest checkpoint the store keeps (size 0: none).
func (w *world) latestCheckpoint() core.Checkpoint {
	w.t.Helper()
	return w.c.CheckpointStatus().Latest
}

func (w *world) head() uint64 { return w.c.AuditCount() }

// waitCheckpoint waits until the newest checkpoint covers size (the
// checkpointer runs in its own goroutine once 1,000 events arrived).
func (w *world) waitCheckpoint(size uint64) core.Checkpoint {
	w.t.Helper()
	for range 500 {
		if cp := w.latestCheckpoint(); cp.Size >= size {
			return cp
		}
		time.Sleep(10 * time.Millisecond)
	}
	w.t.Fatalf("no checkpoint of size %d; newest %+v", size, w.c.CheckpointStatus())
	return core.Checkpoint{}
}

// TestCheckpointer: a writer makes a checkpoint 60 s after the log grew,
// at once after 1,000 events, and when it closes; each is kept, appended
// to checkpoint_file, queued for webhook channels, and consistent with the
// log.
func TestCheckpointer(t *testing.T) {
	w := newWorld(t)
	key, _, err := core.NewLogKey(core.LogOrigin("Acme"))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "checkpoints.txt")
	w.must(w.c.SetPolicy(w.cli, map[string]string{"checkpoint_file": file}))
	w.must(w.c.AddChannel(w.cli, core.ChannelWebhook, "https://hooks.example.test/actas"))
	w.c.SetLogKey(&key)
	if err := w.c.StartCheckpoints(nil); err != nil {
		t.Fatal(err)
	}
	if cp := w.latestCheckpoint(); cp.Size != 0 {
		t.Fatalf("a checkpoint before 60 s: %+v", cp)
	}
	w.clock.Advance(59 * time.Second)
	if cp := w.latestCheckpoint(); cp.Size != 0 {
		t.Fatalf("a checkpoint after 59 s: %+v", cp)
	}
	w.clock.Advance(time.Second)
	first := w.latestCheckpoint()
	if first.Size != w.head() || first.Size == 0 {
		t.Fatalf("after 60 s the checkpoint has size %d, the log %d", first.Size, w.head())
	}
	// Nothing new when the log did not grow.
	w.clock.Advance(5 * time.Minute)
	if cp := w.latestCheckpoint(); cp.Size != first.Size {
		t.Fatalf("a checkpoint without growth: %+v", cp)
	}

	// 1,000 events: one at once, without waiting for the clock.
	for i := range core.CheckpointEvery {
		w.must(w.c.RecordAction(w.as("owner"), "page.view", map[string]any{"n": i}))
	}
	second := w.waitCheckpoint(first.Size + core.CheckpointEvery)

	// A few more: the last one comes at Close.
	w.must(w.c.RecordAction(w.as("owner"), "page.view", nil))
	head := w.head()
	if w.latestCheckpoint().Size >= head {
		t.Fatal("checkpoint before close already covers the last event")
	}
	w.c.Close()
	w.db.Close()
	w.c = nil
	w.open()
	last := w.latestCheckpoint()
	if last.Size != head {
		t.Fatalf("after close the newest checkpoint has size %d, the log %d", last.Size, head)
	}

	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	notes := core.SplitNotes(data)
	if len(notes) != 3 {
		t.Fatalf("checkpoint_file holds %d checkpoints, want 3:\n%s", len(notes), data)
	}
	v, err := w.c.Verify()
	if err != nil || !v.OK() {
		t.Fatal(v, err)
	}
	checks, err := core.CheckCheckpoints(w.db, key.Verifier, v, notes)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []uint64{first.Size, second.Size, last.Size} {
		if checks[i].Err != nil || checks[i].Checkpoint.Size != want {
			t.Errorf("checkpoint %d in the file: size %d, %v; want size %d, consistent", i+1, checks[i].Checkpoint.Size, checks[i].Err, want)
		}
	}

	out, err := w.c.Outbox(w.cli)
	if err != nil {
		t.Fatal(err)
	}
	var sent []core.Checkpoint
	for _, m := range out {
		if m.Notice.Type == core.NoticeCheckpoint {
			cp, err := core.OpenCheckpoint([]byte(m.Notice.Checkpoint), key.Verifier)
			if err != nil {
				t.Errorf("outbox message %s: %v", m.ID, err)
			}
			sent = append(sent, cp)
		}
	}
	if len(sent) != 3 || sent[2].Size != head {
		t.Errorf("webhook outbox holds %d checkpoints (%+v), want 3 ending at %d", len(sent), sent, head)
	}
}

// TestCheckpointFileIsValidated refuses paths a checkpoint cannot be
// appended to.
func TestCheckpointFileIsValidated(t *testing.T) {
	w := newWorld(t)
	dir := t.TempDir()
	for val, want := range map[string]string{
		"relative.txt":                   "absolute",
		"/nonexistent-actas-dir/cp.txt":  "does not exist",
		dir:                              "not a regular file",
		filepath.Join(dir, "a\x1bb.txt"): "control characters",
		writeFile(t, dir, "notes.txt", "my notes\n"): "something other than actas checkpoints",
	} {
		_, err := w.c.SetPolicy(w.cli, map[string]string{"checkpoint_file": val})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("checkpoint_file=%q: %v, want an error saying %q", val, err, want)
		}
	}
	p := w.must2(w.c.SetPolicy(w.cli, map[string]string{"checkpoint_file": filepath.Join(dir, "x", "..", "cp.txt")}))
	if p.CheckpointFile != filepath.Join(dir, "cp.txt") {
		t.Errorf("checkpoint_file = %q, want the cleaned path", p.CheckpointFile)
	}
	p = w.must2(w.c.SetPolicy(w.cli, map[string]string{"checkpoint_file": ""}))
	if p.CheckpointFile != "" {
		t.Errorf("checkpoint_file not cleared: %q", p.CheckpointFile)
	}
}

func (w *world) must2(p core.Policy, err error) core.Policy {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCheckpointFileFailureIsShown: a checkpoint_file that cannot be
// written does not stop checkpoints; the failure is reported (the Audit
// tab shows it) and the next checkpoint tries again.
func TestCheckpointFileFailureIsShown(t *testing.T) {
	w := newWorld(t)
	key, _, err := core.NewLogKey(core.LogOrigin("Acme"))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "mnt")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	w.must(w.c.SetPolicy(w.cli, map[string]string{"checkpoint_file": filepath.Join(dir, "cps.txt")}))
	os.RemoveAll(dir) // the other storage went away
	w.c.SetLogKey(&key)
	if err := w.c.StartCheckpoints(nil); err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(core.CheckpointInterval)
	st := w.c.CheckpointStatus()
	if st.Latest.Size != w.head() || st.Err == nil || !strings.Contains(st.Err.Error(), "checkpoint_file") {
		t.Fatalf("status %+v; want the checkpoint kept and the file's failure reported", st)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	w.must(w.c.RecordAction(w.as("owner"), "page.view", nil))
	w.clock.Advance(core.CheckpointInterval)
	if st := w.c.CheckpointStatus(); st.Err != nil || st.Latest.Size != w.head() {
		t.Fatalf("after the folder came back: %+v", st)
	}
	if data, err := os.ReadFile(filepath.Join(dir, "cps.txt")); err != nil || len(core.SplitNotes(data)) != 1 {
		t.Errorf("checkpoint_file after recovery: %q, %v", data, err)
	}
}
