package cli

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/actas/actas/core"
)

// addOrgs appends n events (one org each).
func (c *cli) addOrgs(prefix string, n int) {
	c.t.Helper()
	for i := range n {
		c.ok("org", "add", "--name", fmt.Sprintf("%s%d", prefix, i))
	}
}

// checkpoint saves audit checkpoint's output in a file and returns its path.
func (c *cli) checkpoint(name string) string {
	c.t.Helper()
	return c.write(name, c.ok("audit", "checkpoint"))
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// rawUpdate edits the database file as an attacker with the file would.
func (c *cli) rawUpdate(fn func(tx *bolt.Tx) error) {
	c.t.Helper()
	db, err := bolt.Open(filepath.Join(c.dir, dbFile), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		c.t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		c.t.Fatal(err)
	}
}

// rewriteLog replaces the log with the events keep accepts, re-linked and
// re-hashed from seq 1, with a Merkle tree and head to match and the audit
// indexes dropped: a rewrite that leaves no trace the chain can see.
func (c *cli) rewriteLog(keep func(core.Event) bool) (dropped int) {
	c.rawUpdate(func(tx *bolt.Tx) error {
		audit := tx.Bucket([]byte("audit"))
		var evs []core.Event
		if err := audit.ForEach(func(_, v []byte) error {
			ev, err := core.DecodeEvent(v)
			if keep(ev) {
				evs = append(evs, ev)
			} else {
				dropped++
			}
			return err
		}); err != nil {
			return err
		}
		for _, b := range []string{"audit", "audit_tree", "audit_by_session", "audit_by_actor", "audit_by_subject"} {
			if err := tx.DeleteBucket([]byte(b)); err != nil {
				return err
			}
			if _, err := tx.CreateBucket([]byte(b)); err != nil {
				return err
			}
		}
		var prev core.Hash
		var tree core.TreeFrontier
		for i := range evs {
			ev := &evs[i]
			ev.Seq, ev.Prev = uint64(i+1), prev
			rec := core.EncodeEvent(ev)
			prev = ev.Hash
			key := binary.BigEndian.AppendUint64(nil, ev.Seq)
			if err := tx.Bucket([]byte("audit")).Put(key, rec); err != nil {
				return err
			}
			if err := tx.Bucket([]byte("audit_tree")).Put(key, tree.Append(ev.Hash, nil)); err != nil {
				return err
			}
		}
		meta := tx.Bucket([]byte("meta"))
		if err := meta.Put([]byte("audit_head"), append(binary.BigEndian.AppendUint64(nil, uint64(len(evs))), prev[:]...)); err != nil {
			return err
		}
		return meta.Delete([]byte("audit_indexed"))
	})
	return dropped
}

// TestCheckpointCatchesRollback puts an older copy of the database back:
// the chain of the copy is intact, so plain verify passes, but a checkpoint
// taken later is ahead of it.
func TestCheckpointCatchesRollback(t *testing.T) {
	c := newCLI(t)
	c.initDB()
	c.addOrgs("A", 2)
	early := c.checkpoint("early")
	old := filepath.Join(t.TempDir(), "old.db")
	copyFile(t, filepath.Join(c.dir, dbFile), old)
	c.addOrgs("B", 3)
	late := c.checkpoint("late")
	mustContain(t, "verify now", c.ok("audit", "verify", "--checkpoint", early, "--checkpoint", late), "consistent")

	copyFile(t, old, filepath.Join(c.dir, dbFile))
	mustContain(t, "plain verify of the old copy", c.ok("audit", "verify"), "intact")
	out := c.ok("audit", "verify", "--checkpoint", early)
	mustContain(t, "old copy against the early checkpoint", out, "consistent")
	size := strings.Split(c.ok("audit", "checkpoint"), "\n")[1]
	mustContain(t, "old copy against the late checkpoint", c.fails("audit", "verify", "--checkpoint", late),
		late+" checkpoint 1 of 1 (size", "the log holds "+size+" events", "older copy")
	// Both files at once: the early one passes, the late one fails.
	r := c.run("audit", "verify", "--checkpoint", early, "--checkpoint", late)
	if r.code != 1 || !strings.Contains(r.out, early+" checkpoint 1 of 1") || !strings.Contains(r.err, late) {
		t.Errorf("verify with both files: exit %d\nstdout: %s\nstderr: %s", r.code, r.out, r.err)
	}
}

// TestCheckpointCatchesTruncation cuts the last events off and rewrites the
// head in meta to the new last event.
func TestCheckpointCatchesTruncation(t *testing.T) {
	c := newCLI(t)
	c.initDB()
	c.addOrgs("A", 4)
	cp := c.checkpoint("cp")
	var head uint64
	c.rawUpdate(func(tx *bolt.Tx) error {
		audit := tx.Bucket([]byte("audit"))
		k, _ := audit.Cursor().Last()
		last := binary.BigEndian.Uint64(k)
		head = last - 2
		for seq := head + 1; seq <= last; seq++ {
			if err := audit.Delete(binary.BigEndian.AppendUint64(nil, seq)); err != nil {
				return err
			}
		}
		rec := audit.Get(binary.BigEndian.AppendUint64(nil, head))
		return tx.Bucket([]byte("meta")).Put([]byte("audit_head"), append(binary.BigEndian.AppendUint64(nil, head), rec[:32]...))
	})
	mustContain(t, "plain verify", c.ok("audit", "verify"), "intact", fmt.Sprintf("%d events", head))
	mustContain(t, "verify --checkpoint", c.fails("audit", "verify", "--checkpoint", cp),
		"checkpoint 1 of 1", fmt.Sprintf("the log holds %d events", head), fmt.Sprintf("events %d–%d missing", head+1, head+2))
}

// TestCheckpointCatchesRewrite drops every event about one person and
// re-hashes the chain (and the tree): plain verify passes; the checkpoint
// taken after those events fails, the one before still holds, and the
// divergence is placed between them.
func TestCheckpointCatchesRewrite(t *testing.T) {
	c := newCLI(t)
	c.initDB()
	c.ok("org", "add", "--name", "Globex")
	first := c.ok("audit", "checkpoint")
	firstSize := strings.Split(first, "\n")[1]
	c.ok("user", "add", "--email", "jane@globex.test", "--name", "Jane", "--role", "member", "--org", "Globex")
	c.ok("user", "set", "--email", "jane@globex.test", "--status", "suspended")
	c.addOrgs("A", 2)
	second := c.ok("audit", "checkpoint")
	secondSize := strings.Split(second, "\n")[1]
	both := c.write("both", first+"\n"+second)

	dropped := c.rewriteLog(func(ev core.Event) bool { return ev.Subject.Email != "jane@globex.test" })
	if dropped != 2 {
		t.Fatalf("dropped %d events about jane, want 2", dropped)
	}
	// Pad the log past the second checkpoint's size, as an attacker would.
	c.addOrgs("C", 3)
	mustContain(t, "plain verify", c.ok("audit", "verify"), "intact")
	r := c.run("audit", "verify", "--checkpoint", both)
	if r.code != 1 {
		t.Fatalf("verify --checkpoint of a rewritten log: exit %d\n%s", r.code, r.out)
	}
	mustContain(t, "first checkpoint", r.out, "checkpoint 1 of 2 (size "+firstSize, "consistent")
	mustContain(t, "second checkpoint", r.err, "checkpoint 2 of 2 (size "+secondSize, "changed, removed or re-hashed",
		"matches the checkpoint of size "+firstSize)
}

func TestProveAndVerifyProof(t *testing.T) {
	c := newCLI(t)
	c.initDB()
	c.addOrgs("A", 3)
	proof := c.ok("audit", "prove", "--seq", "2")
	lines := strings.Split(proof, "\n")
	if lines[0] != "actas inclusion proof" || lines[1] != "seq 2" || !strings.HasPrefix(lines[2], "leaf ") || len(lines[2]) != 5+64 {
		t.Fatalf("proof file:\n%s", proof)
	}
	pub := strings.TrimSpace(c.ok("audit", "pubkey"))
	if !strings.HasPrefix(pub, "actas/Example+") {
		t.Errorf("pubkey %q", pub)
	}
	keyFile := c.write("key.pub", pub+"\n")
	file := c.write("proof", proof)
	// Offline: no data directory at all.
	off := &cli{t: t, env: map[string]string{"HOME": t.TempDir()}}
	for _, key := range []string{pub, keyFile} {
		r := off.runRaw("audit", "verify-proof", file, "--key", key)
		if r.code != 0 {
			t.Fatalf("verify-proof --key %s: %s", key, r.err)
		}
		mustContain(t, "verify-proof", r.out, "proof OK: event 2", "actas/Example")
	}

	// Any flipped bit fails: in the leaf, the path, the checkpoint text,
	// the signature.
	sig := strings.LastIndex(proof, "— actas/Example ") + len("— actas/Example ")
	for _, at := range []int{len("actas inclusion proof\nseq 2\nleaf "), strings.Index(proof, lines[3]) + 3, strings.Index(proof, "\n\nactas/Example\n") + 17, sig + 5} {
		bad := []byte(proof)
		bad[at] ^= 0x01
		if bytes.Equal(bad, []byte(proof)) {
			t.Fatal("no change")
		}
		r := off.runRaw("audit", "verify-proof", c.write("bad", string(bad)), "--key", pub)
		if r.code == 0 {
			t.Errorf("verify-proof accepted a proof with byte %d flipped:\n%s", at, bad)
		}
	}
	// A proof of another seq's leaf fails.
	other := strings.Replace(proof, "seq 2\n", "seq 3\n", 1)
	if r := off.runRaw("audit", "verify-proof", c.write("other", other), "--key", pub); r.code == 0 {
		t.Error("verify-proof accepted the proof for another seq")
	}
	// Another log's key fails.
	c2 := newCLI(t)
	c2.initDB()
	pub2 := strings.TrimSpace(c2.ok("audit", "pubkey"))
	mustContain(t, "other key", off.runRaw("audit", "verify-proof", file, "--key", pub2).err, "not valid")

	mustContain(t, "no such seq", c.fails("audit", "prove", "--seq", "999"), "no event 999")
	mustContain(t, "seq 0", c.fails("audit", "prove", "--seq", "0"), "--seq")
	mustContain(t, "bad key", off.runRaw("audit", "verify-proof", file, "--key", "nonsense").err, "neither a log public key")
	mustContain(t, "garbage", off.runRaw("audit", "verify-proof", c.write("g", "hello\n"), "--key", pub).err, "actas inclusion proof")
	mustContain(t, "missing file", off.runRaw("audit", "verify-proof", "/nonexistent/proof", "--key", pub).err, "cannot read")
	mustContain(t, "checkpoint garbage", c.fails("audit", "verify", "--checkpoint", c.write("g2", "\n\n")), "holds no checkpoint")
	mustContain(t, "checkpoint unsigned", c.fails("audit", "verify", "--checkpoint", c.write("g3", "actas/Example\n3\nAAAA\n")), "not a valid checkpoint")
}

// TestCheckpointFilePolicy: a writing command appends checkpoints to the
// policy's checkpoint_file when it grew the log; they verify.
func TestCheckpointFilePolicy(t *testing.T) {
	c := newCLI(t)
	c.initDB()
	elsewhere := filepath.Join(t.TempDir(), "checkpoints.txt")
	mustContain(t, "relative", c.fails("policy", "set", "checkpoint_file=cps.txt"), "absolute")
	mustContain(t, "no folder", c.fails("policy", "set", "checkpoint_file=/nonexistent/dir/cps.txt"), "does not exist")
	mustContain(t, "a folder", c.fails("policy", "set", "checkpoint_file="+t.TempDir()), "not a regular file")
	c.ok("policy", "set", "checkpoint_file="+elsewhere)
	mustContain(t, "policy show", c.ok("policy", "show"), elsewhere)
	c.addOrgs("A", 2)
	data, err := os.ReadFile(elsewhere)
	if err != nil {
		t.Fatal(err)
	}
	notes := core.SplitNotes(data)
	if len(notes) < 2 {
		t.Fatalf("checkpoint_file holds %d checkpoints after 3 writing commands:\n%s", len(notes), data)
	}
	// A file of checkpoints may be named again; another file may not.
	c.ok("policy", "set", "checkpoint_file="+elsewhere)
	mustContain(t, "another file", c.fails("policy", "set", "checkpoint_file="+filepath.Join(c.dir, dbFile)), "something other than actas checkpoints")
	if fi, _ := os.Stat(filepath.Join(c.dir, logKeyFile)); fi == nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("log key file mode %v, want 0600", fi)
	}
	out := c.ok("audit", "verify", "--checkpoint", elsewhere)
	if n := strings.Count(out, ": consistent"); n != len(notes) {
		t.Errorf("%d of %d checkpoints consistent:\n%s", n, len(notes), out)
	}
	// The last one is the log as it is now.
	last, err := core.OpenCheckpoint(notes[len(notes)-1], mustKey(t, c.dir).Verifier)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Split(c.ok("audit", "checkpoint"), "\n")[1]; fmt.Sprint(last.Size) != want {
		t.Errorf("last checkpoint in the file has size %d, the log %s", last.Size, want)
	}
	if !strings.Contains(string(data), base64.StdEncoding.EncodeToString(last.Root[:])) {
		t.Error("root not in file")
	}
}

func mustKey(t *testing.T, dir string) *core.LogKey {
	t.Helper()
	k, err := readLogKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestProveSessionReceipt: audit prove --session prints one proof per event
// of the session, all of which verify-proof accepts.
func TestProveSessionReceipt(t *testing.T) {
	c := newCLI(t)
	c.ok("demo", "--no-tui", "--users", "5")
	receipt := c.ok("audit", "prove", "--session", "imp_00000001")
	n := strings.Count(receipt, "actas inclusion proof\n")
	events := strings.Count(c.ok("audit", "export", "--session", "imp_00000001"), "\n")
	if n == 0 || n != events {
		t.Fatalf("receipt holds %d proofs, the session %d events:\n%s", n, events, receipt)
	}
	out := c.ok("audit", "verify-proof", c.write("receipt", receipt), "--key", strings.TrimSpace(c.ok("audit", "pubkey")))
	if got := strings.Count(out, "proof OK"); got != n {
		t.Errorf("verify-proof confirmed %d of %d proofs:\n%s", got, n, out)
	}
	mustContain(t, "no session", c.fails("audit", "prove", "--session", "imp_99999999"), "imp_99999999")
	mustContain(t, "both", c.fails("audit", "prove", "--session", "imp_00000001", "--seq", "1"), "not both")
	mustContain(t, "neither", c.fails("audit", "prove"), "--seq N", "--session ID")
}

// TestSSHReceipt: over SSH, the person acted as gets the receipt of their
// own session and the log's public key, and checks it with stdin as FILE;
// proofs of other events and checkpoints of the whole log are refused.
func TestSSHReceipt(t *testing.T) {
	w := newSSHWorld(t)
	pub := w.run(core.DemoJane, "", "audit pubkey")
	if pub.code != 0 || !strings.HasPrefix(pub.out, "actas/Acme+") {
		t.Fatalf("audit pubkey over SSH: %+v", pub)
	}
	r := w.run(core.DemoJane, "", "audit prove --session imp_00000001")
	if r.code != 0 || !strings.Contains(r.out, "actas inclusion proof") {
		t.Fatalf("jane's receipt over SSH: exit %d\n%s%s", r.code, r.out, r.err)
	}
	v := w.run(core.DemoJane, r.out, "audit verify-proof - --key "+strings.TrimSpace(pub.out))
	if v.code != 0 || strings.Count(v.out, "proof OK") != strings.Count(r.out, "actas inclusion proof\n") {
		t.Fatalf("verify-proof over SSH: exit %d\n%s%s", v.code, v.out, v.err)
	}
	if r := w.run(core.DemoJane, "", "audit prove --seq 1"); r.code == 0 {
		t.Error("jane proved an arbitrary event")
	}
	if r := w.run(core.DemoJane, "", "audit checkpoint"); r.code == 0 {
		t.Error("jane signed a checkpoint")
	}
	// Staff over jane may see her sessions, and so get their receipts.
	if r := w.run(core.DemoSupport, "", "audit prove --session imp_00000001"); r.code != 0 {
		t.Errorf("support's receipt of a session they may see: %+v", r)
	}
	if r := w.run(core.DemoOwner, "", "audit checkpoint"); r.code != 0 || !strings.HasPrefix(r.out, "actas/Acme\n") {
		t.Errorf("owner's checkpoint over SSH: %+v", r)
	}
}
