package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// conformance checks real requests and responses against openapi.json,
// and records which documented (path, method, status) were exercised.
//
// Use it from any test of this package:
//
//	c := newConformance(t)
//	resp, body := c.do(t, srv.Client(), req)      // send, read, check
//	resp, body := c.serve(t, handler, req)        // same, in process
//	c.check(t, req, reqBody, resp, respBody)      // check an exchange made elsewhere
//
// A check fails the test when:
//   - the response (status, headers, content type, body) does not match the
//     document; response objects are checked strictly: a property the
//     document does not list is an error (the published document lets
//     clients expect additions, the tests keep it exact);
//   - a problem's status differs from the HTTP status;
//   - the server answered 1xx-3xx to a request the document says is invalid
//     (a 4xx to an invalid request is the expected answer, and a 400 to a
//     valid-looking one is fine: the document cannot express every rule,
//     e.g. the SIREN checksum);
//   - the request matches no documented path and method, unless the server
//     answered with a 404 (or 429) problem, as it does for unknown paths.
//
// Coverage of the documented responses is printed after the package's
// tests by TestMain (the list of missing ones with -v). A package has one
// TestMain: if another is needed, call conformanceReport from it.
type conformance struct {
	doc    *openapi3.T
	router routers.Router
	cov    *coverage
}

// coverageKey is one documented response: the path template, the method
// and the status.
type coverageKey struct {
	path, method string
	status       int
}

type coverage struct {
	mu   sync.Mutex
	hits map[coverageKey]int
}

func (c *coverage) record(k coverageKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hits[k]++
}

var (
	conformanceOnce   sync.Once
	conformanceDoc    *openapi3.T
	conformanceRouter routers.Router
	conformanceErr    error
	// sharedCoverage gathers what every newConformance records.
	sharedCoverage = &coverage{hits: map[coverageKey]int{}}
)

// loadConformanceDoc loads openapi.json once, validated, with its response
// schemas made strict.
func loadConformanceDoc() (*openapi3.T, routers.Router, error) {
	conformanceOnce.Do(func() {
		doc, err := loadOpenAPI(context.Background())
		if err != nil {
			conformanceErr = err
			return
		}
		closeObjectSchemas(doc)
		conformanceDoc = doc
		conformanceRouter, conformanceErr = gorillamux.NewRouter(doc)
	})
	return conformanceDoc, conformanceRouter, conformanceErr
}

// loadOpenAPI loads and validates the embedded document.
func loadOpenAPI(ctx context.Context) (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	loader.Context = ctx
	doc, err := loader.LoadFromData(openAPIDoc)
	if err != nil {
		return nil, fmt.Errorf("load openapi.json: %w", err)
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, fmt.Errorf("validate openapi.json: %w", err)
	}
	return doc, nil
}

// closeObjectSchemas forbids undocumented properties in every schema that
// lists properties and says nothing of additional ones.
func closeObjectSchemas(doc *openapi3.T) {
	seen := map[*openapi3.Schema]bool{}
	var walk func(ref *openapi3.SchemaRef)
	walk = func(ref *openapi3.SchemaRef) {
		if ref == nil || ref.Value == nil || seen[ref.Value] {
			return
		}
		s := ref.Value
		seen[s] = true
		if len(s.Properties) > 0 && s.AdditionalProperties.Has == nil && s.AdditionalProperties.Schema == nil {
			no := false
			s.AdditionalProperties.Has = &no
		}
		for _, p := range s.Properties {
			walk(p)
		}
		walk(s.Items)
		walk(s.AdditionalProperties.Schema)
		for _, subs := range []openapi3.SchemaRefs{s.OneOf, s.AnyOf, s.AllOf} {
			for _, sub := range subs {
				walk(sub)
			}
		}
	}
	for _, s := range doc.Components.Schemas {
		walk(s)
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			for _, r := range op.Responses.Map() {
				if r.Value == nil {
					continue
				}
				for _, mt := range r.Value.Content {
					walk(mt.Schema)
				}
			}
		}
	}
}

// newConformance returns the checker; its checks count in the coverage
// report.
func newConformance(t testing.TB) *conformance {
	t.Helper()
	doc, router, err := loadConformanceDoc()
	if err != nil {
		t.Fatal(err)
	}
	return &conformance{doc: doc, router: router, cov: sharedCoverage}
}

// bearerOnly is the document's security: a bearer token must be present
// (the server, not the document, checks that it is valid).
func bearerOnly(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	if in.SecuritySchemeName != "bearerAuth" {
		return fmt.Errorf("unknown security scheme %q", in.SecuritySchemeName)
	}
	token, ok := strings.CutPrefix(in.RequestValidationInput.Request.Header.Get("Authorization"), "Bearer ")
	if !ok || strings.TrimSpace(token) == "" {
		return errors.New("no bearer token")
	}
	return nil
}

// CheckConformance checks one exchange against openapi.json and counts it
// in the coverage report, for the tests of package httpapi_test:
//
//	httpapi.CheckConformance(t, req, nil, resp, body)
//
// reqBody may be nil: the request body is then read again with
// req.GetBody (which http.NewRequest sets for bytes, strings and
// bytes.Buffer readers). See conformance for what fails a check.
func CheckConformance(t testing.TB, req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) {
	t.Helper()
	newConformance(t).check(t, req, reqBody, resp, respBody)
}

// check validates one exchange: req as sent with body reqBody (nil for
// none, or to read it with req.GetBody), and resp as received with body
// respBody. Neither body is read from req or resp.
func (c *conformance) check(t testing.TB, req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) {
	t.Helper()
	ctx := context.Background()
	where := fmt.Sprintf("%s %s → %d", req.Method, req.URL.RequestURI(), resp.StatusCode)

	if reqBody == nil && req.GetBody != nil {
		if rc, err := req.GetBody(); err == nil {
			reqBody, _ = io.ReadAll(rc)
			_ = rc.Close()
		}
	}
	// The server reads a body without Content-Type as JSON.
	r := req.Clone(ctx)
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	r.ContentLength = int64(len(reqBody))
	if len(reqBody) > 0 && r.Header.Get("Content-Type") == "" {
		r.Header.Set("Content-Type", "application/json")
	}

	if resp.Header.Get("X-Request-Id") == "" {
		t.Errorf("%s: no X-Request-Id header", where)
	}
	isProblem := mediaType(resp.Header.Get("Content-Type")) == "application/problem+json"
	if isProblem {
		var p struct {
			Status int `json:"status"`
		}
		if err := json.Unmarshal(respBody, &p); err == nil && p.Status != resp.StatusCode {
			t.Errorf("%s: the problem's status is %d", where, p.Status)
		}
	}

	route, params, err := c.router.FindRoute(r)
	if err != nil {
		// Not a documented operation: the server answers 404, 405 for a
		// known path with another method, or 429.
		key := coverageKey{path: "(undocumented)", method: req.Method, status: resp.StatusCode}
		c.cov.record(key)
		if (resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed && resp.StatusCode != http.StatusTooManyRequests) || !isProblem {
			t.Errorf("%s: not a documented operation (%v), yet not a 404, 405 or 429 problem", where, err)
			return
		}
		if err := c.doc.Components.Schemas["Problem"].Value.VisitJSON(decodeJSON(respBody), openapi3.EnableJSONSchema2020(),
			openapi3.SetSchemaErrorMessageCustomizer(shortSchemaError)); err != nil {
			t.Errorf("%s: problem body: %v\nbody: %s", where, err, clip(respBody))
		}
		return
	}
	c.cov.record(coverageKey{path: route.Path, method: req.Method, status: resp.StatusCode})

	reqOpts := &openapi3filter.Options{AuthenticationFunc: bearerOnly, SkipSettingDefaults: true, MultiError: true}
	reqOpts.WithCustomSchemaErrorFunc(shortSchemaError)
	// No decoder for NDJSON (a batch): its lines, bad ones included, are
	// each answered on their own, which the batch tests check.
	reqOpts.ExcludeRequestBody = mediaType(r.Header.Get("Content-Type")) == "application/x-ndjson"
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: reqOpts}
	reqErr := openapi3filter.ValidateRequest(ctx, in)
	if reqErr != nil && resp.StatusCode < 400 {
		t.Errorf("%s: the server accepted a request the document says is invalid: %v", where, reqErr)
	}

	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	out.Options.WithCustomSchemaErrorFunc(shortSchemaError)
	ndjson := mediaType(resp.Header.Get("Content-Type")) == "application/x-ndjson"
	if ndjson {
		// No decoder for NDJSON: check each line against the schema.
		out.Options.ExcludeResponseBody = true
		c.checkNDJSON(t, where, route, resp, respBody)
	}
	out.SetBodyBytes(respBody)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		t.Errorf("%s: response does not match the document: %v\nbody: %s", where, err, clip(respBody))
	}
}

// checkNDJSON checks every line of an NDJSON body against the schema of
// the response's application/x-ndjson content.
func (c *conformance) checkNDJSON(t testing.TB, where string, route *routers.Route, resp *http.Response, body []byte) {
	t.Helper()
	r := route.Operation.Responses.Status(resp.StatusCode)
	if r == nil || r.Value == nil || r.Value.Content["application/x-ndjson"] == nil {
		t.Errorf("%s: no application/x-ndjson response documented", where)
		return
	}
	schema := r.Value.Content["application/x-ndjson"].Schema.Value
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		var v any
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Errorf("%s: line %d is not JSON: %v", where, n, err)
			continue
		}
		if err := schema.VisitJSON(v, openapi3.EnableJSONSchema2020(), openapi3.VisitAsResponse(),
			openapi3.SetSchemaErrorMessageCustomizer(shortSchemaError)); err != nil {
			t.Errorf("%s: line %d: %v", where, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		t.Errorf("%s: %v", where, err)
	}
	if len(body) > 0 && body[len(body)-1] != '\n' {
		t.Errorf("%s: the last line has no newline", where)
	}
}

// documented lists every (path, method, status) the document describes.
func (c *conformance) documented() []coverageKey {
	var out []coverageKey
	for path, item := range c.doc.Paths.Map() {
		for method, op := range item.Operations() {
			for code := range op.Responses.Map() {
				if status, err := strconv.Atoi(code); err == nil {
					out = append(out, coverageKey{path: path, method: method, status: status})
				}
			}
		}
	}
	slices.SortFunc(out, compareKeys)
	return out
}

func compareKeys(a, b coverageKey) int {
	if c := strings.Compare(a.path, b.path); c != 0 {
		return c
	}
	if c := strings.Compare(a.method, b.method); c != 0 {
		return c
	}
	return a.status - b.status
}

// report summarises the coverage: how many documented responses were
// exercised and, if verbose, which were not.
func (c *conformance) report(verbose bool) string {
	c.cov.mu.Lock()
	hits := make(map[coverageKey]int, len(c.cov.hits))
	for k, v := range c.cov.hits {
		hits[k] = v
	}
	c.cov.mu.Unlock()
	if len(hits) == 0 {
		return ""
	}
	docd := c.documented()
	var b strings.Builder
	covered := 0
	var missing []string
	for _, k := range docd {
		if hits[k] > 0 {
			covered++
		} else {
			missing = append(missing, fmt.Sprintf("  %-7s %-48s %d", k.method, k.path, k.status))
		}
	}
	fmt.Fprintf(&b, "openapi conformance: %d of %d documented responses exercised\n", covered, len(docd))
	if verbose {
		var extra []string
		for k, n := range hits {
			if !slices.Contains(docd, k) {
				extra = append(extra, fmt.Sprintf("  %-7s %-48s %d (×%d)", k.method, k.path, k.status, n))
			}
		}
		slices.Sort(extra)
		if len(missing) > 0 {
			fmt.Fprintf(&b, "not exercised:\n%s\n", strings.Join(missing, "\n"))
		}
		if len(extra) > 0 {
			fmt.Fprintf(&b, "exercised but not documented:\n%s\n", strings.Join(extra, "\n"))
		}
	}
	return b.String()
}

// conformanceReport is the coverage report of every newConformance
// checker, or "" if none checked anything.
func conformanceReport(verbose bool) string {
	doc, _, err := loadConformanceDoc()
	if err != nil {
		return ""
	}
	return (&conformance{doc: doc, cov: sharedCoverage}).report(verbose)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if r := conformanceReport(testing.Verbose()); r != "" {
		fmt.Print(r)
	}
	os.Exit(code)
}

// shortSchemaError states a schema error without the schema and value
// (the body is shown once, after the errors).
func shortSchemaError(err *openapi3.SchemaError) string {
	if strings.HasPrefix(err.Reason, "Error at ") {
		return err.Reason
	}
	return fmt.Sprintf("at /%s: %s", strings.Join(err.JSONPointer(), "/"), err.Reason)
}

func mediaType(ct string) string {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return ct
	}
	return mt
}

func decodeJSON(b []byte) any {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return string(b)
	}
	return v
}

func clip(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "…"
	}
	return string(b)
}
