package core

import (
	"strings"

	"golang.org/x/crypto/ssh"
)

// maxKeyComment bounds the comment kept with a key (user@host, usually).
const maxKeyComment = 200

// ParseKey reads one authorized_keys line.
func ParseKey(line string) (ssh.PublicKey, string, error) {
	line = strings.TrimSpace(line)
	if line == "" {
		return nil, "", invalid("key", "the key file is empty")
	}
	pk, comment, options, rest, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return nil, "", invalid("key", "not an SSH public key (expected a line like \"ssh-ed25519 AAAA… comment\"): %v", err)
	}
	// Options restrict a key (from="…" where it may be used from,
	// expiry-time="…" until when). actas would not enforce them, and
	// storing the key without them would silently lift the restriction:
	// the line is refused instead.
	if len(options) > 0 {
		names := make([]string, len(options))
		for i, o := range options {
			name, _, _ := strings.Cut(o, "=")
			names[i] = Display(cutBytes(name, 40))
		}
		return nil, "", invalid("key", "the key line has options (%s), which actas does not enforce: a key is accepted from anywhere until it is removed. Remove the options to register the key as it is, or limit access another way (firewall, key removal)", strings.Join(names, ", "))
	}
	if len(strings.TrimSpace(string(rest))) > 0 {
		return nil, "", invalid("key", "give one key at a time")
	}
	if hasUnsafe(comment) {
		comment = Display(comment)
	}
	return pk, cutRunes(comment, maxKeyComment), nil
}

// AddKey registers a console login key for the user with the email. One key
// belongs to one user.
func (c *Core) AddKey(p Principal, email, authorized string) (Key, error) {
	pk, comment, err := ParseKey(authorized)
	if err != nil {
		return Key{}, err
	}
	n := change(CapAdmin, "adding a key for someone else")
	if p.System == "" && strings.EqualFold(email, p.User.Email) {
		n = own("changing keys")
	}
	if err := c.check(p, n); err != nil {
		return Key{}, err
	}
	k := Key{Fingerprint: ssh.FingerprintSHA256(pk), Type: pk.Type(), Comment: comment,
		Authorized: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk)))}
	err = c.update(func(t *txn) error {
		if _, err := authorize(t, p, n); err != nil {
			return err
		}
		u, err := t.UserByEmail(normaliseEmail(email))
		if err != nil {
			return notFound("no user with email %s", email)
		}
		if p.System == "" && u.ID != p.User.ID {
			if _, err := authorize(t, p, change(CapAdmin, "adding a key for someone else")); err != nil {
				return err
			}
		}
		if old, err := t.Key(k.Fingerprint); err == nil {
			owner, _ := t.User(old.UserID)
			return refuse(CodeConflict, "key %s already belongs to %s", k.Fingerprint, owner.Email)
		}
		k.UserID, k.Added = u.ID, t.now
		if err := t.PutKey(k); err != nil {
			return err
		}
		_, err = t.record(Event{Type: EvKeyAdded, Actor: p.ref(), Subject: u.Ref(), Org: u.Org},
			map[string]any{"fingerprint": k.Fingerprint, "type": k.Type, "comment": comment})
		return err
	})
	return k, err
}

// RemoveKey deletes a key by fingerprint. The consoles that logged in
// with it close at once, and the sessions they started end (key_removed).
func (c *Core) RemoveKey(p Principal, fingerprint string) error {
	if err := c.check(p, own("changing keys")); err != nil {
		return err
	}
	err := c.update(func(t *txn) error {
		k, err := t.Key(strings.TrimSpace(fingerprint))
		if err != nil {
			return notFound("no key with fingerprint %s (see actas key list)", fingerprint)
		}
		me, err := authorize(t, p, own("changing keys"))
		if err != nil {
			return err
		}
		if p.System == "" && k.UserID != p.User.ID && !grants(me, CapAdmin) {
			return refuse(CodeNotPermitted, "only owners can remove someone else's key")
		}
		u, _ := t.User(k.UserID)
		if err := t.DeleteKey(k.Fingerprint); err != nil {
			return err
		}
		if _, err = t.record(Event{Type: EvKeyRemoved, Actor: p.ref(), Subject: u.Ref(), Org: u.Org},
			map[string]any{"fingerprint": k.Fingerprint}); err != nil {
			return err
		}
		act, err := t.ActiveSessions()
		if err != nil {
			return err
		}
		conns := c.connsWithKey(k.Fingerprint)
		for _, s := range act {
			if s.Impersonator == u.ID && conns[s.Conn] {
				if err := t.endSession(s, EndKeyRemoved, p.ref()); err != nil {
					return err
				}
			}
		}
		t.publish(Change{Kind: ChangeLogout, Logout: &Logout{User: u.ID, Fingerprint: k.Fingerprint,
			Reason: EndKeyRemoved, Message: logoutMessage(EndKeyRemoved, p.ref())}})
		return nil
	})
	if CodeOf(err) == CodeNotPermitted {
		if rerr := c.recordRefusal(p, "removing someone else's key", err); rerr != nil {
			return rerr
		}
	}
	return err
}

// Keys lists login keys, everyone's or one user's. A person may list their
// own; anyone else's, or everyone's, take owners' rights (a refusal is
// recorded).
func (c *Core) Keys(p Principal, email string) ([]Key, error) {
	if p.System == "" && (email == "" || !strings.EqualFold(strings.TrimSpace(email), p.User.Email)) {
		if err := c.guard(p, CapAdmin, "listing keys"); err != nil {
			return nil, err
		}
	}
	return c.SystemKeys(email)
}

// SystemKeys lists keys; email "" lists everyone's. System API: no
// principal (the command line as operator); people use KeysOf.
func (c *Core) SystemKeys(email string) ([]Key, error) {
	var out []Key
	err := c.st.View(func(tx ReadTx) error {
		id := ""
		if email != "" {
			u, err := tx.UserByEmail(normaliseEmail(email))
			if err != nil {
				return notFound("no user with email %s", email)
			}
			id = u.ID
		}
		var err error
		out, err = tx.Keys(id)
		return err
	})
	return out, err
}

// UserByKey finds the user a proven public key belongs to.
func (c *Core) UserByKey(pk ssh.PublicKey) (User, Key, error) {
	fp := ssh.FingerprintSHA256(pk)
	var u User
	var k Key
	err := c.st.View(func(tx ReadTx) error {
		var err error
		if k, err = tx.Key(fp); err != nil {
			return notFound("unknown key %s", fp)
		}
		if u, err = tx.User(k.UserID); err != nil {
			return notFound("the owner of key %s no longer exists", fp)
		}
		return nil
	})
	return u, k, err
}

// Login records a successful console login and returns the principal.
func (c *Core) Login(u User, fingerprint, remote, conn string) (Principal, error) {
	p := Principal{User: u, Fingerprint: fingerprint, Remote: remote, Conn: conn}
	if u.Status != StatusActive {
		return p, refuse(CodeNotPermitted, "your account is %s", u.Status)
	}
	err := c.update(func(t *txn) error {
		_, err := t.record(Event{Type: EvLogin, Actor: u.Ref(), Org: u.Org},
			map[string]any{"fingerprint": fingerprint, "remote": remote})
		return err
	})
	if err == nil {
		c.rememberLogin(conn, u.ID, fingerprint)
	}
	return p, err
}

// authMethods are the SSH authentication methods of RFC 4252 and 4256 and
// the GSSAPI ones; a client may send any string as a method name.
var authMethods = map[string]bool{"none": true, "publickey": true, "password": true, "hostbased": true,
	"keyboard-interactive": true, "gssapi-with-mic": true, "gssapi-keyex": true}

// AuthMethod is the name to record for an SSH authentication method a
// client named before it authenticated: one of the known names, else
// "other", so no text of the client's choosing is stored.
func AuthMethod(name string) string {
	if authMethods[name] {
		return name
	}
	return "other"
}

// LoginFailed records failed logins; the SSH server coalesces a flood into
// one event with a count.
func (c *Core) LoginFailed(fingerprint, remote, why string, count int) error {
	return c.update(func(t *txn) error {
		_, err := t.record(Event{Type: EvLoginFailed, Actor: Ref{ID: "unknown"}, Result: ResultDenied, Reason: why},
			map[string]any{"fingerprint": fingerprint, "remote": remote, "count": count})
		return err
	})
}

// HasKey reports whether a login key is still registered.
func (c *Core) HasKey(fingerprint string) bool {
	return c.st.View(func(tx ReadTx) error {
		_, err := tx.Key(fingerprint)
		return err
	}) == nil
}
