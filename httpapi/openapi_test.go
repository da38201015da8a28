package httpapi_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// The OpenAPI document describes exactly the routes the server serves:
// none missing from either side, each path parameter declared.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	w := newWorld(t)
	r := w.call(t, "GET", "/v1/openapi.json", "", nil)
	if r.status != 200 {
		t.Fatalf("openapi.json: %d", r.status)
	}
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	r.json(t, &doc)
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method, op := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+path)
			if _, ok := op["responses"]; !ok {
				t.Errorf("%s %s has no responses", method, path)
			}
			if strings.Contains(path, "{sid}") && !strings.Contains(string(mustJSON(op["parameters"])), "#/components/parameters/sid") {
				t.Errorf("%s %s does not declare {sid}", method, path)
			}
		}
	}
	served := w.api.Routes()
	slices.Sort(documented)
	slices.Sort(served)
	for _, s := range served {
		if !slices.Contains(documented, s) {
			t.Errorf("%s is served but not in openapi.json", s)
		}
	}
	for _, d := range documented {
		if !slices.Contains(served, d) {
			t.Errorf("%s is in openapi.json but not served", d)
		}
	}
	// And Routes is what the mux serves: each answers something other
	// than the catch-all's 404/405.
	for _, s := range served {
		method, path, _ := strings.Cut(s, " ")
		path = strings.ReplaceAll(path, "{sid}", "imp_99999999")
		if path == "/v1/stream" {
			w.openStream(t, "billing", "") // answers 200 text/event-stream, or fails
			continue
		}
		if r := w.call(t, method, path, "billing", nil); r.status == 405 || (r.status == 404 && r.errorCode(t) != "not_found") {
			t.Errorf("%s answers %d %s", s, r.status, r.body)
		} else if r.status == 404 && strings.Contains(string(r.body), "no such endpoint") {
			t.Errorf("%s is not routed: %s", s, r.body)
		}
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
