package journal

import (
	"context"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/internal/errs"
)

// "Who looked at my file": the reads of a company's records (its SIREN
// and its attestation numbers), newest first, a page at a time; other
// companies' reads and other actions on the same records are not listed.
func TestQueryReadsOfARecord(t *testing.T) {
	ctx := context.Background()
	store := openStore(t, t.TempDir())
	j := openJournal(t, testConfig(store, t.TempDir(), t.TempDir()))
	rec := func(a Action, subject, object string) {
		t.Helper()
		if err := j.Record(Entry{Action: a, Result: Success, Subject: subject, Role: "bank", Tenant: "bank:" + subject, Object: object}); err != nil {
			t.Fatal(err)
		}
	}
	rec(ReadCompany, "30004", "552100554")    // 1 mine
	rec(ReadCompany, "30004", "732829320")    // 2 another company
	rec(ReadAttestation, "30003", "PGE-0001") // 3 mine
	rec(AccessDenied, "30003", "552100554")   // 4 not a read
	rec(ReadAttestation, "30002", "PGE-0002") // 5 another company's attestation
	rec(ReadCompany, "30002", "552100554")    // 6 mine
	rec(ReadAttestation, "30004", "PGE-0001") // 7 mine
	waitFor(t, 10*time.Second, "the entries", func() bool { n, _ := j.Tree().Size(); return n == 7 })

	mine := []string{"552100554", "PGE-0001"}
	var got []uint64
	var subjects []string
	q := Query{Objects: mine, Limit: 3}
	for page := 0; ; page++ {
		p, err := j.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Records) > 3 {
			t.Fatalf("page of %d", len(p.Records))
		}
		for _, r := range p.Records {
			got, subjects = append(got, r.Position), append(subjects, r.Subject)
		}
		if p.Next == 0 {
			break
		}
		q.Before = p.Next
		if page > 3 {
			t.Fatal("paging does not end")
		}
	}
	want := []uint64{7, 6, 3, 1}
	if len(got) != len(want) {
		t.Fatalf("positions %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("positions %v, want %v", got, want)
		}
	}
	if subjects[0] != "30004" || subjects[1] != "30002" {
		t.Fatalf("subjects %v", subjects)
	}
	denied, err := j.Query(ctx, Query{Objects: []string{"552100554"}, Actions: []Action{AccessDenied}})
	if err != nil || len(denied.Records) != 1 || denied.Records[0].Position != 4 {
		t.Fatalf("denials: %+v, %v", denied, err)
	}
	none, err := j.Query(ctx, Query{Objects: []string{"999999999"}})
	if err != nil || len(none.Records) != 0 || none.Next != 0 {
		t.Fatalf("no reads: %+v, %v", none, err)
	}
	if _, err := j.Query(ctx, Query{}); errs.KindOf(err) != errs.Invalid {
		t.Fatalf("no object: %v", err)
	}
	if _, err := j.Query(ctx, Query{Objects: mine, Actions: []Action{"read.all"}}); errs.KindOf(err) != errs.Invalid {
		t.Fatalf("unknown action: %v", err)
	}
}
