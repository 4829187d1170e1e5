package domain

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestRebuildGivesTheSameStateAsDeciding(t *testing.T) {
	c := NewCompany(testSIREN)
	var all []Event
	step := func(decide func() ([]Event, error)) {
		all = append(all, decided(t, c, decide)...)
	}
	step(func() ([]Event, error) {
		return c.SubmitLoanRequest(submit("r1", 5000000, "2020-03-30", bakery(), 1), t0)
	})
	step(func() ([]Event, error) {
		return c.SubmitLoanRequest(submit("r2", 5000000, "2020-04-10", bakery(), 2), t0)
	})
	step(func() ([]Event, error) {
		return c.GrantLoan(GrantLoan{Number: number(1), Amount: 4000000, GrantedOn: MustDate("2020-04-12"), DurationMonths: 60, By: bnpActor}, t0)
	})
	step(func() ([]Event, error) {
		return c.SubmitLoanRequest(submit("r3", 6000000, "2020-05-10", bakery(), 3), t0)
	})
	step(func() ([]Event, error) {
		return c.CancelAttestation(CancelAttestation{Number: number(3), Reason: "duplicate", By: ownerActor}, t0)
	})
	rebuilt := given(t, all...)
	if !reflect.DeepEqual(rebuilt, c) {
		t.Fatalf("rebuilt state differs:\n%+v\n%+v", rebuilt, c)
	}
	if c.Version() != uint64(len(all)) || c.Stream() != "company-732829320" || c.SIREN() != testSIREN {
		t.Fatalf("version %d stream %s", c.Version(), c.Stream())
	}
	if n, amount := c.Active(); n != 1 || amount != 5000000 {
		t.Fatalf("active %d %d", n, amount)
	}
	if got := len(c.Requests()); got != 3 {
		t.Fatalf("requests %d", got)
	}
	if got := c.Attestations(); len(got) != 2 || got[0].Status != AttestationGrantedStatus || got[1].Status != AttestationCancelledStatus {
		t.Fatalf("attestations %+v", got)
	}
	if r, _ := c.Request("r2"); r.Status != RequestRejected || r.Reasons[0].Code != ReasonOneAttestationUntilMay {
		t.Fatalf("r2 %+v", r)
	}
	if p, ok := c.Profile(); !ok || p.Name != "Boulangerie Martin" || c.Ceiling() != 21250000 {
		t.Fatalf("profile %+v", p)
	}
}

func TestEventsRoundTripThroughTheirWireForm(t *testing.T) {
	events := append(issuedOne(t), pendingBigCorp(t)...)
	events = events[:3] // one company's history only
	c := given(t, events...)
	events = append(events, decided(t, c, func() ([]Event, error) {
		return c.GrantLoan(grant(100, "2020-04-03", 24, bnpActor), t0)
	})...)
	for _, e := range events {
		data, err := EncodeEvent(e)
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeEvent(e.EventType(), e.EventSchemaVersion(), data)
		if err != nil {
			t.Fatalf("decode %s: %v", e.EventType(), err)
		}
		if !reflect.DeepEqual(back, e) {
			t.Fatalf("%s round trip:\n%#v\n%#v", e.EventType(), back, e)
		}
	}
	if _, err := DecodeEvent("attestation.teleported", 1, []byte(`{}`)); err == nil {
		t.Fatal("unknown type decoded")
	}
	if _, err := DecodeEvent(TypeAttestationIssued, 99, []byte(`{}`)); err == nil {
		t.Fatal("unknown schema version decoded")
	}
	if _, err := DecodeEvent(TypeAttestationIssued, 1, []byte(`{"number":"PGE-0000"}`)); err == nil {
		t.Fatal("bad data decoded")
	}
	if len(EventTypes()) != len(eventDecoders) {
		t.Fatal("EventTypes and the decoders disagree")
	}
}

func TestApplyRefusesEventsThatCannotFollow(t *testing.T) {
	other := LoanRequestSubmitted{RequestID: "x", SIREN: mustSIREN("356000000")}
	for name, events := range map[string][]Event{
		"another company's event":      {other},
		"assessment of unknown":        {LoanRequestAssessed{RequestID: "nope", Outcome: OutcomeRejected}},
		"request submitted twice":      {issuedOne(t)[0], issuedOne(t)[0]},
		"issue for unknown request":    {AttestationIssued{Number: number(1), RequestID: "nope"}},
		"grant of unknown attestation": {LoanGranted{Number: number(1)}},
		"cancel of unknown":            {AttestationCancelled{Number: number(1)}},
		"attestation issued twice":     append(issuedOne(t), issuedOne(t)[2]),
		"unknown outcome":              {issuedOne(t)[0], LoanRequestAssessed{RequestID: "r1", Outcome: "maybe"}},
		"decision on unknown":          {StateDecisionRecorded{RequestID: "nope"}},
		"decision not pending":         append(issuedOne(t), StateDecisionRecorded{RequestID: "r1", Outcome: OutcomeRejected}),
	} {
		if _, err := RebuildCompany(testSIREN, events); err == nil || !strings.Contains(err.Error(), "company 732829320") {
			t.Errorf("%s: error %v", name, err)
		}
	}
}

func TestErrorKinds(t *testing.T) {
	if !errors.Is(ErrMalformedNumber, ErrInvalid) {
		t.Fatal("a malformed number is not invalid input")
	}
	ve := &ValidationError{Errors: []FieldError{{Field: "a", Message: "b"}, {Field: "c", Message: "d"}}}
	if !errors.Is(ve, ErrInvalid) || ve.Error() != "invalid input: a: b; c: d" {
		t.Fatalf("%v", ve)
	}
	if errors.Is(conflictf("x"), ErrInvalid) || !errors.Is(notFoundf("x"), ErrNotFound) {
		t.Fatal("kinds mixed up")
	}
}
