package domain

import "testing"

func issuedOne(t *testing.T) []Event {
	t.Helper()
	return history(t, submit("r1", 15000000, "2020-04-02", bakery(), 1))
}

func grant(amount Cents, on string, months int, by Actor) GrantLoan {
	return GrantLoan{Number: number(1), Amount: amount, GrantedOn: MustDate(on), DurationMonths: months, By: by}
}

func TestGrantLoan(t *testing.T) {
	c := given(t, issuedOne(t)...)
	got, err := c.GrantLoan(grant(15000000, "2020-04-05", 72, bnpActor), t0)
	thenEvents(t, got, err, LoanGranted{
		Number: number(1), GrantedAmount: 15000000, GrantedOn: MustDate("2020-04-05"),
		DurationMonths: 72, GrantedBy: bnpActor, GrantedAt: t0,
	})
	decided(t, c, func() ([]Event, error) { return got, nil })
	a, _ := c.Attestation(number(1))
	if a.Status != AttestationGrantedStatus || a.GrantedAmount != 15000000 || a.DurationMonths != 72 {
		t.Fatalf("%+v", a)
	}
	// Granted: neither granted again nor cancelled.
	got, err = c.GrantLoan(grant(1, "2020-04-06", 12, bnpActor), t0)
	thenError(t, got, err, ErrConflict)
	got, err = c.CancelAttestation(CancelAttestation{Number: number(1), By: ownerActor}, t0)
	thenError(t, got, err, ErrConflict)
}

func TestGrantBoundaries(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cmd    GrantLoan
		wantOK bool
		want   error
	}{
		{"the attested amount", grant(15000000, "2020-04-02", 12, bnpActor), true, nil},
		{"one cent", grant(1, "2020-04-02", 12, bnpActor), true, nil},
		{"above the attested amount", grant(15000001, "2020-04-02", 12, bnpActor), false, ErrInvalid},
		{"zero", grant(0, "2020-04-02", 12, bnpActor), false, ErrInvalid},
		{"11 months", grant(1000, "2020-04-02", 11, bnpActor), false, ErrInvalid},
		{"72 months", grant(1000, "2020-04-02", 72, bnpActor), true, nil},
		{"73 months", grant(1000, "2020-04-02", 73, bnpActor), false, ErrInvalid},
		{"before the request date", grant(1000, "2020-04-01", 12, bnpActor), false, ErrInvalid},
		{"no date", GrantLoan{Number: number(1), Amount: 1000, DurationMonths: 12, By: bnpActor}, false, ErrInvalid},
		{"another bank", grant(1000, "2020-04-02", 12, sgActor), false, ErrNotFound},
		{"the company itself", grant(1000, "2020-04-02", 12, ownerActor), false, ErrNotFound},
		{"unknown number", GrantLoan{Number: number(7), Amount: 1000, GrantedOn: MustDate("2020-04-02"), DurationMonths: 12, By: bnpActor}, false, ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := given(t, issuedOne(t)...).GrantLoan(tc.cmd, t0)
			if tc.wantOK {
				if err != nil || len(got) != 1 {
					t.Fatalf("got %v %v", got, err)
				}
				return
			}
			thenError(t, got, err, tc.want)
		})
	}
}

func TestCancelAttestation(t *testing.T) {
	for _, tc := range []struct {
		name string
		by   Actor
		want error
	}{
		{"by the company", ownerActor, nil},
		{"by the owner bank", bnpActor, nil},
		{"by another bank", sgActor, ErrNotFound},
		{"by another company", Actor{Role: RoleCompany, ID: "356000000"}, ErrNotFound},
		{"by an admin", adminActor, ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := given(t, issuedOne(t)...)
			got, err := c.CancelAttestation(CancelAttestation{Number: number(1), Reason: "loan not needed", By: tc.by}, t0)
			if tc.want != nil {
				thenError(t, got, err, tc.want)
				return
			}
			thenEvents(t, got, err, AttestationCancelled{Number: number(1), Reason: "loan not needed", CancelledBy: tc.by, CancelledAt: t0})
			decided(t, c, func() ([]Event, error) { return got, nil })
			again, err := c.CancelAttestation(CancelAttestation{Number: number(1), By: tc.by}, t0)
			thenError(t, again, err, ErrConflict)
			g, err := c.GrantLoan(grant(1000, "2020-04-02", 12, bnpActor), t0)
			thenError(t, g, err, ErrConflict)
		})
	}
	long := make([]byte, 501)
	got, err := given(t, issuedOne(t)...).CancelAttestation(CancelAttestation{Number: number(1), Reason: string(long), By: ownerActor}, t0)
	thenError(t, got, err, ErrInvalid)
}
