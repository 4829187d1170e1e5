package domain

import (
	"fmt"
	"strings"
)

// Kinds of domain error, matched with errors.Is. Each carries its kind in
// the ledger's error vocabulary (internal/errs, whose strings ErrorKind
// returns: the domain imports only the standard library), which the
// transport maps to a status (invalid 400, not found 404, conflict 409).
var (
	// ErrInvalid: the input breaks a validation rule; nothing was decided.
	ErrInvalid error = &kindError{msg: "invalid input", kind: "validation"}
	// ErrNotFound: the request or attestation does not exist, or is not the
	// actor's to see or act on.
	ErrNotFound error = &kindError{msg: "not found", kind: "not-found"}
	// ErrConflict: the command does not fit the current state (e.g. granting
	// a cancelled attestation).
	ErrConflict error = &kindError{msg: "state conflict", kind: "state-conflict"}
)

// kindError is a domain sentinel with its kind.
type kindError struct{ msg, kind string }

func (e *kindError) Error() string { return e.msg }

// ErrorKind returns the kind's name in the ledger's error vocabulary.
func (e *kindError) ErrorKind() string { return e.kind }

// FieldError is one invalid field of an input.
type FieldError struct {
	// Field is the JSON path of the field, e.g. "company.nafCode".
	Field string `json:"field"`
	// Message says what is wrong, in English.
	Message string `json:"message"`
}

// ValidationError lists every invalid field of an input. It matches
// ErrInvalid.
type ValidationError struct {
	Errors []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Errors))
	for i, f := range e.Errors {
		parts[i] = f.Field + ": " + f.Message
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// Is makes a ValidationError match ErrInvalid.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// ErrorKind returns the kind's name in the ledger's error vocabulary.
func (e *ValidationError) ErrorKind() string { return "validation" }

// validator collects field errors.
type validator struct{ errs []FieldError }

func (v *validator) add(field, format string, args ...any) {
	v.errs = append(v.errs, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// check records err, if any, against field.
func (v *validator) check(field string, err error) {
	if err != nil {
		v.errs = append(v.errs, FieldError{Field: field, Message: err.Error()})
	}
}

func (v *validator) err() error {
	if len(v.errs) == 0 {
		return nil
	}
	return &ValidationError{Errors: v.errs}
}

func invalidField(field, format string, args ...any) error {
	return &ValidationError{Errors: []FieldError{{Field: field, Message: fmt.Sprintf(format, args...)}}}
}

func conflictf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrConflict, fmt.Sprintf(format, args...))
}

func notFoundf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrNotFound, fmt.Sprintf(format, args...))
}
