package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/mod/sumdb/note"

	"github.com/actas/actas/core"
)

// logKeyFile is the audit log's signing key in the data directory.
const logKeyFile = "audit_ed25519"

// readLogKey reads DIR/audit_ed25519; a missing file matches fs.ErrNotExist.
func readLogKey(dir string) (*core.LogKey, error) {
	path := filepath.Join(dir, logKeyFile)
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no audit log key at %s (it is made when a writing command opens the database): %w", path, err)
		}
		return nil, fmt.Errorf("read the audit log key: %w", err)
	}
	k, err := core.ParseLogKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &k, nil
}

// ensureLogKey reads DIR/audit_ed25519, creating it (0600) for a log named
// after the root org when it is missing.
func ensureLogKey(dir, rootOrgName string) (*core.LogKey, error) {
	k, err := readLogKey(dir)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	key, secret, err := core.NewLogKey(core.LogOrigin(rootOrgName))
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, logKeyFile)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // another process made it first
		return readLogKey(dir)
	}
	if err != nil {
		return nil, fmt.Errorf("create the audit log key: %w", err)
	}
	_, err = f.WriteString(secret + "\n")
	if serr := f.Sync(); err == nil {
		err = serr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("create the audit log key: %w", err)
	}
	return &key, nil
}

// useLogKey hands o's core the data directory's log key. A writer creates
// the key if it is missing (only an initialised database has the root org
// it is named after) and makes checkpoints; a reader uses the key if there
// is one, to sign and check on demand.
func useLogKey(o *opened, readOnly bool) error {
	if !o.core.Initialized() {
		return nil
	}
	if readOnly {
		if key, err := readLogKey(o.dir); err == nil {
			o.core.SetLogKey(key)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	key, err := ensureLogKey(o.dir, o.core.RootOrg().Name)
	if err != nil {
		return err
	}
	o.core.SetLogKey(key)
	return o.core.StartCheckpoints(nil)
}

func (a *app) auditCheckpointCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "checkpoint",
		Short: "Print a signed checkpoint of the audit log as it is now",
		Long: `Print a checkpoint of the audit log as it is now: its origin, size and
Merkle tree root, signed with the log key (DATA/audit_ed25519) as a note.
Keep it somewhere the database's owner cannot rewrite; later,
actas audit verify --checkpoint FILE proves that the log still holds exactly
those events. The database is only read.`,
		Example: `  actas audit checkpoint > checkpoint-$(date +%F).txt`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.read(func(co *core.Core) error {
				cp, err := co.Checkpoint(a.operator())
				if err != nil {
					return err
				}
				_, err = cmd.OutOrStdout().Write(cp.Note)
				return err
			})
		},
	}
}

func (a *app) auditPubkeyCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "pubkey",
		Short: "Print the audit log's public key, for checking checkpoints and proofs",
		Long: `Print the note verifier key of the audit log (NAME+HASH+KEY). Anyone holding
it can check a checkpoint or an inclusion proof offline:
actas audit verify-proof FILE --key KEY.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.read(func(co *core.Core) error {
				key, err := co.LogVerifierKey()
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), key)
				return nil
			})
		},
	}
}

func (a *app) auditProveCmd() *cobra.Command {
	var seq uint64
	var session string
	c := &cobra.Command{
		Use:   "prove --seq N | --session ID",
		Short: "Print an inclusion proof of one event (or a session's receipt) in a signed checkpoint",
		Long: `Print a proof that event N is in the audit log: the event's hash, the
Merkle audit path, and a checkpoint of the log as it is now, signed with the
log key. Anyone with the public key (actas audit pubkey) can check it
offline with actas audit verify-proof. The database is only read.

--session ID prints a receipt instead: one proof for every event of that
impersonation session, all in the same checkpoint. The person acted as may
ask for the receipts of their own sessions (over SSH, or on the Account
page), staff for the sessions they may see.`,
		Example: `  actas audit prove --seq 42 > event-42.proof
  actas audit verify-proof event-42.proof --key "$(actas audit pubkey)"
  ssh -p 23234 actas.example.com audit prove --session imp_00000007 > receipt.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			session = strings.TrimSpace(session)
			switch {
			case session == "" && !cmd.Flags().Changed("seq"):
				return errorf("give --seq N (an event) or --session ID (a session's receipt)")
			case session != "" && cmd.Flags().Changed("seq"):
				return errorf("give either --seq or --session, not both")
			case session == "" && seq == 0:
				return errorf("--seq must be an event number, 1 or more")
			}
			return a.read(func(co *core.Core) error {
				var text string
				if session != "" {
					r, err := co.SessionReceipt(a.operator(), session)
					if err != nil {
						return err
					}
					text = r.Text()
				} else {
					proofs, err := co.Prove(a.operator(), seq)
					if err != nil {
						return err
					}
					text = proofs[0].Text()
				}
				_, err := fmt.Fprint(cmd.OutOrStdout(), text)
				return err
			})
		},
	}
	c.Flags().Uint64Var(&seq, "seq", 0, "the event's seq")
	c.Flags().StringVar(&session, "session", "", "an impersonation session (imp_…): prove all its events")
	return c
}

func (a *app) auditVerifyProofCmd() *cobra.Command {
	var keyArg string
	c := &cobra.Command{
		Use:   "verify-proof FILE --key KEY",
		Short: "Check an inclusion proof offline with the log's public key",
		Long: `Check a proof made by actas audit prove (or a receipt from the console,
which holds one proof per event) with the log's public key alone: no data
directory is needed. KEY is the key actas audit pubkey prints
(NAME+HASH+KEY), or a file holding it. FILE - reads standard input.`,
		Example: `  actas audit verify-proof event-42.proof --key "actas/Acme+1a2b3c4d+AbCd…"
  actas audit verify-proof receipt.txt --key acme.pub`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := a.verifierFrom(keyArg)
			if err != nil {
				return err
			}
			data, err := a.readInput(args[0])
			if err != nil {
				return err
			}
			proofs, err := core.ParseProofs(data)
			if err != nil {
				return errorf("%s: %v", args[0], err)
			}
			for i := range proofs {
				p := &proofs[i]
				if err := p.Check(v); err != nil {
					if len(proofs) > 1 {
						return errorf("%s: proof %d of %d: %v", args[0], i+1, len(proofs), err)
					}
					return errorf("%s: %v", args[0], err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "proof OK: event %d (hash %s) is in the log %s of %d events (root %s)\n",
					p.Seq, p.Leaf, p.Checkpoint.Origin, p.Checkpoint.Size, core.Hash(p.Checkpoint.Root))
			}
			return nil
		},
	}
	c.Flags().StringVar(&keyArg, "key", "", "the log's public key (NAME+HASH+KEY) or a file holding it (required)")
	_ = c.MarkFlagRequired("key")
	return c
}

// verifierFrom reads a verifier key given as text or as a file holding it.
func (a *app) verifierFrom(arg string) (note.Verifier, error) {
	text := strings.TrimSpace(arg)
	if text == "" {
		return nil, errorf("--key is empty: give the key actas audit pubkey prints, or a file holding it")
	}
	if _, err := core.NewLogVerifier(text); err != nil {
		b, ferr := a.readInput(arg)
		if ferr != nil {
			return nil, errorf("--key %q is neither a log public key (NAME+HASH+KEY, as actas audit pubkey prints) nor a readable file", arg)
		}
		text = strings.TrimSpace(string(b))
	}
	v, err := core.NewLogVerifier(text)
	if err != nil {
		return nil, errorf("--key: %v", err)
	}
	return v, nil
}

// readInput reads the file name, or standard input for "-".
func (a *app) readInput(file string) ([]byte, error) {
	b, name, err := a.readNamed(file, file, maxInput)
	if err != nil {
		return nil, err
	}
	if len(b) > maxInput {
		return nil, errorf("cannot read %s: larger than %d MB", name, maxInput>>20)
	}
	return b, nil
}

// maxInput bounds a proof or checkpoint file read into memory.
const maxInput = 64 << 20
