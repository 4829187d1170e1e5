package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/attestation-ledger/attestation-ledger/domain"
)

// MaxBodyBytes is the largest accepted request body (API.md: 1 MiB).
const MaxBodyBytes = 1 << 20

// decodeBody decodes a JSON request body strictly into dst: the right
// content type, at most MaxBodyBytes, no unknown field, no key given twice
// or spelled in another case (checkJSONKeys), exactly one JSON value. It
// returns the body's bytes for hashing.
func decodeBody(r *http.Request, dst any) ([]byte, error) {
	body, err := readJSONBody(r)
	if err != nil {
		return nil, err
	}
	if err := decodeStrict(body, dst); err != nil {
		return nil, err
	}
	return body, nil
}

// readJSONBody reads a JSON request body, undecoded: the right content
// type (or none), at most MaxBodyBytes.
func readJSONBody(r *http.Request) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return nil, errUnsupportedMedia
		}
	}
	return readBody(r, MaxBodyBytes, errTooLarge)
}

// readBody reads a request body of at most limit bytes (tooLarge beyond).
func readBody(r *http.Request, limit int, tooLarge error) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading the body: %v", domain.ErrInvalid, err)
	}
	if len(body) > limit {
		return nil, tooLarge
	}
	return body, nil
}

// decodeStrict decodes one JSON value strictly into dst (a pointer to a
// struct): no unknown field, no key given twice or spelled in another case
// (checkJSONKeys), exactly one value. A request body and a batch line are
// read by it alike.
func decodeStrict(body []byte, dst any) error {
	if err := checkJSONKeys(body, dst); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return &domain.ValidationError{Errors: []domain.FieldError{{Field: "", Message: "the body must hold one JSON object only"}}}
	}
	return nil
}

// jsonError turns a decoding error into a field error where it can.
func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		field := te.Field
		return &domain.ValidationError{Errors: []domain.FieldError{{Field: field, Message: fmt.Sprintf("must be a JSON %s", jsonKind(te.Type.Kind().String()))}}}
	case errors.As(err, &se):
		return &domain.ValidationError{Errors: []domain.FieldError{{Field: "", Message: fmt.Sprintf("malformed JSON at byte %d", se.Offset)}}}
	case errors.Is(err, io.EOF):
		return &domain.ValidationError{Errors: []domain.FieldError{{Field: "", Message: "the body is empty"}}}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &domain.ValidationError{Errors: []domain.FieldError{{Field: name, Message: "unknown field"}}}
	default:
		return &domain.ValidationError{Errors: []domain.FieldError{{Field: "", Message: err.Error()}}}
	}
}

func jsonKind(k string) string {
	switch k {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "number"
	case "struct", "map":
		return "object"
	case "slice", "array":
		return "array"
	}
	return k
}
