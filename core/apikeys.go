package core

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// APIKey lets a host product call the HTTP API. Only the SHA-256 of its
// secret is kept; the secret is shown once, when the key is added. The
// name is the audience of the grants the key receives.
type APIKey struct {
	Name      string    `json:"name"`
	Hash      string    `json:"-"`    // hex SHA-256 of the secret
	Rate      int       `json:"rate"` // requests per second allowed, bursts twice that
	Created   time.Time `json:"created"`
	CreatedBy string    `json:"created_by"`
	Revoked   time.Time `json:"revoked,omitzero"`
}

// Active reports whether the key still opens the API.
func (k APIKey) Active() bool { return k.Revoked.IsZero() }

// APIKeyPrefix starts every API key secret, so one found in a log or a
// repository is recognised at once.
const APIKeyPrefix = "actas_"

// DefaultAPIRate is a key's request rate unless given: enough for a
// product's reports in batches, status reads and grant refreshes.
const DefaultAPIRate = 100

var apiKeyName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// hashSecret is how a secret (an API key, a ticket) is kept: its SHA-256.
// The secrets are 32 random bytes, so a fast hash is enough.
func hashSecret(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// newSecret returns prefix + 32 random bytes, base64url without padding.
func newSecret(prefix string) string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// apiKeys is core's view of the API keys: by hash for authentication, with
// one rate limiter per key.
type apiKeys struct {
	mu       sync.RWMutex
	byHash   map[string]APIKey
	limiters map[string]*rate.Limiter
}

func (a *apiKeys) set(keys []APIKey) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.byHash = make(map[string]APIKey, len(keys))
	if a.limiters == nil {
		a.limiters = map[string]*rate.Limiter{}
	}
	for _, k := range keys {
		if !k.Active() {
			delete(a.limiters, k.Name)
			continue
		}
		a.byHash[k.Hash] = k
		r := k.Rate
		if r <= 0 {
			r = DefaultAPIRate
		}
		if l, ok := a.limiters[k.Name]; !ok || l.Limit() != rate.Limit(r) {
			a.limiters[k.Name] = rate.NewLimiter(rate.Limit(r), 2*r)
		}
	}
}

func (c *Core) loadAPIKeys(tx ReadTx) error {
	keys, err := tx.APIKeys()
	if err != nil {
		return err
	}
	c.keys.set(keys)
	return nil
}

// AddAPIKey creates a key for a host product and returns it with its
// secret, which is never available again. Owners only.
func (c *Core) AddAPIKey(p Principal, name string, perSecond int) (APIKey, string, error) {
	n := change(CapSettings, "adding an API key")
	if err := c.check(p, n); err != nil {
		return APIKey{}, "", err
	}
	name = strings.TrimSpace(name)
	if !apiKeyName.MatchString(name) {
		return APIKey{}, "", invalid("name", "an API key name is 1–64 lower-case letters, digits, dots, dashes or underscores, starting with a letter or digit (it becomes the token audience), not %q", Display(name))
	}
	if perSecond == 0 {
		perSecond = DefaultAPIRate
	}
	if perSecond < 1 || perSecond > 1_000_000 {
		return APIKey{}, "", invalid("rate", "rate must be between 1 and 1000000 requests a second")
	}
	secret := newSecret(APIKeyPrefix)
	var k APIKey
	err := c.update(func(t *txn) error {
		if _, err := authorize(t, p, n); err != nil {
			return err
		}
		if old, err := t.APIKey(name); err == nil {
			if old.Active() {
				return refuse(CodeConflict, "an API key named %s exists already — revoke it first or pick another name", name)
			}
			return refuse(CodeConflict, "the name %s belonged to a revoked key; pick another name so old grants for that audience stay distinct", name)
		}
		k = APIKey{Name: name, Hash: hashSecret(secret), Rate: perSecond, Created: t.now, CreatedBy: p.ref().String()}
		if err := t.PutAPIKey(k); err != nil {
			return err
		}
		t.apiKeys = true
		if _, err := t.record(Event{Type: EvAPIKeyAdded, Actor: p.ref(), Org: t.c.RootOrg().ID},
			map[string]any{"name": name, "rate": perSecond}); err != nil {
			return err
		}
		kk := k
		t.publish(Change{Kind: ChangeAPIKey, APIKey: &kk})
		return nil
	})
	if err != nil {
		return APIKey{}, "", err
	}
	return k, secret, nil
}

// RevokeAPIKey ends a key at once: its next request is refused. Owners only.
func (c *Core) RevokeAPIKey(p Principal, name string) (APIKey, error) {
	n := change(CapSettings, "revoking an API key")
	if err := c.check(p, n); err != nil {
		return APIKey{}, err
	}
	var k APIKey
	err := c.update(func(t *txn) error {
		if _, err := authorize(t, p, n); err != nil {
			return err
		}
		var err error
		if k, err = t.APIKey(strings.TrimSpace(name)); err != nil {
			return notFound("no API key named %s (see actas apikey list)", Display(name))
		}
		if !k.Active() {
			return refuse(CodeConflict, "the API key %s was revoked already, on %s", k.Name, k.Revoked.Format(time.RFC3339))
		}
		k.Revoked = t.now
		if err := t.PutAPIKey(k); err != nil {
			return err
		}
		t.apiKeys = true
		_, err = t.record(Event{Type: EvAPIKeyRevoked, Actor: p.ref(), Org: t.c.RootOrg().ID},
			map[string]any{"name": k.Name})
		if err != nil {
			return err
		}
		kk := k
		t.publish(Change{Kind: ChangeAPIKey, APIKey: &kk})
		return nil
	})
	return k, err
}

// APIKeys lists every key, revoked ones included. Owners only.
func (c *Core) APIKeys(p Principal) ([]APIKey, error) {
	var out []APIKey
	err := c.viewAs(p, see(CapSettings), func(tx ReadTx) error {
		var err error
		out, err = tx.APIKeys()
		return err
	})
	return out, err
}

// AuthenticateAPIKey turns the secret a host product sent into its
// principal, or refuses: an unknown or revoked key is unauthenticated, a
// key past its rate is rate_limited.
func (c *Core) AuthenticateAPIKey(secret, remote string) (Principal, error) {
	if !strings.HasPrefix(secret, APIKeyPrefix) {
		return Principal{}, refuse(CodeUnauthenticated, "send an API key as Authorization: Bearer actas_… (see actas apikey add)")
	}
	h := hashSecret(secret)
	c.keys.mu.RLock()
	k, ok := c.keys.byHash[h]
	l := c.keys.limiters[k.Name]
	c.keys.mu.RUnlock()
	if !ok {
		return Principal{}, refuse(CodeUnauthenticated, "unknown or revoked API key")
	}
	if l != nil && !l.Allow() {
		return Principal{}, refuse(CodeRateLimited, "API key %s is over its rate of %d requests a second; slow down and retry", k.Name, k.Rate)
	}
	return Principal{APIKey: k.Name, Remote: remote}, nil
}

// APIKeyActive reports whether the named key is still valid (a stream
// checks it while it runs).
func (c *Core) APIKeyActive(name string) bool {
	c.keys.mu.RLock()
	defer c.keys.mu.RUnlock()
	_, ok := c.keys.limiters[name]
	return ok
}
