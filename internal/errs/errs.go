// Package errs is the ledger's one error vocabulary: a small set of kinds
// that every package's errors carry, so that the transport can map a kind to
// a status in one table (handlers/httpapi's problem table) and no client
// mistake ever answers 500.
//
// An error has a kind when any error in its chain has the method
//
//	ErrorKind() string
//
// returning one of the Kind values below. The domain package, which may
// import only the standard library, implements that method on its own
// error values with the same strings; every other package makes its
// sentinels with New and wraps causes with Wrap or Errorf.
package errs

import (
	"context"
	"errors"
	"fmt"
)

// Kind classifies an error by what the caller can do about it.
//
// WARNING: the strings are part of the public contract: they are the last
// segment of the problem type URIs the API answers with.
type Kind string

// The kinds. Internal is what an error without a kind is.
const (
	// Invalid: the input breaks a rule of shape or value; nothing was done.
	Invalid Kind = "validation"
	// Unauthenticated: no credentials, or credentials that do not verify.
	Unauthenticated Kind = "unauthenticated"
	// Forbidden: the caller's role may not do this at all.
	Forbidden Kind = "forbidden"
	// NotFound: no such resource, or not the caller's to see.
	NotFound Kind = "not-found"
	// Conflict: the operation does not fit the current state.
	Conflict Kind = "state-conflict"
	// TooLarge: the request is larger than allowed.
	TooLarge Kind = "too-large"
	// UnsupportedMedia: the request's content type is not accepted.
	UnsupportedMedia Kind = "unsupported-media-type"
	// MethodNotAllowed: the resource exists but not with this method.
	MethodNotAllowed Kind = "method-not-allowed"
	// TooBusy: the caller (or everyone) must slow down and retry later.
	TooBusy Kind = "too-many-requests"
	// Unavailable: a dependency (the store, the read models) did not
	// answer in time; retrying later may work.
	Unavailable Kind = "unavailable"
	// Internal: a fault of the server; the client can do nothing about it.
	Internal Kind = "internal"
)

// Kinds lists every kind, Internal last.
func Kinds() []Kind {
	return []Kind{Invalid, Unauthenticated, Forbidden, NotFound, Conflict, TooLarge, UnsupportedMedia, MethodNotAllowed, TooBusy, Unavailable, Internal}
}

// kinded is what an error with a kind implements.
type kinded interface{ ErrorKind() string }

// coded is what an error with a finer machine-readable code implements.
type coded interface{ ErrorCode() string }

// Error is an error with a kind and, optionally, a code that refines it
// (e.g. "idempotency-key-reused", a kind of Conflict).
type Error struct {
	Kind Kind
	// Code is optional: a stable, more precise name than the kind.
	Code string
	msg  string
	err  error
}

// Error returns the message, followed by the cause's when there is one.
func (e *Error) Error() string {
	switch {
	case e.err == nil:
		return e.msg
	case e.msg == "":
		return e.err.Error()
	default:
		return e.msg + ": " + e.err.Error()
	}
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.err }

// ErrorKind returns the kind's string.
func (e *Error) ErrorKind() string { return string(e.Kind) }

// ErrorCode returns the code, or the kind's string when there is none.
func (e *Error) ErrorCode() string {
	if e.Code != "" {
		return e.Code
	}
	return string(e.Kind)
}

// New returns a sentinel error of a kind, to be matched with errors.Is.
func New(kind Kind, msg string) error { return &Error{Kind: kind, msg: msg} }

// NewCode returns a sentinel error of a kind with a finer code.
func NewCode(kind Kind, code, msg string) error { return &Error{Kind: kind, Code: code, msg: msg} }

// Wrap gives err a kind (nil stays nil). The kind given wins over any kind
// err already carries.
func Wrap(kind Kind, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: kind, err: err}
}

// Errorf formats an error of a kind; %w verbs wrap as with fmt.Errorf.
func Errorf(kind Kind, format string, args ...any) error {
	return &Error{Kind: kind, err: fmt.Errorf(format, args...)}
}

// KindOf returns the kind of err: the first kind found along its chain, or,
// failing that, Unavailable for a deadline that ran out, and Internal for
// anything else (nil has no kind and answers Internal too: callers ask only
// about errors).
func KindOf(err error) Kind {
	var k kinded
	if errors.As(err, &k) {
		if kind := Kind(k.ErrorKind()); kind.known() {
			return kind
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return Unavailable
	}
	return Internal
}

// CodeOf returns the finest code along err's chain: the first ErrorCode
// found, else the string of its kind.
func CodeOf(err error) string {
	var c coded
	if errors.As(err, &c) {
		return c.ErrorCode()
	}
	return string(KindOf(err))
}

// Is reports whether err is of kind k.
func Is(err error, k Kind) bool { return KindOf(err) == k }

func (k Kind) known() bool {
	for _, known := range Kinds() {
		if k == known {
			return true
		}
	}
	return false
}
