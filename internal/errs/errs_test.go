package errs_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/internal/errs"
)

func TestKindOf(t *testing.T) {
	notFound := errs.New(errs.NotFound, "thing not found")
	reused := errs.NewCode(errs.Conflict, "idempotency-key-reused", "key reused")
	cases := []struct {
		name string
		err  error
		kind errs.Kind
		code string
	}{
		{"sentinel", notFound, errs.NotFound, "not-found"},
		{"wrapped sentinel", fmt.Errorf("load x: %w", notFound), errs.NotFound, "not-found"},
		{"code", fmt.Errorf("submit: %w", reused), errs.Conflict, "idempotency-key-reused"},
		{"wrap", errs.Wrap(errs.Invalid, errors.New("bad cursor")), errs.Invalid, "validation"},
		{"outer kind wins", errs.Wrap(errs.Unavailable, notFound), errs.Unavailable, "unavailable"},
		{"errorf", errs.Errorf(errs.TooBusy, "too many: %w", errors.New("x")), errs.TooBusy, "too-many-requests"},
		{"joined", errors.Join(errors.New("plain"), notFound), errs.NotFound, "not-found"},
		{"deadline", fmt.Errorf("wait: %w", context.DeadlineExceeded), errs.Unavailable, "unavailable"},
		{"plain", errors.New("boom"), errs.Internal, "internal"},
		{"domain invalid", domain.ErrInvalid, errs.Invalid, "validation"},
		{"domain validation", &domain.ValidationError{Errors: []domain.FieldError{{Field: "siren", Message: "bad"}}}, errs.Invalid, "validation"},
		{"domain not found", fmt.Errorf("grant: %w", domain.ErrNotFound), errs.NotFound, "not-found"},
		{"domain conflict", domain.ErrConflict, errs.Conflict, "state-conflict"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := errs.KindOf(c.err); got != c.kind {
				t.Errorf("KindOf = %q, want %q", got, c.kind)
			}
			if got := errs.CodeOf(c.err); got != c.code {
				t.Errorf("CodeOf = %q, want %q", got, c.code)
			}
		})
	}
}

func TestSentinelsMatchWithErrorsIs(t *testing.T) {
	a := errs.New(errs.NotFound, "a")
	b := errs.New(errs.NotFound, "a")
	if !errors.Is(fmt.Errorf("x: %w", a), a) {
		t.Fatal("a wrapped sentinel must match itself")
	}
	if errors.Is(a, b) {
		t.Fatal("two sentinels with the same text must not match")
	}
}

func TestErrorMessage(t *testing.T) {
	if got := errs.Wrap(errs.Invalid, errors.New("cursor is garbage")).Error(); got != "cursor is garbage" {
		t.Errorf("Wrap message = %q", got)
	}
	if got := errs.New(errs.Conflict, "busy").Error(); got != "busy" {
		t.Errorf("New message = %q", got)
	}
}
