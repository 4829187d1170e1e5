package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/attestation-ledger/attestation-ledger/handlers/httpapi"
)

// checkConformance validates every request and response of the end-to-end
// tests against the OpenAPI document (see conformance_test.go).
func checkConformance(t testing.TB, req *http.Request, resp *http.Response, body []byte) {
	t.Helper()
	httpapi.CheckConformance(t, req, nil, resp, body)
}
