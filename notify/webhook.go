package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/actas/actas/core"
)

// Standard Webhooks (https://www.standardwebhooks.com): the headers and
// the signature scheme a receiver checks.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// WebhookPayload is the JSON body of a webhook: the notice's type, the
// time it was sent, and the notice.
type WebhookPayload struct {
	Type      string      `json:"type"`
	Timestamp time.Time   `json:"timestamp"`
	Data      WebhookData `json:"data"`
}

// WebhookData is the notice with the message's ID.
type WebhookData struct {
	ID string `json:"id"`
	core.Notice
}

// secretKey decodes a whsec_ secret into the HMAC key.
func secretKey(secret string) ([]byte, error) {
	b64, ok := strings.CutPrefix(secret, "whsec_")
	if !ok {
		return nil, errors.New("webhook secret does not start with whsec_")
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, errors.New("webhook secret is not base64 after whsec_")
	}
	return key, nil
}

// Sign returns the webhook-signature value for a message: "v1," and the
// base64 HMAC-SHA256 of "id.timestamp.body" under the secret's key.
func Sign(secret, id string, ts int64, body []byte) (string, error) {
	key, err := secretKey(secret)
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%d.", id, ts)
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// Tolerance is how far a webhook's timestamp may be from the receiver's
// clock, against replays.
const Tolerance = 5 * time.Minute

// Verify checks a received webhook as a receiver does: the timestamp is
// recent and one of the space-separated signatures matches (in constant
// time). It returns the message ID.
func Verify(secret string, h http.Header, body []byte, now time.Time) (string, error) {
	id, tsText, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || tsText == "" || sigs == "" {
		return "", errors.New("missing webhook-id, webhook-timestamp or webhook-signature")
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return "", errors.New("webhook-timestamp is not a number")
	}
	if d := now.Sub(time.Unix(ts, 0)); d > Tolerance || d < -Tolerance {
		return "", errors.New("webhook-timestamp is too far from now")
	}
	want, err := Sign(secret, id, ts, body)
	if err != nil {
		return "", err
	}
	for _, s := range strings.Fields(sigs) {
		if hmac.Equal([]byte(s), []byte(want)) {
			return id, nil
		}
	}
	return "", errors.New("no signature matches")
}

func (s *Sender) webhook(ctx context.Context, ch core.Channel, m core.OutboxMessage) error {
	now := time.Now()
	body, err := json.Marshal(WebhookPayload{Type: m.Notice.Type, Timestamp: now.UTC().Truncate(time.Second),
		Data: WebhookData{ID: m.ID, Notice: m.Notice}})
	if err != nil {
		return err
	}
	sig, err := Sign(ch.Secret, m.ID, now.Unix(), body)
	if err != nil {
		return fmt.Errorf("channel %s: %v", ch.ID, err)
	}
	h := http.Header{}
	h.Set(HeaderID, m.ID)
	h.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	h.Set(HeaderSignature, sig)
	return s.post(ctx, ch, h, body)
}
