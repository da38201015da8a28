package core

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// PolicyKeys lists the settable policy keys, in display order.
var PolicyKeys = []string{"enabled", "require_consent", "max_duration", "default_duration", "require_reason",
	"request_ttl", "approvals_required", "end_on_disconnect", "notify_target", "alerting", "environment", "checkpoint_file",
	"product_url", "issuer"}

// PolicyValues renders the policy as key → value text, as policy show prints it.
func PolicyValues(p Policy) map[string]string {
	return map[string]string{
		"enabled": strconv.FormatBool(p.Enabled), "require_consent": strconv.FormatBool(p.RequireConsent),
		"max_duration": FormatDuration(p.MaxDuration), "default_duration": FormatDuration(p.DefaultDuration),
		"require_reason": strconv.FormatBool(p.RequireReason), "request_ttl": FormatDuration(p.RequestTTL),
		"approvals_required": strconv.Itoa(p.ApprovalsRequired), "end_on_disconnect": strconv.FormatBool(p.EndOnDisconnect),
		"notify_target": strconv.FormatBool(p.NotifyTarget), "alerting": strconv.FormatBool(p.Alerting),
		"environment":     p.Environment,
		"checkpoint_file": p.CheckpointFile,
		"product_url":     p.ProductURL,
		"issuer":          p.issuer(),
	}
}

// FormatDuration shows whole hours as "72h" and other durations as Go does.
func FormatDuration(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	if d%time.Minute == 0 {
		return strings.TrimSuffix(d.String(), "0s")
	}
	return d.String()
}

// ParseDuration reads "90m", "72h" or "3d" (days are 24h).
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration (e.g. 90m, 24h, 3d)", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (e.g. 90m, 24h, 3d)", s)
	}
	return d, nil
}

// applyPolicy sets one key; it validates the value alone, checkPolicy the whole.
func applyPolicy(p *Policy, key, val string) error {
	val = strings.TrimSpace(val)
	boolean := func(dst *bool) error {
		b, err := strconv.ParseBool(val)
		if err != nil {
			return invalid(key, "%s must be true or false, not %q", key, val)
		}
		*dst = b
		return nil
	}
	dur := func(dst *time.Duration) error {
		d, err := ParseDuration(val)
		if err != nil {
			return invalid(key, "%s: %v", key, err)
		}
		*dst = d
		return nil
	}
	switch key {
	case "enabled":
		return boolean(&p.Enabled)
	case "require_consent":
		return boolean(&p.RequireConsent)
	case "require_reason":
		return boolean(&p.RequireReason)
	case "end_on_disconnect":
		return boolean(&p.EndOnDisconnect)
	case "notify_target":
		return boolean(&p.NotifyTarget)
	case "max_duration":
		return dur(&p.MaxDuration)
	case "default_duration":
		return dur(&p.DefaultDuration)
	case "request_ttl":
		return dur(&p.RequestTTL)
	case "approvals_required":
		n, err := strconv.Atoi(val)
		if err != nil {
			return invalid(key, "approvals_required must be 1 or 2, not %q", val)
		}
		p.ApprovalsRequired = n
		return nil
	case "alerting":
		return boolean(&p.Alerting)
	case "environment":
		env, err := checkText(key, val, 0, 64)
		if err != nil {
			return err
		}
		p.Environment = env
		return nil
	case "product_url":
		p.ProductURL = val
		return checkProductURL(val)
	case "issuer":
		p.Issuer = val
		if val == "actas" {
			p.Issuer = ""
		}
		return checkIssuer(val)
	case "checkpoint_file":
		path, err := checkCheckpointFile(val)
		if err != nil {
			return invalid(key, "%s: %v", key, err)
		}
		p.CheckpointFile = path
		return nil
	case "alert_channels":
		return invalid(key, "alert_channels is gone: add channels with actas alert add (slack, email, webhook) and turn them on or off with alerting=true|false")
	}
	return invalid("key", "unknown policy key %q; keys are %s", key, strings.Join(PolicyKeys, ", "))
}

// MinDuration is the shortest duration a person can pick.
const MinDuration = time.Hour

// CheckDuration is the one rule for every duration a person can pick — a
// request's, an approval's, a consent's, the policy's default_duration:
// it lies within 1h..limit, where limit is the policy's max_duration (for
// consent, ConsentLimit). what names the value in the refusal.
func CheckDuration(what string, d, limit time.Duration) error {
	if d < MinDuration || d > limit {
		return invalid(what, "%s must be between %s and %s", what, FormatDuration(MinDuration), FormatDuration(limit))
	}
	return nil
}

// DurationLimit is the longest duration a person can pick under p: its
// max_duration.
func (p Policy) DurationLimit() time.Duration { return max(p.MaxDuration, MinDuration) }

// DefaultPick is the duration forms start on and a session without a
// request lasts: default_duration, brought within 1h..max_duration should
// an older database hold one outside.
func (p Policy) DefaultPick() time.Duration {
	return min(max(p.DefaultDuration, MinDuration), p.DurationLimit())
}

// ConsentLimit is the longest consent a person can grant under p: 168h,
// and never above max_duration.
func (p Policy) ConsentLimit() time.Duration { return min(MaxConsent, p.DurationLimit()) }

func checkPolicy(p Policy) error {
	if p.MaxDuration < MinDuration || p.MaxDuration > MaxConsent {
		return invalid("max_duration", "max_duration must be between 1h and 168h")
	}
	if err := CheckDuration("default_duration", p.DefaultDuration, p.MaxDuration); err != nil {
		return err
	}
	switch {
	case p.RequestTTL < time.Minute || p.RequestTTL > 30*24*time.Hour:
		return invalid("request_ttl", "request_ttl must be between 1m and 720h")
	case p.ApprovalsRequired < 1 || p.ApprovalsRequired > 2:
		return invalid("approvals_required", "approvals_required must be 1 or 2")
	}
	return nil
}

// SetPolicy applies KEY=VALUE changes all together, or none of them, and
// records one policy.changed event listing old and new values.
func (c *Core) SetPolicy(p Principal, changes map[string]string) (Policy, error) {
	n := change(CapSettings, "changing the policy")
	if err := c.check(p, n); err != nil {
		return Policy{}, err
	}
	if len(changes) == 0 {
		return Policy{}, invalid("key", "nothing to change: give KEY=VALUE pairs")
	}
	var np Policy
	err := c.update(func(t *txn) error {
		if _, err := authorize(t, p, n); err != nil {
			return err
		}
		old, err := t.currentPolicy()
		if err != nil {
			return err
		}
		np = old
		keys := make([]string, 0, len(changes))
		for k := range changes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if err := applyPolicy(&np, strings.ToLower(strings.TrimSpace(k)), changes[k]); err != nil {
				return err
			}
		}
		if err := checkPolicy(np); err != nil {
			return err
		}
		ov, nv := PolicyValues(old), PolicyValues(np)
		diff := map[string]any{}
		for k, v := range nv {
			if ov[k] != v {
				diff[k] = ov[k] + " -> " + v
			}
		}
		if len(diff) == 0 {
			return nil
		}
		if err := t.PutPolicy(np); err != nil {
			return err
		}
		t.policyChanged = true
		if _, err := t.record(Event{Type: EvPolicyChanged, Actor: p.ref(), Org: t.c.RootOrg().ID}, diff); err != nil {
			return err
		}
		if _, err := t.applyPolicyToSessions(old, np, p.ref()); err != nil {
			return err
		}
		pp := np
		t.publish(Change{Kind: ChangePolicy, Policy: &pp})
		return nil
	})
	return np, err
}

// ParseAssignments turns ["a=1", "b=2"] into a map, rejecting malformed ones.
func ParseAssignments(args []string) (map[string]string, error) {
	out := map[string]string{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, invalid("key", "%q is not KEY=VALUE", a)
		}
		out[strings.TrimSpace(k)] = v
	}
	return out, nil
}

// checkCheckpointFile validates a checkpoint_file path: empty (none), or an
// absolute path whose directory exists and which, if it exists, is a
// regular file that is empty or starts with a checkpoint. It should sit on other storage than the database, which
// actas cannot tell; the README says so.
func checkCheckpointFile(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	if hasUnsafe(path) || len(path) > 4096 {
		return "", fmt.Errorf("the path contains control characters or is too long")
	}
	if !filepath.IsAbs(path) {
		return "", fmt.Errorf("%q is not an absolute path", path)
	}
	path = filepath.Clean(path)
	if fi, err := os.Stat(filepath.Dir(path)); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("the folder %s does not exist", filepath.Dir(path))
	}
	fi, err := os.Stat(path)
	switch {
	case err != nil:
	case !fi.Mode().IsRegular():
		return "", fmt.Errorf("%s exists and is not a regular file", path)
	case fi.Size() > 0:
		// Checkpoints are only ever appended to a file of checkpoints, so a
		// policy cannot make actas write into some other file.
		f, err := os.Open(path)
		if err != nil {
			return "", fmt.Errorf("cannot read %s: %v", path, err)
		}
		head := make([]byte, len("actas/"))
		_, err = io.ReadFull(f, head)
		f.Close()
		if err != nil || string(head) != "actas/" {
			return "", fmt.Errorf("%s already holds something other than actas checkpoints; name a new file", path)
		}
	}
	return path, nil
}
