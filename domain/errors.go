package domain

import (
	"errors"
	"fmt"
	"strings"
)

// Kinds of domain error, matched with errors.Is. The transport maps each kind
// to a status (invalid 400, not found 404, conflict 409).
var (
	// ErrInvalid: the input breaks a validation rule; nothing was decided.
	ErrInvalid = errors.New("invalid input")
	// ErrNotFound: the request or attestation does not exist, or is not the
	// actor's to see or act on.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the command does not fit the current state (e.g. granting
	// a cancelled attestation).
	ErrConflict = errors.New("state conflict")
)

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
