package jetstream

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	njs "github.com/nats-io/nats.go/jetstream"

	"github.com/attestation-ledger/attestation-ledger/eventstore"
)

// JetStream API error codes the store reacts to (nats-server errors.json).
const (
	codeWrongLastSequence         njs.ErrorCode = 10071 // JSStreamWrongLastSequenceErrF
	codeWrongLastSequenceConstant njs.ErrorCode = 10164 // JSStreamWrongLastSequenceConstantErr
	codeMessageTooLarge           njs.ErrorCode = 10054 // JSStreamMessageExceedsMaximumErr
	codeBatchDuplicate            njs.ErrorCode = 10201 // JSAtomicPublishContainsDuplicateMessageErr
	codeDuplicateInProcess        njs.ErrorCode = 10158 // JSStreamDuplicateMessageConflict
	codeBatchTooManyInflight      njs.ErrorCode = 10210 // JSAtomicPublishTooManyInflight
	codeBatchIncomplete           njs.ErrorCode = 10176 // JSAtomicPublishIncompleteBatchErr
)

// apiCode returns the JetStream API error code of err, if it has one.
func apiCode(err error) (njs.ErrorCode, bool) {
	var apiErr *njs.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode, true
	}
	var jsErr njs.JetStreamError
	if errors.As(err, &jsErr) && jsErr.APIError() != nil {
		return jsErr.APIError().ErrorCode, true
	}
	return 0, false
}

// translate maps a NATS or JetStream failure to the port's sentinels, keeping
// the original error in the chain. Context errors are kept as they are.
func translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	for _, sentinel := range []error{
		eventstore.ErrConcurrency, eventstore.ErrInvalidStream, eventstore.ErrInvalidEvent,
		eventstore.ErrEventTooLarge, eventstore.ErrUnavailable, eventstore.ErrClosed,
	} {
		if errors.Is(err, sentinel) {
			return err
		}
	}
	if code, ok := apiCode(err); ok {
		switch code {
		case codeWrongLastSequence, codeWrongLastSequenceConstant:
			return fmt.Errorf("%w: %w", eventstore.ErrConcurrency, err)
		case codeMessageTooLarge:
			return fmt.Errorf("%w: %w", eventstore.ErrEventTooLarge, err)
		}
	}
	if errors.Is(err, nats.ErrMaxPayload) {
		return fmt.Errorf("%w: %w", eventstore.ErrEventTooLarge, err)
	}
	if errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, njs.ErrConnectionClosed) ||
		errors.Is(err, njs.ErrMsgIteratorClosed) {
		return fmt.Errorf("%w: %w", eventstore.ErrClosed, err)
	}
	// Timeouts, lost connections, no responders, a stream without a leader,
	// a failing disk: the store is not available.
	return fmt.Errorf("%w: %w", eventstore.ErrUnavailable, err)
}
