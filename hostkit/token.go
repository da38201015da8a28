package hostkit

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// leeway absorbs clock skew between actas and the product.
const leeway = 5 * time.Second

var (
	errExpired     = errors.New("token expired")
	errNoAudience  = errors.New("hostkit does not know its audience yet: set Config.Audience to the API key's name, or enter through a ticket")
	errUnknownKey  = errors.New("token signed with a key actas does not publish")
	errNotActAs    = errors.New("token has no act claim: not an impersonation token")
	errNestedAct   = errors.New("token has a nested act claim (chained impersonation)")
	errAudience    = errors.New("token is for another audience")
	errIssuer      = errors.New("token is from another issuer")
	errIncomplete  = errors.New("token lacks sub, sid or exp")
	errNotYetValid = errors.New("token is not valid yet")
)

// keyring caches actas's signing keys, fetched from its JWKS. An unknown
// kid refetches the set, at most once per minInterval, so forged kids cannot
// make hostkit hammer actas.
type keyring struct {
	mu          sync.Mutex
	fetch       sync.Mutex // one fetch at a time; others wait for its result
	keys        map[string]ed25519.PublicKey
	last        time.Time
	minInterval time.Duration
}

func (r *keyring) lookup(kid string) (ed25519.PublicKey, time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.keys[kid], r.last
}

// key returns the public key for kid, fetching the JWKS when kid is unknown
// and the last fetch is older than minInterval.
func (k *Kit) key(ctx context.Context, kid string) (ed25519.PublicKey, error) {
	if pub, _ := k.keys.lookup(kid); pub != nil {
		return pub, nil
	}
	k.keys.fetch.Lock()
	defer k.keys.fetch.Unlock()
	pub, last := k.keys.lookup(kid)
	if pub != nil {
		return pub, nil // fetched while we waited
	}
	if !last.IsZero() && time.Since(last) < k.keys.minInterval {
		return nil, errUnknownKey
	}
	// A request may be waiting on this: actas gets two seconds.
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	keys, err := k.fetchJWKS(ctx)
	k.keys.mu.Lock()
	k.keys.last = time.Now()
	if err == nil {
		k.keys.keys = keys
	}
	pub = k.keys.keys[kid]
	k.keys.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if pub == nil {
		return nil, errUnknownKey
	}
	return pub, nil
}

func (k *Kit) fetchJWKS(ctx context.Context) (map[string]ed25519.PublicKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.endpoint("/.well-known/jwks.json"), nil)
	if err != nil {
		return nil, err
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch actas keys: %w: %w", errUnreachable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch actas keys: %w: %s", errUnreachable, resp.Status)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<20)).Decode(&set); err != nil {
		return nil, fmt.Errorf("fetch actas keys: %w", err)
	}
	keys := map[string]ed25519.PublicKey{}
	for _, jwk := range set.Keys {
		pub, ok := jwk.Key.(ed25519.PublicKey)
		if !ok || jwk.KeyID == "" || (jwk.Use != "" && jwk.Use != "sig") ||
			(jwk.Algorithm != "" && jwk.Algorithm != string(jose.EdDSA)) {
			continue
		}
		keys[jwk.KeyID] = pub
	}
	return keys, nil
}

type actClaim struct {
	Sub   string          `json:"sub"`
	Email string          `json:"email"`
	Act   json.RawMessage `json:"act"`
}

type tokenClaims struct {
	jwt.Claims
	Email string    `json:"email"`
	Sid   string    `json:"sid"`
	Act   *actClaim `json:"act"`
}

// verified is a token whose signature and claims held.
type verified struct {
	raw    string
	claims tokenClaims
	iat    time.Time
	exp    time.Time
}

// verify checks a token's signature against actas's keys and its claims:
// EdDSA only, a flat act, this product's audience, the issuer when
// configured, and the time window. An expired but otherwise good token is
// returned with errExpired, so a session hostkit refreshed can still be
// recognised by its older cookie. With learn (a token actas just gave
// hostkit for its own key) and no audience known yet, the token's single
// audience becomes hostkit's.
func (k *Kit) verify(ctx context.Context, raw string, learn bool) (*verified, error) {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		return nil, err
	}
	if len(tok.Headers) != 1 || tok.Headers[0].KeyID == "" {
		return nil, errors.New("token has no kid")
	}
	pub, err := k.key(ctx, tok.Headers[0].KeyID)
	if err != nil {
		return nil, err
	}
	v := &verified{raw: raw}
	if err := tok.Claims(pub, &v.claims); err != nil {
		return nil, err
	}
	c := &v.claims
	if c.Act == nil || c.Act.Sub == "" {
		return nil, errNotActAs
	}
	if len(c.Act.Act) > 0 && string(c.Act.Act) != "null" {
		return nil, errNestedAct
	}
	if c.Subject == "" || c.Sid == "" || c.Expiry == nil {
		return nil, errIncomplete
	}
	if k.cfg.Issuer != "" && c.Issuer != k.cfg.Issuer {
		return nil, errIssuer
	}
	aud := k.audience.Load()
	if aud == nil && learn && len(c.Audience) == 1 && c.Audience[0] != "" {
		learned := c.Audience[0]
		k.audience.CompareAndSwap(nil, &learned)
		aud = k.audience.Load()
	}
	if aud == nil {
		return nil, errNoAudience
	}
	if !c.Audience.Contains(*aud) {
		return nil, errAudience
	}
	now := time.Now()
	v.exp = c.Expiry.Time()
	if c.IssuedAt != nil {
		v.iat = c.IssuedAt.Time()
	} else {
		v.iat = now
	}
	if c.NotBefore != nil && now.Add(leeway).Before(c.NotBefore.Time()) {
		return nil, errNotYetValid
	}
	if now.After(v.exp.Add(leeway)) {
		return v, errExpired
	}
	return v, nil
}
