package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/arena-dev/arena/api"
)

// TestOpenAPIDocumentIsValid checks the served document against the
// OpenAPI 3.1 schema.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	t.Parallel()
	doc, err := libopenapi.NewDocument(api.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	if v := doc.GetVersion(); v != "3.1.0" {
		t.Errorf("OpenAPI version %q, want 3.1.0", v)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("%s: %s", e.Message, e.Reason)
			for _, se := range e.SchemaValidationErrors {
				t.Errorf("  %s: %s", se.FieldPath, se.Reason)
			}
		}
	}
}

// TestOpenAPICoversEveryRoute: every /api/v1 route the router serves is in
// the document with its method, and the document names no route the
// router lacks.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	t.Parallel()
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(api.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	var documented []string
	for path, item := range doc.Paths {
		for method := range item {
			if method != "parameters" {
				documented = append(documented, strings.ToUpper(method)+" "+path)
			}
		}
	}
	var routed []string
	r := (&api.Server{}).Router(nil).(chi.Routes)
	_ = chi.Walk(r, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if rest, ok := strings.CutPrefix(route, "/api/v1"); ok {
			rest = strings.TrimSuffix(rest, "/")
			if rest == "" || strings.HasSuffix(rest, "/*") {
				return nil
			}
			routed = append(routed, method+" "+rest)
		}
		return nil
	})
	slices.Sort(documented)
	slices.Sort(routed)
	routed = slices.Compact(routed)
	if !slices.Equal(documented, routed) {
		t.Errorf("the document's operations differ from the router's:\ndocumented %v\nrouted     %v", documented, routed)
	}
}

// TestOpenAPIIsServed: the document the tests check against is the one
// served.
func TestOpenAPIIsServed(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, serverOptions{})
	a := ts.do(t, "GET", "/api/v1/openapi.json", "", "", nil)
	if a.status != 200 || a.header.Get("Content-Type") != "application/json" || !bytes.Equal(a.body, api.OpenAPI) {
		t.Errorf("GET /api/v1/openapi.json: %d %q, %d bytes", a.status, a.header.Get("Content-Type"), len(a.body))
	}
}
