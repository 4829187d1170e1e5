package httpapi_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/integrity"
	"github.com/attestation-ledger/attestation-ledger/projections"
)

// A bank proves its attestation is in the ledger with nothing but the
// verifier key and the standard sumdb packages.
func TestAttestationProofVerifiesOfflineWithStandardTools(t *testing.T) {
	s := startService(t, t.TempDir())
	bank := s.token(domain.RoleBank, bnp)
	var v projections.LoanRequestView
	s.do("POST", "/v1/loan-requests", bank, loanRequest(siren, bnp, 1000000, "2020-05-04")).json(t, &v)
	s.do("POST", "/v1/loan-requests", bank, loanRequest(siren2, bnp, 2000000, "2020-05-04"))

	key := strings.TrimSpace(string(s.do("GET", "/v1/ledger/verifier-key", bank, nil).body))
	r := s.do("GET", "/v1/attestations/"+v.Attestation.Number+"/proof", bank, nil)
	var p struct {
		Entry      string      `json:"entry"`
		Index      int64       `json:"index"`
		Checkpoint string      `json:"checkpoint"`
		Hashes     []tlog.Hash `json:"hashes"`
	}
	r.json(t, &p)
	if r.status != 200 {
		t.Fatalf("proof: %d %s", r.status, r.body)
	}
	verifier, err := note.NewVerifier(key)
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open([]byte(p.Checkpoint), note.VerifierList(verifier))
	if err != nil {
		t.Fatalf("checkpoint signature: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	var size int64
	fmt.Sscan(lines[1], &size)
	rootBytes, _ := base64.StdEncoding.DecodeString(lines[2])
	var root tlog.Hash
	copy(root[:], rootBytes)
	if err := tlog.CheckRecord(p.Hashes, size, root, p.Index, tlog.RecordHash([]byte(p.Entry))); err != nil {
		t.Fatalf("inclusion proof does not verify: %v", err)
	}
	var env map[string]any
	json.Unmarshal([]byte(p.Entry), &env)
	if env["type"] != domain.TypeAttestationIssued || int64(env["position"].(float64)) != p.Index+1 {
		t.Fatalf("entry %s", p.Entry)
	}
	// Another bank cannot get it; a regulator may not.
	if r := s.do("GET", "/v1/attestations/"+v.Attestation.Number+"/proof", s.token(domain.RoleBank, sg), nil); r.status != 404 {
		t.Fatalf("other bank: %d", r.status)
	}
	if r := s.do("GET", "/v1/attestations/"+v.Attestation.Number+"/proof", s.token(domain.RoleRegulator, "r"), nil); r.status != 403 {
		t.Fatalf("regulator: %d", r.status)
	}
}

func TestLedgerEntriesCheckpointAndProofs(t *testing.T) {
	s := startService(t, t.TempDir())
	bank, auditor := s.token(domain.RoleBank, bnp), s.token(domain.RoleAuditor, "a")
	var last projections.LoanRequestView
	for _, sn := range []string{siren, siren2, "356000000"} {
		s.do("POST", "/v1/loan-requests", bank, loanRequest(sn, bnp, 1000000, "2020-05-04")).json(t, &last)
	}
	// The proof endpoint waits for a checkpoint covering the last event.
	s.do("GET", "/v1/attestations/"+last.Attestation.Number+"/proof", bank, nil)
	cpText := s.do("GET", "/v1/ledger/checkpoint", bank, nil).body
	key := strings.TrimSpace(string(s.do("GET", "/v1/ledger/verifier-key", bank, nil).body))
	cp, err := integrity.OpenCheckpoint(cpText, key)
	if err != nil || cp.Size != int64(last.Position) {
		t.Fatalf("checkpoint %+v (want size %d): %v", cp, last.Position, err)
	}
	entries := s.do("GET", fmt.Sprintf("/v1/ledger/entries?from=0&limit=%d", cp.Size), auditor, nil)
	if entries.status != 200 || entries.header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("entries: %d %s", entries.status, entries.body)
	}
	res, err := integrity.Verify(bytes.NewReader(entries.body), cpText, key, nil)
	if err != nil || res.Verified != cp.Size {
		t.Fatalf("offline verification: %+v %v", res, err)
	}
	all := s.do("GET", "/v1/ledger/checkpoints?from=0", bank, nil)
	notes, err := integrity.SplitNotes(all.body)
	if err != nil || len(notes) == 0 {
		t.Fatalf("checkpoints: %v %s", err, all.body)
	}
	if res, err := integrity.Verify(bytes.NewReader(entries.body), all.body, key, nil); err != nil || res.Checkpoints != len(notes) {
		t.Fatalf("verification against every checkpoint: %+v %v", res, err)
	}
	if later := s.do("GET", fmt.Sprintf("/v1/ledger/checkpoints?from=%d", cp.Size+1), bank, nil); later.status != 200 || len(later.body) != 0 {
		t.Fatalf("checkpoints beyond the latest: %d %q", later.status, later.body)
	}
	// Tampering with one byte of one entry is detected.
	tampered := bytes.Replace(entries.body, []byte(`"amountCents":1000000`), []byte(`"amountCents":9000000`), 1)
	if _, err := integrity.Verify(bytes.NewReader(tampered), cpText, key, nil); err == nil {
		t.Fatal("a tampered entry verified")
	}
	var incl struct {
		LeafHash tlog.Hash   `json:"leafHash"`
		Hashes   []tlog.Hash `json:"hashes"`
	}
	s.do("GET", fmt.Sprintf("/v1/ledger/proofs/inclusion?index=1&size=%d", cp.Size), auditor, nil).json(t, &incl)
	if err := tlog.CheckRecord(incl.Hashes, cp.Size, cp.Root, 1, incl.LeafHash); err != nil {
		t.Fatalf("inclusion: %v", err)
	}
	var cons struct {
		Hashes []tlog.Hash `json:"hashes"`
	}
	s.do("GET", fmt.Sprintf("/v1/ledger/proofs/consistency?from=%d&to=%d", 3, cp.Size), bank, nil).json(t, &cons)
	lines := bytes.Split(bytes.TrimSpace(entries.body), []byte("\n"))
	old, err := tlog.TreeHash(3, tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		return hashesOf(lines, idx)
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := tlog.CheckTree(cons.Hashes, cp.Size, cp.Root, 3, old); err != nil {
		t.Fatalf("consistency: %v", err)
	}
	for _, tc := range []struct {
		path, token string
		status      int
	}{
		{fmt.Sprintf("/v1/ledger/proofs/inclusion?index=%d&size=%d", cp.Size, cp.Size), auditor, 400},
		{"/v1/ledger/proofs/inclusion?index=0", auditor, 400},
		{"/v1/ledger/proofs/inclusion?index=0&size=1", bank, 403},
		{"/v1/ledger/entries", bank, 403},
		{"/v1/ledger/proofs/consistency?from=5&to=2", bank, 400},
		{"/v1/ledger/checkpoint", "", 401},
	} {
		if r := s.do("GET", tc.path, tc.token, nil); r.status != tc.status {
			t.Errorf("%s: %d, want %d: %s", tc.path, r.status, tc.status, r.body)
		}
	}
}

// hashesOf computes the stored hashes a tree reader asks for, from the
// entries, with tlog itself.
func hashesOf(entries [][]byte, idx []int64) ([]tlog.Hash, error) {
	var stored []tlog.Hash
	for i, e := range entries {
		hs, err := tlog.StoredHashes(int64(i), e, tlog.HashReaderFunc(func(ix []int64) ([]tlog.Hash, error) {
			out := make([]tlog.Hash, len(ix))
			for j, k := range ix {
				out[j] = stored[k]
			}
			return out, nil
		}))
		if err != nil {
			return nil, err
		}
		stored = append(stored, hs...)
	}
	out := make([]tlog.Hash, len(idx))
	for i, k := range idx {
		out[i] = stored[k]
	}
	return out, nil
}
