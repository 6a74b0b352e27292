package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	"github.com/pb33f/libopenapi/datamodel/high/base"

	"github.com/arena-dev/arena/api"
)

// Every response the end-to-end tests receive from /api/v1, through the
// CLI, the Go client or by hand, passes through contract, which checks it
// against the OpenAPI document the server serves (api/openapi.json): its
// status, content type and body, and for event streams each event's data.
// A response that breaks the contract fails the request that got it, so
// the document cannot drift from the code.
func TestMain(m *testing.M) {
	c, err := newContract(api.OpenAPI)
	if err != nil {
		fmt.Fprintln(os.Stderr, "the OpenAPI document does not load:", err)
		os.Exit(2)
	}
	http.DefaultTransport = &contractTransport{base: http.DefaultTransport, contract: c}
	code := m.Run()
	if code == 0 && c.checked.Load() == 0 && !testing.Short() {
		fmt.Fprintln(os.Stderr, "no API response was checked against the OpenAPI document")
	}
	os.Exit(code)
}

type contract struct {
	mu      sync.Mutex // the validator's caches are not documented as safe for concurrent use
	v       validator.Validator
	schemas map[string]*base.Schema // event kinds' data
	events  schema_validation.SchemaValidator
	checked atomic.Int64
}

func newContract(doc []byte) (*contract, error) {
	d, err := libopenapi.NewDocument(doc)
	if err != nil {
		return nil, err
	}
	v, errs := validator.NewValidator(d)
	if len(errs) > 0 {
		return nil, fmt.Errorf("%v", errs)
	}
	model, err := d.BuildV3Model()
	if err != nil {
		return nil, err
	}
	schemas := map[string]*base.Schema{}
	for event, name := range map[string]string{"submission": "Submission", "champion": "Champion"} {
		proxy := model.Model.Components.Schemas.GetOrZero(name)
		if proxy == nil {
			return nil, fmt.Errorf("no schema %s for %s events", name, event)
		}
		schemas[event] = proxy.Schema()
	}
	return &contract{v: v, schemas: schemas, events: schema_validation.NewSchemaValidator()}, nil
}

// check validates one response; its body is read and put back.
func (c *contract) check(req *http.Request, resp *http.Response) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checked.Add(1)
	if ok, errs := c.v.ValidateHttpResponse(req, resp); !ok {
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s answered %d, which breaks the OpenAPI document:", req.Method, req.URL.Path, resp.StatusCode)
		for _, e := range errs {
			fmt.Fprintf(&b, "\n  %s: %s", e.Message, e.Reason)
			for _, se := range e.SchemaValidationErrors {
				fmt.Fprintf(&b, "\n    %s: %s", se.FieldPath, se.Reason)
			}
		}
		return fmt.Errorf("%s", b.String())
	}
	return nil
}

// checkEvent validates one server-sent event's data.
func (c *contract) checkEvent(path, event string, data []byte) error {
	schema, ok := c.schemas[event]
	if !ok {
		return fmt.Errorf("%s sent an event %q the OpenAPI document does not describe", path, event)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checked.Add(1)
	if ok, errs := c.events.ValidateSchemaBytes(schema, data); !ok {
		var b strings.Builder
		fmt.Fprintf(&b, "%s sent a %s event that breaks the OpenAPI document: %s", path, event, data)
		for _, e := range errs {
			fmt.Fprintf(&b, "\n  %s: %s", e.Message, e.Reason)
			for _, se := range e.SchemaValidationErrors {
				fmt.Fprintf(&b, "\n    %s: %s", se.FieldPath, se.Reason)
			}
		}
		return fmt.Errorf("%s", b.String())
	}
	return nil
}

type contractTransport struct {
	base     http.RoundTripper
	contract *contract
}

func (t *contractTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil || !strings.HasPrefix(req.URL.Path, "/api/v1/") {
		return resp, err
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		// Streams last: their status and type now, each event as it comes.
		if err := t.contract.check(req, &http.Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: http.NoBody, Request: req}); err != nil {
			resp.Body.Close()
			return nil, err
		}
		resp.Body = &eventChecker{body: resp.Body, path: req.URL.Path, contract: t.contract}
		return resp, nil
	}
	if err := t.contract.check(req, resp); err != nil {
		resp.Body.Close()
		return nil, err
	}
	return resp, nil
}

// eventChecker passes an event stream through, checking each event's
// data as its blank line ends it; a bad one ends the stream with the
// reason.
type eventChecker struct {
	body     io.ReadCloser
	path     string
	contract *contract
	pending  bytes.Buffer // bytes read, not yet split into lines
	event    string
	failed   error
}

func (e *eventChecker) Read(p []byte) (int, error) {
	if e.failed != nil {
		return 0, e.failed
	}
	n, err := e.body.Read(p)
	e.pending.Write(p[:n])
	for {
		line, rest, ok := bytes.Cut(e.pending.Bytes(), []byte("\n"))
		if !ok {
			break
		}
		switch {
		case bytes.HasPrefix(line, []byte("event: ")):
			e.event = string(line[len("event: "):])
		case bytes.HasPrefix(line, []byte("data: ")):
			if cerr := e.contract.checkEvent(e.path, e.event, line[len("data: "):]); cerr != nil {
				e.failed = cerr
				return 0, cerr
			}
		}
		next := append([]byte(nil), rest...)
		e.pending.Reset()
		e.pending.Write(next)
	}
	return n, err
}

func (e *eventChecker) Close() error { return e.body.Close() }

// TestContractCatchesDrift: the checker the end-to-end tests rely on
// refuses responses that break the document: a wrong type, a field the
// document lacks, an undocumented status, a bad event.
func TestContractCatchesDrift(t *testing.T) {
	t.Parallel()
	c, err := newContract(api.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	respond := func(status int, body string) *http.Response {
		return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body))}
	}
	get := func(path string) *http.Request {
		r, _ := http.NewRequest("GET", "http://127.0.0.1/api/v1"+path, nil)
		return r
	}
	good := `{"queued":0,"running":0,"oldest_queued_at":null,"jobs":[],"stream":{"undelivered":0,"in_flight":0,"redelivered":0,"waiting":0}}`
	if err := c.check(get("/queue"), respond(200, good)); err != nil {
		t.Errorf("a good queue: %v", err)
	}
	for name, bad := range map[string]*http.Response{
		"a string for a count":  respond(200, strings.Replace(good, `"queued":0`, `"queued":"0"`, 1)),
		"an undocumented field": respond(200, strings.Replace(good, `"running":0`, `"running":0,"paused":1`, 1)),
		"a missing field":       respond(200, strings.Replace(good, `"jobs":[],`, ``, 1)),
		"an error without code": respond(404, `{"error":{"message":"no"}}`),
	} {
		if err := c.check(get("/queue"), bad); err == nil {
			t.Errorf("%s passes", name)
		}
	}
	if err := c.check(get("/nowhere"), respond(200, `{}`)); err == nil {
		t.Errorf("an undocumented path passes")
	}
	if err := c.checkEvent("/api/v1/submissions/x/events", "submission", []byte(`{"id":"x"}`)); err == nil {
		t.Errorf("a submission event without its fields passes")
	}
	stream := "event: champion\ndata: {\"challenge\":1}\n\n"
	r := &eventChecker{body: io.NopCloser(strings.NewReader(stream)), path: "/api/v1/challenges/x/champion/events", contract: c}
	if _, err := io.ReadAll(bufio.NewReader(r)); err == nil || !strings.Contains(err.Error(), "breaks the OpenAPI document") {
		t.Errorf("a bad champion event in a stream: %v", err)
	}
}
