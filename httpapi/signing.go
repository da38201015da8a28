package httpapi

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/actas/actas/core"
)

// Files of the grant signing key in the data directory.
const (
	// SigningKeyFile holds the Ed25519 private key grants are signed
	// with, PKCS #8 in PEM, mode 0600.
	SigningKeyFile = "signing_ed25519"
	// retiredFile lists public keys rotated out, with the time until which
	// tokens they signed may still be presented.
	retiredFile = "signing_ed25519.retired"
)

// retireAfter is how long a rotated-out key stays in the JWKS: the longest
// a grant lives, and a minute for clocks that disagree.
const retireAfter = core.GrantTTL + time.Minute

// algorithms is the allow-list of JWS algorithms: EdDSA only.
var algorithms = []jose.SignatureAlgorithm{jose.EdDSA}

// Keyring signs grants with the current key and publishes it, and the
// keys rotated out while their grants may live, as a JWKS. It follows
// the files: a rotation by another process is picked up on the next use.
type Keyring struct {
	dir string
	now func() time.Time

	mu      sync.Mutex
	stamp   string // what the files looked like when read
	signer  jose.Signer
	current jose.JSONWebKey // public
	retired []retiredKey
}

type retiredKey struct {
	Key   jose.JSONWebKey `json:"key"` // public
	Until time.Time       `json:"until"`
}

// OpenKeyring loads the signing key of the data directory dir, creating it
// (0600) if there is none. now is the clock retirement is judged by.
func OpenKeyring(dir string, now func() time.Time) (*Keyring, error) {
	if now == nil {
		now = time.Now
	}
	k := &Keyring{dir: dir, now: now}
	path := filepath.Join(dir, SigningKeyFile)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if err := writeNewKey(path); err != nil {
			return nil, err
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.reloadLocked(); err != nil {
		return nil, err
	}
	return k, nil
}

// writeNewKey writes a fresh private key to path whole, mode 0600.
func writeNewKey(path string) error {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// fileStamp identifies a file's version cheaply.
func fileStamp(path string) string {
	st, err := os.Stat(path)
	if err != nil {
		return "-"
	}
	return fmt.Sprintf("%d/%d", st.ModTime().UnixNano(), st.Size())
}

func (k *Keyring) stampNow() string {
	return fileStamp(filepath.Join(k.dir, SigningKeyFile)) + "|" + fileStamp(filepath.Join(k.dir, retiredFile))
}

// reloadLocked reads the key files. Callers hold k.mu.
func (k *Keyring) reloadLocked() error {
	stamp := k.stampNow()
	path := filepath.Join(k.dir, SigningKeyFile)
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("signing key: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("signing key %s is readable by others (mode %04o); chmod 600 it", path, st.Mode().Perm())
	}
	priv, err := readPrivateKey(path)
	if err != nil {
		return err
	}
	pub := jose.JSONWebKey{Key: priv.Public(), Algorithm: string(jose.EdDSA), Use: "sig"}
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return err
	}
	pub.KeyID = base64.RawURLEncoding.EncodeToString(tp)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: jose.JSONWebKey{Key: priv, KeyID: pub.KeyID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return err
	}
	retired, err := readRetired(filepath.Join(k.dir, retiredFile))
	if err != nil {
		return err
	}
	k.signer, k.current, k.retired, k.stamp = signer, pub, retired, stamp
	return nil
}

func readPrivateKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("signing key %s is not a PEM file", path)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	priv, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("signing key %s is not an Ed25519 key", path)
	}
	return priv, nil
}

func readRetired(path string) ([]retiredKey, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []retiredKey
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("%s is damaged: %w", path, err)
	}
	return out, nil
}

// fresh reloads the files if they changed. Callers hold k.mu.
func (k *Keyring) fresh() error {
	if k.stampNow() == k.stamp {
		return nil
	}
	return k.reloadLocked()
}

// Rotate makes a new current key. The old one's public half stays in the
// JWKS until every grant it signed has expired.
func (k *Keyring) Rotate() (oldKID, newKID string, err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.fresh(); err != nil {
		return "", "", err
	}
	now := k.now()
	kept := []retiredKey{{Key: k.current, Until: now.Add(retireAfter)}}
	for _, r := range k.retired {
		if r.Until.After(now) {
			kept = append(kept, r)
		}
	}
	b, err := json.MarshalIndent(kept, "", "  ")
	if err != nil {
		return "", "", err
	}
	// The retired list first: if the key write fails, the old key is
	// merely listed twice.
	if err := writeFileAtomic(filepath.Join(k.dir, retiredFile), b); err != nil {
		return "", "", err
	}
	if err := writeNewKey(filepath.Join(k.dir, SigningKeyFile)); err != nil {
		return "", "", err
	}
	oldKID = k.current.KeyID
	if err := k.reloadLocked(); err != nil {
		return "", "", err
	}
	return oldKID, k.current.KeyID, nil
}

// Sign returns the grant as a compact JWS.
func (k *Keyring) Sign(g core.Grant) (string, error) {
	payload, err := json.Marshal(g)
	if err != nil {
		return "", err
	}
	k.mu.Lock()
	if err := k.fresh(); err != nil {
		k.mu.Unlock()
		return "", err
	}
	signer := k.signer
	k.mu.Unlock()
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// JWKS is the current key and the retired ones still in their window.
func (k *Keyring) JWKS() (jose.JSONWebKeySet, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.fresh(); err != nil {
		return jose.JSONWebKeySet{}, err
	}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{k.current}}
	now := k.now()
	for _, r := range k.retired {
		if r.Until.After(now) && !slices.ContainsFunc(set.Keys, func(j jose.JSONWebKey) bool { return j.KeyID == r.Key.KeyID }) {
			set.Keys = append(set.Keys, r.Key)
		}
	}
	return set, nil
}

// CurrentKID is the key ID grants are signed with now.
func (k *Keyring) CurrentKID() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	_ = k.fresh()
	return k.current.KeyID
}

// Verify checks a compact JWS against the published keys (EdDSA only)
// and returns its payload. It checks the signature only: what the claims
// must say is core's to decide.
func (k *Keyring) Verify(token string) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(token, algorithms)
	if err != nil {
		return nil, &core.Error{Code: core.CodeInvalid, Field: "token", Message: "the token is not a compact JWS signed with EdDSA"}
	}
	if len(jws.Signatures) != 1 {
		return nil, &core.Error{Code: core.CodeInvalid, Field: "token", Message: "the token must carry exactly one signature"}
	}
	set, err := k.JWKS()
	if err != nil {
		return nil, err
	}
	keys := set.Key(jws.Signatures[0].Header.KeyID)
	if len(keys) == 0 {
		return nil, &core.Error{Code: core.CodeInvalid, Field: "token", Message: "the token's kid is not one of actas's current keys"}
	}
	payload, err := jws.Verify(keys[0].Key)
	if err != nil {
		return nil, &core.Error{Code: core.CodeInvalid, Field: "token", Message: "the token's signature does not verify"}
	}
	return payload, nil
}
