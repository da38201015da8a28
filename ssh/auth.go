package ssh

import (
	"sync"
	"time"

	"github.com/charmbracelet/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// Only modern algorithms: ssh-audit reports no failure against this set.
// x/crypto adds curve25519-sha256@libssh.org beside curve25519-sha256 and
// the strict-kex extension (Terrapin) on its own.
// Each call makes new lists, so nobody can change them for the others.
func kexAlgorithms() []string {
	return []string{gossh.KeyExchangeMLKEM768X25519, gossh.KeyExchangeCurve25519}
}

func cipherAlgos() []string {
	return []string{gossh.CipherChaCha20Poly1305, gossh.CipherAES256GCM, gossh.CipherAES128GCM}
}

func macAlgos() []string { return []string{gossh.HMACSHA256ETM, gossh.HMACSHA512ETM} }

// clientKeyAlgos are the signature algorithms accepted from clients: no
// SHA-1 (ssh-rsa), no DSA.
func clientKeyAlgos() []string {
	return []string{
		gossh.KeyAlgoED25519, gossh.KeyAlgoSKED25519,
		gossh.KeyAlgoECDSA256, gossh.KeyAlgoECDSA384, gossh.KeyAlgoECDSA521, gossh.KeyAlgoSKECDSA256,
		gossh.KeyAlgoRSASHA512, gossh.KeyAlgoRSASHA256,
	}
}

// provenKeyExt is the permissions extension holding the fingerprint of the
// key whose signature the server verified. Only VerifiedPublicKeyCallback
// sets it, after the signature check.
const provenKeyExt = "actas-proven-key"

// serverConfig is the x/crypto configuration of one connection; wish adds
// the host key and the public key callback that calls offeredKey.
func (s *Server) serverConfig(ctx ssh.Context) *gossh.ServerConfig {
	g := guardOf(ctx)
	tries := s.cfg.MaxAuthTries
	if tries < 0 {
		tries = -1 // x/crypto: unlimited
	}
	return &gossh.ServerConfig{
		Config:                  gossh.Config{KeyExchanges: kexAlgorithms(), Ciphers: cipherAlgos(), MACs: macAlgos()},
		MaxAuthTries:            tries,
		PublicKeyAuthAlgorithms: clientKeyAlgos(),
		VerifiedPublicKeyCallback: func(_ gossh.ConnMetadata, key gossh.PublicKey, perms *gossh.Permissions, _ string) (*gossh.Permissions, error) {
			if perms == nil {
				perms = &gossh.Permissions{}
			}
			if perms.Extensions == nil {
				perms.Extensions = map[string]string{}
			}
			fp := fingerprint(key)
			perms.Extensions[provenKeyExt] = fp
			if g != nil {
				g.authenticated(fp)
			}
			return perms, nil
		},
		AuthLogCallback: func(_ gossh.ConnMetadata, method string, err error) {
			if g != nil && method != "none" && err != nil {
				g.authFailed(method)
			}
		},
	}
}

// offeredKey is asked about every key a client offers, including keys it
// only asks about and never proves. It therefore decides nothing about who
// the person is: it only lets through keys that core knows, so the client
// goes on to sign with one. The console reads the key that was proven.
func (s *Server) offeredKey(ctx ssh.Context, key ssh.PublicKey) (ok bool) {
	g := guardOf(ctx)
	fp := fingerprint(key)
	s.safely("public key check", func() {
		if _, isCert := key.(*gossh.Certificate); isCert {
			g.offered(fp, "certificates are not accepted; register the plain key")
			return
		}
		if _, _, err := s.core.UserByKey(key); err != nil {
			g.offered(fp, "unknown key")
			return
		}
		g.offered(fp, "")
		ok = true
	})
	return ok
}

// failedLogins sums failed logins per remote address: the first one of a
// window is recorded at once, the rest when the window ends as one event
// with a count, so a flood of attempts costs one audit event per address
// and window.
type failedLogins struct {
	mu     sync.Mutex
	window time.Duration
	record func(fp, remote, why string, count int)
	by     map[string]*failWindow
}

type failWindow struct {
	pending int
	fp, why string
	timer   *time.Timer
}

// maxFailWindows bounds the memory of a flood from very many addresses;
// past it, new addresses share one window.
const maxFailWindows = 10000

func newFailedLogins(window time.Duration, record func(fp, remote, why string, count int)) *failedLogins {
	return &failedLogins{window: window, record: record, by: map[string]*failWindow{}}
}

func (f *failedLogins) add(remote, fp, why string) {
	f.mu.Lock()
	if len(f.by) >= maxFailWindows && f.by[remote] == nil {
		remote = "many addresses"
	}
	if f.window <= 0 {
		f.mu.Unlock()
		f.record(fp, remote, why, 1)
		return
	}
	if w := f.by[remote]; w != nil {
		w.pending++
		w.fp, w.why = fp, why
		f.mu.Unlock()
		return
	}
	w := &failWindow{}
	f.by[remote] = w
	w.timer = time.AfterFunc(f.window, func() { f.tick(remote) })
	f.mu.Unlock()
	f.record(fp, remote, why, 1)
}

func (f *failedLogins) tick(remote string) {
	f.mu.Lock()
	w := f.by[remote]
	if w == nil {
		f.mu.Unlock()
		return
	}
	if w.pending == 0 {
		w.timer.Stop()
		delete(f.by, remote)
		f.mu.Unlock()
		return
	}
	n, fp, why := w.pending, w.fp, w.why
	w.pending = 0
	w.timer.Reset(f.window) // the flood goes on: keep summing
	f.mu.Unlock()
	f.record(fp, remote, why, n)
}

// flush records what is pending now and forgets every window.
func (f *failedLogins) flush() {
	f.mu.Lock()
	type pend struct {
		remote, fp, why string
		n               int
	}
	var out []pend
	for remote, w := range f.by {
		w.timer.Stop()
		if w.pending > 0 {
			out = append(out, pend{remote, w.fp, w.why, w.pending})
		}
	}
	f.by = map[string]*failWindow{}
	f.mu.Unlock()
	for _, p := range out {
		f.record(p.fp, p.remote, p.why, p.n)
	}
}

func (s *Server) recordFailedLogin(fp, remote, why string, count int) {
	s.log.Warn("login failed", "remote", remote, "fingerprint", fp, "why", why, "count", count)
	if err := s.core.LoginFailed(fp, remote, why, count); err != nil {
		s.log.Error("recording a failed login", "err", err)
	}
}
