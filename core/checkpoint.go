package core

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Checkpoints are made by the process that writes the log, once it called
// StartCheckpoints: one once CheckpointEvery events were appended since the
// last, one CheckpointInterval after an append that did not reach that
// count, and a last one when the process closes if the log grew since. Each
// is kept in the store, appended to policy checkpoint_file and handed to
// the onNew function given to StartCheckpoints.
const (
	CheckpointEvery    = 1000
	CheckpointInterval = 60 * time.Second
)

// LogKey is the audit log's signing key, read from its file
// (DATA/audit_ed25519): a note signer key, "PRIVATE+KEY+NAME+HASH+KEY".
type LogKey struct {
	Signer   note.Signer
	Verifier note.Verifier
	// VerifierKey is the public key as text, NAME+HASH+KEY, for audit
	// pubkey and anyone who checks checkpoints and proofs.
	VerifierKey string
}

// NewLogKey generates a log key named origin (LogOrigin) and returns it
// with its secret text for the key file.
func NewLogKey(origin string) (LogKey, string, error) {
	skey, _, err := note.GenerateKey(nil, origin)
	if err != nil {
		return LogKey{}, "", fmt.Errorf("generate the audit log key: %w", err)
	}
	k, err := ParseLogKey(skey)
	return k, skey, err
}

// ParseLogKey reads the secret text of a log key.
func ParseLogKey(skey string) (LogKey, error) {
	skey = strings.TrimSpace(skey)
	bad := errors.New("it is not an actas audit log key (PRIVATE+KEY+NAME+HASH+KEY)")
	signer, err := note.NewSigner(skey)
	if err != nil {
		return LogKey{}, bad
	}
	parts := strings.SplitN(skey, "+", 5)
	if len(parts) != 5 {
		return LogKey{}, bad
	}
	raw, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 1 {
		return LogKey{}, bad
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(signer.Name(), pub)
	if err != nil {
		return LogKey{}, bad
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return LogKey{}, bad
	}
	return LogKey{Signer: signer, Verifier: v, VerifierKey: vkey}, nil
}

// SignedCheckpoint signs a checkpoint of the log as it is in st now, without
// keeping it: what audit checkpoint prints.
func SignedCheckpoint(st Store, key note.Signer, now time.Time) (Checkpoint, error) {
	var cp Checkpoint
	err := st.View(func(tx ReadTx) error {
		var err error
		cp, err = checkpointIn(tx, key, now)
		return err
	})
	return cp, err
}

// checkpointIn signs a checkpoint of the log in tx.
func checkpointIn(tx ReadTx, key note.Signer, now time.Time) (Checkpoint, error) {
	head, _, err := tx.AuditHead()
	if err != nil {
		return Checkpoint{}, err
	}
	if head == 0 {
		return Checkpoint{}, errors.New("the audit log is empty: there is nothing to checkpoint yet")
	}
	root, err := tlog.TreeHash(int64(head), tlog.HashReaderFunc(tx.AuditTree))
	if err != nil {
		return Checkpoint{}, err
	}
	return SignCheckpoint(key, head, root, now)
}

// --- inclusion proofs -------------------------------------------------------

const proofHeader = "actas inclusion proof"

// Proof is an inclusion proof of one event in a signed checkpoint.
type Proof struct {
	Seq        uint64
	Leaf       Hash // the event's hash
	Path       tlog.RecordProof
	Checkpoint Checkpoint
}

// Text is the proof file: "actas inclusion proof", "seq N", "leaf HEX", the
// audit path as base64 hashes one per line, a blank line, and the signed
// checkpoint.
func (p Proof) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\nseq %d\nleaf %s\n", proofHeader, p.Seq, p.Leaf)
	for _, h := range p.Path {
		b.WriteString(base64.StdEncoding.EncodeToString(h[:]))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.Write(p.Checkpoint.Note)
	return b.String()
}

// ProveEvents proves each of seqs in a checkpoint of the log as it is now,
// signed with key (all against the same checkpoint).
func ProveEvents(st Store, key note.Signer, now time.Time, seqs ...uint64) ([]Proof, error) {
	return proveEvents(st, key, now, seqs, nil)
}

// proveEvents is ProveEvents; leaves, when not nil, are the events' hashes
// (leaves[i] that of seqs[i]) as the caller already read them, so that
// their records are not read again. An event's hash never changes once it
// is in the log.
func proveEvents(st Store, key note.Signer, now time.Time, seqs []uint64, leaves []Hash) ([]Proof, error) {
	var proofs []Proof
	err := st.View(func(tx ReadTx) error {
		proofs = proofs[:0]
		cp, err := checkpointIn(tx, key, now)
		if err != nil {
			return err
		}
		for i, seq := range seqs {
			if seq == 0 || seq > cp.Size {
				return invalid("seq", "no event %d: the log holds events 1 to %d", seq, cp.Size)
			}
			var leaf Hash
			if leaves != nil {
				leaf = leaves[i]
			} else {
				rec, err := tx.AuditRecord(seq)
				if err != nil {
					return fmt.Errorf("read event %d: %w", seq, err)
				}
				if len(rec) < 32 {
					return fmt.Errorf("event %d: the record is damaged (run actas audit verify)", seq)
				}
				leaf = Hash(rec[:32])
			}
			path, err := tlog.ProveRecord(int64(cp.Size), int64(seq-1), tlog.HashReaderFunc(tx.AuditTree))
			if err != nil {
				return err
			}
			proofs = append(proofs, Proof{Seq: seq, Leaf: leaf, Path: path, Checkpoint: cp})
		}
		return nil
	})
	return proofs, err
}

// ParseProofs reads a file of one or more proofs, one after the other.
func ParseProofs(data []byte) ([]Proof, error) {
	var proofs []Proof
	lines := strings.SplitAfter(string(data), "\n")
	i := 0
	next := func() string {
		if i >= len(lines) {
			return ""
		}
		i++
		return lines[i-1]
	}
	for {
		for i < len(lines) && strings.TrimSpace(lines[i]) == "" {
			i++
		}
		if i >= len(lines) {
			break
		}
		n := len(proofs) + 1
		bad := func(format string, args ...any) error {
			return fmt.Errorf("proof %d: %s", n, fmt.Sprintf(format, args...))
		}
		if strings.TrimRight(next(), "\r\n") != proofHeader {
			return nil, bad("does not start with the line %q", proofHeader)
		}
		var p Proof
		seq, ok := strings.CutPrefix(strings.TrimRight(next(), "\n"), "seq ")
		var err error
		if p.Seq, err = strconv.ParseUint(seq, 10, 64); !ok || err != nil || p.Seq == 0 {
			return nil, bad("the second line must be \"seq N\" with N ≥ 1")
		}
		leaf, ok := strings.CutPrefix(strings.TrimRight(next(), "\n"), "leaf ")
		if b, err := hex.DecodeString(leaf); !ok || err != nil || len(b) != 32 {
			return nil, bad("the third line must be \"leaf\" and the event's hash in 64 hex digits")
		} else {
			copy(p.Leaf[:], b)
		}
		for {
			line := strings.TrimRight(next(), "\n")
			if line == "" {
				break
			}
			h, err := base64.StdEncoding.DecodeString(line)
			if err != nil || len(h) != 32 {
				return nil, bad("audit path line %q is not a base64 hash", line)
			}
			p.Path = append(p.Path, tlog.Hash(h))
		}
		// The checkpoint: its text lines, a blank line, its signatures.
		var cp strings.Builder
		for inSigs := false; i < len(lines); {
			line := lines[i]
			if inSigs && !strings.HasPrefix(line, "— ") {
				break
			}
			if strings.TrimSpace(line) == "" {
				inSigs = true
			}
			cp.WriteString(line)
			i++
		}
		p.Checkpoint.Note = []byte(cp.String())
		proofs = append(proofs, p)
	}
	if len(proofs) == 0 {
		return nil, errors.New("the file holds no proof")
	}
	return proofs, nil
}

// Check verifies the proof offline: its checkpoint is signed by the log key,
// and the audit path leads from the event's hash to the checkpoint's root.
func (p *Proof) Check(v note.Verifier) error {
	cp, err := OpenCheckpoint(p.Checkpoint.Note, v)
	if err != nil {
		return fmt.Errorf("the checkpoint is not valid: %w", err)
	}
	p.Checkpoint = cp
	if p.Seq > cp.Size {
		return fmt.Errorf("event %d is beyond the checkpoint's %d events", p.Seq, cp.Size)
	}
	if err := tlog.CheckRecord(p.Path, int64(cp.Size), cp.Root, int64(p.Seq-1), TreeLeaf(p.Leaf)); err != nil {
		return fmt.Errorf("event %d with hash %s is not proven to be in the log of size %d: the proof does not lead to the checkpoint's root", p.Seq, p.Leaf, cp.Size)
	}
	return nil
}

// --- checking checkpoints against the log ----------------------------------

// CheckpointCheck is the outcome of checking one checkpoint of a file.
type CheckpointCheck struct {
	N          int        // position in the file, from 1
	Checkpoint Checkpoint // as read (zero when it did not open)
	Err        error      // nil when the log is consistent with it
}

// CheckCheckpoints proves the log consistent with each signed checkpoint in
// notes. v must be VerifyChain's intact result for the same log: it vouches
// for the stored tree, from which the consistency proofs are read. A
// checkpoint fails when it is not signed by the log key, when it is ahead of
// the log (the log was cut short, or an older copy put back), or when the
// log's first Size events are not the ones it signed (they were changed,
// removed or re-hashed).
func CheckCheckpoints(st Store, key note.Verifier, v Verification, notes [][]byte) ([]CheckpointCheck, error) {
	checks := make([]CheckpointCheck, len(notes))
	var matched []uint64 // sizes of consistent checkpoints
	err := st.View(func(tx ReadTx) error {
		head, _, err := tx.AuditHead()
		if err != nil {
			return err
		}
		if head != v.Events {
			return fmt.Errorf("the log changed while it was checked (%d events, then %d); run the check again", v.Events, head)
		}
		reader := tlog.HashReaderFunc(tx.AuditTree)
		for i, msg := range notes {
			c := &checks[i]
			c.N = i + 1
			cp, err := OpenCheckpoint(msg, key)
			if err != nil {
				c.Err = fmt.Errorf("not a valid checkpoint of this log: %w", err)
				continue
			}
			c.Checkpoint = cp
			switch {
			case cp.Size == 0:
				c.Err = errors.New("it has size 0")
			case cp.Size > head:
				c.Err = fmt.Errorf("the log holds %d events, the checkpoint %d: the log was cut short or an older copy put back (%s missing)",
					head, cp.Size, eventRange(head+1, cp.Size))
			default:
				proof, err := tlog.ProveTree(int64(head), int64(cp.Size), reader)
				if err == nil {
					err = tlog.CheckTree(proof, int64(head), tlog.Hash(v.Root), int64(cp.Size), cp.Root)
				}
				if err != nil {
					c.Err = errors.New("the log's first events are not the ones it signed: they were changed, removed or re-hashed")
				} else {
					matched = append(matched, cp.Size)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Where a rewritten log diverges: after the largest consistent
	// checkpoint below the failing one.
	for i := range checks {
		c := &checks[i]
		if c.Err == nil || c.Checkpoint.Size == 0 || c.Checkpoint.Size > v.Events {
			continue
		}
		var below uint64
		for _, m := range matched {
			if m < c.Checkpoint.Size && m > below {
				below = m
			}
		}
		if below > 0 {
			c.Err = fmt.Errorf("%w; the log matches the checkpoint of size %d, so it diverges in %s", c.Err, below, eventRange(below+1, c.Checkpoint.Size))
		} else {
			c.Err = fmt.Errorf("%w; it diverges within %s", c.Err, eventRange(1, c.Checkpoint.Size))
		}
	}
	return checks, nil
}

// eventRange names events lo to hi: "event 7", "events 7–9".
func eventRange(lo, hi uint64) string {
	if lo == hi {
		return fmt.Sprintf("event %d", lo)
	}
	return fmt.Sprintf("events %d–%d", lo, hi)
}

// --- the checkpointer ------------------------------------------------------

// checkpointer makes checkpoints for a writing Core.
type checkpointer struct {
	notify func(Checkpoint)
	// guarded by Core.cpMu
	last    Checkpoint // newest kept
	head    uint64     // log size last seen after a commit
	timer   Stopper
	running bool
	err     error // the last failure, shown on the Audit tab
}

// CheckpointStatus is the newest checkpoint and the last failure to make or
// publish one, for the Audit tab.
type CheckpointStatus struct {
	Latest Checkpoint // zero Size when none was made yet
	Err    error
}

// CheckpointStatus reports the newest checkpoint kept in the store.
func (c *Core) CheckpointStatus() CheckpointStatus {
	c.cpMu.Lock()
	defer c.cpMu.Unlock()
	if c.cp != nil {
		return CheckpointStatus{Latest: c.cp.last, Err: c.cp.err}
	}
	var st CheckpointStatus
	_ = c.st.View(func(tx ReadTx) error {
		if cp, err := tx.LatestCheckpoint(); err == nil {
			st.Latest = cp
		}
		return nil
	})
	return st
}

// SetLogKey gives core the audit log's key, for signing checkpoints and
// proofs on demand (Checkpoint, Prove) and checking checkpoints.
func (c *Core) SetLogKey(key *LogKey) {
	c.cpMu.Lock()
	c.logKey = key
	c.cpMu.Unlock()
}

// errNoLogKey is what the checkpoint commands say without a log key.
var errNoLogKey = &Error{Code: CodeInvalid, Message: "this actas has no audit log key (DATA/audit_ed25519), so it cannot sign or check checkpoints; a command that writes creates it"}

// key is the log key, or errNoLogKey.
func (c *Core) key() (*LogKey, error) {
	c.cpMu.Lock()
	defer c.cpMu.Unlock()
	if c.logKey == nil {
		return nil, errNoLogKey
	}
	return c.logKey, nil
}

// StartCheckpoints makes this Core, which writes the log, sign checkpoints
// with its log key (SetLogKey) from now on (see CheckpointEvery); it
// schedules one at once if the log grew since the newest. onNew, if not
// nil, is told of each new checkpoint after it is kept (to deliver it to
// webhook channels); it must not block.
func (c *Core) StartCheckpoints(onNew func(Checkpoint)) error {
	if _, err := c.key(); err != nil {
		return err
	}
	cp := &checkpointer{notify: onNew}
	err := c.st.View(func(tx ReadTx) error {
		var err error
		if cp.head, _, err = tx.AuditHead(); err != nil {
			return err
		}
		if cp.last, err = tx.LatestCheckpoint(); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.cpMu.Lock()
	c.cp = cp
	c.cpMu.Unlock()
	c.logGrew(cp.head)
	return nil
}

// logGrew is told the log's size after a commit that appended.
func (c *Core) logGrew(head uint64) {
	c.cpMu.Lock()
	defer c.cpMu.Unlock()
	cp := c.cp
	if cp == nil || c.cpClosed {
		return
	}
	cp.head = max(cp.head, head)
	switch {
	case cp.head <= cp.last.Size:
	case cp.head-cp.last.Size >= CheckpointEvery:
		if !cp.running {
			cp.running = true
			go c.runCheckpoint()
		}
	case cp.timer == nil:
		cp.timer = c.clock.AfterFunc(CheckpointInterval, c.checkpointDue)
	}
}

// checkpointDue is the timer's: a checkpoint, unless one is being made.
func (c *Core) checkpointDue() {
	c.cpMu.Lock()
	cp := c.cp
	cp.timer = nil
	start := !cp.running && !c.cpClosed
	cp.running = cp.running || start
	c.cpMu.Unlock()
	if start {
		c.runCheckpoint()
	}
}

// runCheckpoint makes a checkpoint and clears running. If the log grew by
// another CheckpointEvery meanwhile it goes again; if it failed, or the log
// grew a little, the timer tries again in CheckpointInterval.
func (c *Core) runCheckpoint() {
	for {
		_, err := c.MakeCheckpoint()
		c.cpMu.Lock()
		cp := c.cp
		if err == nil && !c.cpClosed && cp.head-cp.last.Size >= CheckpointEvery {
			c.cpMu.Unlock()
			continue
		}
		cp.running = false
		if !c.cpClosed && cp.head > cp.last.Size && cp.timer == nil {
			cp.timer = c.clock.AfterFunc(CheckpointInterval, c.checkpointDue)
		}
		c.cpMu.Unlock()
		return
	}
}

// MakeCheckpoint signs a checkpoint of the log now, keeps it in the store,
// appends it to policy checkpoint_file and hands it on. It does nothing
// (and returns the newest one) when the log has not grown since that one.
func (c *Core) MakeCheckpoint() (Checkpoint, error) {
	c.cpMu.Lock()
	cp, key := c.cp, c.logKey
	c.cpMu.Unlock()
	if cp == nil || key == nil {
		return Checkpoint{}, errors.New("this process makes no checkpoints (StartCheckpoints)")
	}
	var made Checkpoint
	var fresh bool
	var queued int
	err := c.st.Update(func(tx Tx) error {
		fresh, queued = false, 0
		last, err := tx.LatestCheckpoint()
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		head, _, err := tx.AuditHead()
		if err != nil {
			return err
		}
		if head == 0 || head == last.Size {
			made = last
			return nil
		}
		if made, err = checkpointIn(tx, key.Signer, c.clock.Now()); err != nil {
			return err
		}
		fresh = true
		if err := tx.PutCheckpoint(made); err != nil {
			return err
		}
		queued, err = queueCheckpoint(tx, made)
		return err
	})
	if queued > 0 {
		c.WakeOutbox()
		c.hub.Publish(Change{Kind: ChangeAlerts})
	}
	if err == nil && fresh {
		err = c.publishCheckpoint(cp, made)
	}
	c.cpMu.Lock()
	if made.Size > cp.last.Size {
		cp.last = made
		cp.head = max(cp.head, made.Size)
	}
	cp.err = err
	c.cpMu.Unlock()
	if fresh {
		c.hub.Publish(Change{Kind: ChangeCheckpoint, Checkpoint: &made})
	}
	return made, err
}

// queueCheckpoint puts a new checkpoint into the outbox of every webhook
// channel, in the transaction that keeps it: a receiver holds a copy the
// database's owner cannot take back.
func queueCheckpoint(tx Tx, cp Checkpoint) (int, error) {
	chs, err := tx.Channels()
	if err != nil {
		return 0, err
	}
	pol, err := tx.Policy()
	if err != nil && !errors.Is(err, ErrNotFound) {
		return 0, err
	}
	n := 0
	for _, ch := range chs {
		if ch.Kind != ChannelWebhook {
			continue
		}
		m := OutboxMessage{Channel: ch.ID, Created: cp.Time, NextAt: cp.Time, Notice: Notice{
			Type: NoticeCheckpoint, Environment: pol.Environment, Time: cp.Time,
			Subject:    fmt.Sprintf("%sAudit checkpoint of %s: %d events", envPrefix(pol), cp.Origin, cp.Size),
			Lines:      []string{"Keep this checkpoint: actas audit verify --checkpoint FILE proves the log still holds these events."},
			Checkpoint: string(cp.Note),
		}}
		if err := QueueMessage(tx, &m); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// publishCheckpoint appends a new checkpoint to policy checkpoint_file and
// hands it to the function given to StartCheckpoints.
func (c *Core) publishCheckpoint(by *checkpointer, cp Checkpoint) error {
	var err error
	if path := c.Policy().CheckpointFile; path != "" {
		if werr := AppendCheckpointFile(path, cp.Note); werr != nil {
			err = fmt.Errorf("checkpoint_file %s: %w", path, werr)
		}
	}
	if by.notify != nil {
		by.notify(cp)
	}
	return err
}

// AppendCheckpointFile appends a signed checkpoint to path, followed by a
// blank line, and syncs it to disk (and the directory, when it created the
// file).
func AppendCheckpointFile(path string, note []byte) error {
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(append(bytes.Clone(note), '\n'))
	if serr := f.Sync(); err == nil {
		err = serr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && os.IsNotExist(statErr) {
		if d, derr := os.Open(filepath.Dir(path)); derr == nil {
			err = d.Sync()
			d.Close()
		}
	}
	return err
}

// stopCheckpoints makes a last checkpoint if the log grew since the newest
// and stops the timer. Close calls it.
func (c *Core) stopCheckpoints() {
	c.cpMu.Lock()
	cp := c.cp
	if cp == nil || c.cpClosed {
		c.cpClosed = true
		c.cpMu.Unlock()
		return
	}
	if cp.timer != nil {
		cp.timer.Stop()
		cp.timer = nil
	}
	grew := cp.head > cp.last.Size
	c.cpMu.Unlock()
	if grew {
		_, _ = c.MakeCheckpoint()
	}
	c.cpMu.Lock()
	c.cpClosed = true
	c.cpMu.Unlock()
}

// --- for the commands -------------------------------------------------------

// LogVerifierKey is the audit log's public key, NAME+HASH+KEY.
func (c *Core) LogVerifierKey() (string, error) {
	k, err := c.key()
	if err != nil {
		return "", err
	}
	return k.VerifierKey, nil
}

// Checkpoint signs a checkpoint of the log as it is now, without keeping
// it (audit checkpoint). Who may read the whole audit log may ask.
func (c *Core) Checkpoint(p Principal) (Checkpoint, error) {
	if err := c.Authorize(p, CapAudit, "signing an audit checkpoint"); err != nil {
		return Checkpoint{}, err
	}
	k, err := c.key()
	if err != nil {
		return Checkpoint{}, err
	}
	return SignedCheckpoint(c.st, k.Signer, c.clock.Now())
}

// Prove proves events in a checkpoint of the log as it is now, signed now
// (audit prove). Who may read the whole audit log may ask.
func (c *Core) Prove(p Principal, seqs ...uint64) ([]Proof, error) {
	if err := c.Authorize(p, CapAudit, "proving audit events"); err != nil {
		return nil, err
	}
	k, err := c.key()
	if err != nil {
		return nil, err
	}
	return ProveEvents(c.st, k.Signer, c.clock.Now(), seqs...)
}

// CheckCheckpoints proves the log consistent with each checkpoint in notes,
// against v, the intact result of Verify on the same log.
func (c *Core) CheckCheckpoints(v Verification, notes [][]byte) ([]CheckpointCheck, error) {
	k, err := c.key()
	if err != nil {
		return nil, err
	}
	return CheckCheckpoints(c.st, k.Verifier, v, notes)
}

// MaxReceiptEvents bounds the events one receipt proves.
const MaxReceiptEvents = 10_000

// Receipt is a session's events proven in one signed checkpoint: what the
// person acted as can keep and check offline (audit verify-proof).
type Receipt struct {
	Session    string
	Proofs     []Proof // one per event, oldest first
	Checkpoint Checkpoint
	Key        string // the log's public key, to check it with
}

// Text is the receipt as a file of proofs, one after the other, each in
// the proof file format (audit verify-proof reads them all).
func (r Receipt) Text() string {
	var b strings.Builder
	for i, p := range r.Proofs {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.Text())
	}
	return b.String()
}

// SessionReceipt proves every event of a session in a checkpoint signed
// now. Whoever may read the session's audit may ask: the person acted as,
// and staff over them.
func (c *Core) SessionReceipt(p Principal, sessionID string) (Receipt, error) {
	k, err := c.key()
	if err != nil {
		return Receipt{}, err
	}
	var seqs []uint64
	var leaves []Hash // the events' hashes, read with them
	for from := uint64(0); ; {
		page, err := c.Audit(p, AuditQuery{Session: sessionID}, from, false, 1000)
		if err != nil {
			return Receipt{}, err
		}
		for _, ev := range page.Events {
			seqs = append(seqs, ev.Seq)
			leaves = append(leaves, ev.Hash)
		}
		if len(seqs) > MaxReceiptEvents {
			return Receipt{}, invalid("session", "session %s has more than %d events; ask an auditor for proofs of the ones you need (actas audit prove --seq N)", sessionID, MaxReceiptEvents)
		}
		if page.Next == 0 {
			break
		}
		from = page.Next
	}
	if len(seqs) == 0 {
		return Receipt{}, invalid("session", "session %s has no audit events", sessionID)
	}
	proofs, err := proveEvents(c.st, k.Signer, c.clock.Now(), seqs, leaves)
	if err != nil {
		return Receipt{}, err
	}
	return Receipt{Session: sessionID, Proofs: proofs, Checkpoint: proofs[0].Checkpoint, Key: k.VerifierKey}, nil
}
