package hostkit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// APIError is an answer of actas's API other than 2xx: the status and the
// body {"error": {"code", "message"}}.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string {
	if e.Message != "" {
		return fmt.Sprintf("actas: %d %s: %s", e.Status, e.Code, e.Message)
	}
	return fmt.Sprintf("actas: %d %s", e.Status, http.StatusText(e.Status))
}

func (k *Kit) endpoint(path string) string {
	return k.base.String() + path
}

// call sends in as JSON (none when nil) with the API key and decodes a 2xx
// answer into out (when not nil).
func (k *Kit) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	return k.send(ctx, method, path, body, nil, out)
}

// send is call for a body already encoded; extra headers go along.
func (k *Kit) send(ctx context.Context, method, path string, body io.Reader, header http.Header, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, k.endpoint(path), body)
	if err != nil {
		return err
	}
	for h, v := range header {
		req.Header[h] = v
	}
	req.Header.Set("Authorization", "Bearer "+k.cfg.APIKey)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	limited := io.LimitReader(resp.Body, 1<<20)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &APIError{Status: resp.StatusCode}
		var eb struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.NewDecoder(limited).Decode(&eb) == nil {
			e.Code, e.Message = eb.Error.Code, eb.Error.Message
		}
		return e
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, limited)
		return nil
	}
	if err := json.NewDecoder(limited).Decode(out); err != nil {
		return fmt.Errorf("actas %s %s: %w", method, path, err)
	}
	return nil
}

// errUnreachable marks a failure to get an answer from actas at all.
var errUnreachable = errors.New("actas unreachable")

// statusOf is the HTTP status of an APIError, 0 for anything else.
func statusOf(err error) int {
	var e *APIError
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// gone reports an answer meaning the session no longer exists in actas.
func gone(err error) bool {
	s := statusOf(err)
	return s == http.StatusGone || s == http.StatusNotFound
}

// isTransient reports an error worth retrying: actas unreachable, overloaded
// or failing, rather than refusing.
func isTransient(err error) bool {
	if err == nil {
		return false
	}
	s := statusOf(err)
	if s == 0 {
		var ue *url.Error
		return errors.Is(err, errUnreachable) || errors.As(err, &ue)
	}
	return s == http.StatusTooManyRequests || s >= 500
}
