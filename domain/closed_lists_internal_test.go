package domain

import (
	"reflect"
	"strings"
	"testing"
)

// A request recorded before the closed lists with a look-alike legal form
// ("SCI" and a zero-width space, which the old rule let through) and left
// pending State review is rejected when the State approves it: the
// exclusion fails closed on recorded data too.
func TestStateApprovalOfALookAlikeSCIRecordedEarlierIsExcluded(t *testing.T) {
	events := pendingBigCorp(t)
	s := events[0].(LoanRequestSubmitted)
	s.Company.LegalForm = "SCI\u200b"
	events[0] = s
	c := given(t, events...)
	got, err := c.RecordStateDecision(RecordStateDecision{RequestID: "big", Approved: true, DecreeRef: "ECOT2020-0042", Number: number(9), By: adminActor}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("an attestation was issued: %+v", got)
	}
	d := got[0].(StateDecisionRecorded)
	if d.Outcome != OutcomeRejected || !reflect.DeepEqual(codes(d.Reasons), []ReasonCode{ReasonExcludedLegalForm}) {
		t.Fatalf("decision: %+v", d)
	}
}

func TestExcludedLegalFormFailsClosed(t *testing.T) {
	for form, want := range map[string]bool{
		"SCI": true, "6540": true, "6544": true, "SCCV": true, "SCI\u200b": true, "": true, "LLC": true,
		"SAS": false, "5710": false, "6539": false, "6521": false, "SCP": false,
	} {
		if got := excludedLegalForm(form); got != want {
			t.Errorf("excludedLegalForm(%q) = %v, want %v", form, got, want)
		}
	}
}

// The message that lists the abbreviations lists exactly the accepted ones.
func TestLegalFormAbbreviationListMatchesTheMap(t *testing.T) {
	listed := map[string]bool{}
	for _, a := range strings.Split(legalFormAbbreviationList, ", ") {
		listed[a] = true
	}
	if len(listed) != len(legalFormAbbreviations) {
		t.Fatalf("%d listed, %d accepted", len(listed), len(legalFormAbbreviations))
	}
	for a := range legalFormAbbreviations {
		if !listed[a] {
			t.Errorf("%s accepted but not listed", a)
		}
	}
}
