package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/actas/actas/core"
)

// errorBody is DESIGN's error shape: {"error": {"code", "message"}}.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// statusOf is the one mapping from core's refusal codes to HTTP statuses.
func statusOf(code core.Code) int {
	switch code {
	case core.CodeUnauthenticated:
		return http.StatusUnauthorized
	case core.CodeNotFound:
		return http.StatusNotFound
	case core.CodeTicketUsed, core.CodeTicketExpired, core.CodeSessionEnded:
		return http.StatusGone
	case core.CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case core.CodeInvalid:
		return http.StatusUnprocessableEntity
	case core.CodeRateLimited:
		return http.StatusTooManyRequests
	case core.CodeConflict:
		return http.StatusConflict
	case core.CodeAuditFailed:
		return http.StatusServiceUnavailable
	case "":
		return http.StatusInternalServerError
	}
	// Every other refusal (not_permitted, feature_disabled, …) is a
	// permission the key does not have.
	return http.StatusForbidden
}

// fail writes err as the JSON error body. Errors that are not core's
// refusals are logged and shown only as "internal error".
func (s *Server) fail(w http.ResponseWriter, err error) {
	var ce *core.Error
	if !errors.As(err, &ce) {
		if s.log != nil {
			s.log.Error("http request failed", "err", err)
		}
		writeJSONError(w, http.StatusInternalServerError, "internal", "internal error; the server log has the details")
		return
	}
	status := statusOf(ce.Code)
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	msg := ce.Message
	if status == http.StatusServiceUnavailable {
		msg = "the audit log could not be written, so nothing was changed; try again"
	}
	writeJSONError(w, status, string(ce.Code), msg)
}

func writeJSONError(w http.ResponseWriter, status int, code, message string) {
	b, _ := json.Marshal(errorBody{Error: errorDetail{Code: code, Message: message}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// decodeJSON reads one JSON object of at most limit bytes into v: unknown
// fields, wrong types, trailing data and malformed JSON are invalid (422);
// a body past the limit is too large (413) and is cut off at read, not
// buffered.
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	dec.UseNumber()
	err := dec.Decode(v)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			err = errTrailing
		}
	}
	if err == nil {
		return nil
	}
	var tooBig *http.MaxBytesError
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooBig):
		return &core.Error{Code: core.CodeTooLarge, Message: fmt.Sprintf("the request body is larger than %d KB", limit>>10)}
	case errors.Is(err, io.EOF):
		return errEmptyBody
	case errors.Is(err, errTrailing):
		return &core.Error{Code: core.CodeInvalid, Message: "the request body holds more than one JSON value"}
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return &core.Error{Code: core.CodeInvalid, Message: "the request body is not valid JSON: " + err.Error()}
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "the body"
		}
		return &core.Error{Code: core.CodeInvalid, Field: field, Message: fmt.Sprintf("%s must be %s, not %s", field, jsonKind(typ.Type.Kind().String()), typ.Value)}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return &core.Error{Code: core.CodeInvalid, Message: "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")}
	}
	return &core.Error{Code: core.CodeInvalid, Message: "the request body does not fit: " + err.Error()}
}

var errTrailing = errors.New("trailing data")

// errEmptyBody is decodeJSON's answer to a body with nothing in it.
var errEmptyBody = &core.Error{Code: core.CodeInvalid, Message: "the request body is empty; send a JSON object"}

// jsonKind names a Go kind as JSON calls it.
func jsonKind(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "map", "struct":
		return "an object"
	case "slice", "array":
		return "an array"
	case "int", "int64", "float64":
		return "a number"
	}
	return "a " + kind
}
