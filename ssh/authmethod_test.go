package ssh

import (
	"strings"
	"testing"
)

// TestAuthMethodNameIsNotStored: the method name comes from a client that
// has not authenticated; only known names reach the audit reason.
func TestAuthMethodNameIsNotStored(t *testing.T) {
	evil := "=HYPERLINK(\"http://x\")\x1b]8;;http://x\x07" + strings.Repeat("A", 200<<10)
	g := &connGuard{}
	g.authFailed(evil)
	if strings.Contains(g.why, "HYPERLINK") || strings.ContainsRune(g.why, 0x1b) || len(g.why) > 200 {
		t.Fatalf("the client's method name reached the reason: %.80q (%d bytes)", g.why, len(g.why))
	}
	if !strings.HasPrefix(g.why, "other ") {
		t.Errorf("reason %q, want it to name the method other", g.why)
	}
	g = &connGuard{}
	g.authFailed("password")
	if !strings.HasPrefix(g.why, "password ") {
		t.Errorf("a known method: %q", g.why)
	}
}
