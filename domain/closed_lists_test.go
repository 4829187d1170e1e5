package domain_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/domain"
)

// fxReadCodeList reads a shipped data file line by line, on its own (not
// with the domain's loader): code, then the label, quoted or not.
func fxReadCodeList(t testing.TB, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	first := true
	for sc.Scan() {
		line := sc.Text()
		if first {
			if line != "code,libelle" {
				t.Fatalf("%s: header %q", path, line)
			}
			first = false
			continue
		}
		code, label, ok := strings.Cut(line, ",")
		if !ok {
			t.Fatalf("%s: line %q", path, line)
		}
		if _, dup := out[code]; dup {
			t.Fatalf("%s: %s twice", path, code)
		}
		out[code] = strings.Trim(label, `"`)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

var (
	fxNAFOnce sync.Once
	fxNAFList map[string]string
)

// fxNAF returns the NAF rév. 2 sub-classes as the data file lists them.
func fxNAF(t testing.TB) map[string]string {
	fxNAFOnce.Do(func() { fxNAFList = fxReadCodeList(t, "data/naf_rev2.csv") })
	return fxNAFList
}

func TestNAFListIsINSEEs732SubClasses(t *testing.T) {
	list := fxNAF(t)
	if len(list) != 732 {
		t.Fatalf("%d sub-classes, want 732", len(list))
	}
	shape := regexp.MustCompile(`^[0-9]{2}\.[0-9]{2}[A-Z]$`)
	for code := range list {
		if !shape.MatchString(code) {
			t.Errorf("%q is not NN.NNL", code)
		}
	}
	if got := domain.NAFSubclasses(); !slices.Equal(got, slices.Sorted(maps.Keys(list))) {
		t.Errorf("NAFSubclasses differs from the data file (%d codes)", len(got))
	}
	for code, label := range map[string]string{
		"01.11Z": "Culture de céréales (à l'exception du riz), de légumineuses et de graines oléagineuses",
		"10.71C": "Boulangerie et boulangerie-pâtisserie",
		"56.10A": "Restauration traditionnelle",
		"64.11Z": "Activités de banque centrale",
		"64.19Z": "Autres intermédiations monétaires",
		"64.92Z": "Autre distribution de crédit",
		"99.00Z": "Activités des organisations et organismes extraterritoriaux",
	} {
		if got, ok := domain.NAFLabel(code); !ok || got != label {
			t.Errorf("NAFLabel(%s) = %q, %v; want %q", code, got, ok, label)
		}
		n, err := domain.ParseNAF(code)
		if err != nil || n.Label() != label || !n.Known() {
			t.Errorf("ParseNAF(%s) = %v (%q), %v", code, n, n.Label(), err)
		}
	}
	// Every division of NAF rév. 2 has sub-classes, and only those do.
	divisions := map[string]bool{}
	for code := range list {
		divisions[code[:2]] = true
	}
	if len(divisions) != 88 {
		t.Errorf("%d divisions, want the 88 of NAF rév. 2", len(divisions))
	}
}

func TestParseNAFRefusesCodesOfTheRightShapeThatDoNotExist(t *testing.T) {
	for _, s := range []string{"64.19A", "6419A", "64.11Y", "64.92B", "99.99Z", "56.10D", "56.00Z", "01.10Z", "10.71E", "47.11G"} {
		if n, err := domain.ParseNAF(s); err == nil {
			t.Errorf("ParseNAF(%q) = %v, want an error: not a sub-class", s, n)
		} else if !strings.Contains(err.Error(), "not a sub-class") {
			t.Errorf("ParseNAF(%q): %v", s, err)
		}
		if _, ok := domain.NAFLabel(s); ok {
			t.Errorf("NAFLabel(%q) found", s)
		}
	}
	// The normalisation is kept.
	for in, want := range map[string]string{"5610A": "56.10A", "5610a": "56.10A", "56.10a": "56.10A", "6419Z": "64.19Z"} {
		if n, err := domain.ParseNAF(in); err != nil || n.String() != want {
			t.Errorf("ParseNAF(%q) = %v, %v; want %s", in, n, err, want)
		}
	}
}

// A recorded event holding a code that is not a sub-class (accepted before
// the list was enforced) still reads back: JSON decoding checks the shape
// only.
func TestNAFCodeJSONReadsBackCodesRecordedBeforeTheList(t *testing.T) {
	var n domain.NAFCode
	if err := json.Unmarshal([]byte(`"64.19A"`), &n); err != nil || n.String() != "64.19A" || n.Known() || n.Section() != 'K' {
		t.Fatalf("unmarshal 64.19A = %v (known %v), %v", n, n.Known(), err)
	}
	if err := json.Unmarshal([]byte(`"64.1"`), &n); err == nil {
		t.Fatal("a malformed code decoded")
	}
}

func TestLegalFormListAndAbbreviations(t *testing.T) {
	list := fxReadCodeList(t, "data/categories_juridiques.csv")
	if len(list) != 260 {
		t.Fatalf("%d categories, want 260", len(list))
	}
	for code, label := range map[string]string{
		"1000": "Entrepreneur individuel", "5499": "Société à responsabilité limitée (sans autre indication)",
		"5710": "SAS, société par actions simplifiée", "6540": "Société civile immobilière",
		"6541": "Société civile immobilière de construction-vente",
	} {
		if got, ok := domain.LegalFormLabel(code); !ok || got != label {
			t.Errorf("LegalFormLabel(%s) = %q, %v; want %q", code, got, ok, label)
		}
	}
	abbr := domain.LegalFormAbbreviations()
	for _, a := range []string{"SA", "SAS", "SASU", "SARL", "EURL", "SNC", "SCI", "EI", "SCOP"} {
		if _, ok := abbr[a]; !ok {
			t.Errorf("abbreviation %s missing", a)
		}
	}
	for a, code := range abbr {
		if _, ok := list[code]; !ok {
			t.Errorf("%s maps to %s, not in the list", a, code)
		}
		if got, ok := domain.LegalFormCode(a); !ok || got != code {
			t.Errorf("LegalFormCode(%s) = %s, %v", a, got, ok)
		}
		if got, ok := domain.LegalFormCode(" " + strings.ToLower(a) + "\t"); !ok || got != code {
			t.Errorf("LegalFormCode(lower %s) = %s, %v", a, got, ok)
		}
	}
	for want, a := range map[string]string{"5710": "SAS", "5499": "SARL", "6540": "SCI", "5720": "SASU", "5498": "EURL", "1000": "EI", "5599": "SA"} {
		if abbr[a] != want {
			t.Errorf("%s maps to %s, want %s", a, abbr[a], want)
		}
	}
	for code := range list {
		if got, ok := domain.LegalFormCode(code); !ok || got != code {
			t.Errorf("LegalFormCode(%s) = %s, %v", code, got, ok)
		}
	}
}

func TestLegalFormRefusesLookAlikesAndUnknowns(t *testing.T) {
	for _, s := range []string{
		"SCI\u200b", "\u200bSCI", "S\u200bCI", "SCI\u00a0", "SC\u0406", // zero-width, NBSP, Cyrillic І
		"\u0405\u0421\u0406", // Cyrillic ЅСІ
		"ＳＣＩ", "ＳＡＳ",         // full width
		"ſas", "Sas\u0131", "\u212aSAS", // long s, dotless i, Kelvin sign: ToUpper folds them to ASCII
		"S.A.S.", "SAS SCI", "SOCIETE", "XYZ", "0000", "5711", "65400", "654", "6549", "", " ", "SAS\n", "SAS\x00",
	} {
		if code, ok := domain.LegalFormCode(s); ok {
			t.Errorf("LegalFormCode(%q) = %s, want refused", s, code)
		}
	}
}

func TestFreeTextRefusesControlBidiAndInvisibleNames(t *testing.T) {
	base := fxValidCommand(t)
	for _, name := range []string{
		"Bad\x00Name", "Bad\nName", "Bad\tName", "Bad\x1bName", "Bad\u0085Name", "Bad\x7fName",
		"Bad\u2028Name", "Bad\u202eemaN", "Bad\u202aName", "Bad\u2066Name", "Bad\u2069Name",
		"\u200b", "\u200b\u200d\ufeff", " \u200b ", "\u2060", "\u3164", "\u0301\u0301", "\u2800",
		"Bad\xffName",
	} {
		cmd := base
		cmd.Profile.Name = name
		err := cmd.Validate()
		var ve *domain.ValidationError
		if !errors.As(err, &ve) || len(ve.Errors) != 1 || ve.Errors[0].Field != "company.name" {
			t.Errorf("name %q: %v, want one error on company.name", name, err)
		}
	}
	for _, name := range []string{"Boulangerie Martin", "Café de la Gare", "=HYPERLINK(\"x\")", "+Simple", "Société Générale", "מסעדה", "東京", "A\u200dB"} {
		cmd := base
		cmd.Profile.Name = name
		if err := cmd.Validate(); err != nil {
			t.Errorf("name %q: %v", name, err)
		}
	}
}

func TestSubmitRefusesUnknownLegalFormAndNAFAndExcludes654x(t *testing.T) {
	base := fxValidCommand(t)
	for _, lf := range []string{"SCI\u200b", "ＳＣＩ", "LLC", "6549"} {
		cmd := base
		cmd.Profile.LegalForm = lf
		var ve *domain.ValidationError
		if err := cmd.Validate(); !errors.As(err, &ve) || ve.Errors[0].Field != "company.legalForm" {
			t.Errorf("legal form %q: %v", lf, err)
		}
	}
	for _, lf := range []string{"SCI", "sci", "6540", "6541", "6542", "6543", "6544", "SCCV"} {
		cmd := base
		cmd.Profile.LegalForm = lf
		c := domain.NewCompany(cmd.SIREN)
		evs, err := c.SubmitLoanRequest(cmd, fxNow)
		if err != nil {
			t.Fatalf("legal form %q: %v", lf, err)
		}
		a := evs[1].(domain.LoanRequestAssessed)
		if a.Outcome != domain.OutcomeRejected || len(a.Reasons) != 1 || a.Reasons[0].Code != domain.ReasonExcludedLegalForm {
			t.Errorf("legal form %q: %s %v, want rejected EXCLUDED_LEGAL_FORM", lf, a.Outcome, a.Reasons)
		}
	}
	for _, lf := range []string{"SAS", "5710", "sarl", "EI", "6539", "6521", "SCOP"} {
		cmd := base
		cmd.Profile.LegalForm = lf
		c := domain.NewCompany(cmd.SIREN)
		evs, err := c.SubmitLoanRequest(cmd, fxNow)
		if err != nil {
			t.Fatalf("legal form %q: %v", lf, err)
		}
		if a := evs[1].(domain.LoanRequestAssessed); a.Outcome != domain.OutcomeEligible {
			t.Errorf("legal form %q: %s %v, want eligible", lf, a.Outcome, a.Reasons)
		}
	}
}

// fxNow is the decision time of the closed-list tests.
var fxNow = time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)

// fxValidCommand is a valid, eligible submission for a small bakery.
func fxValidCommand(t testing.TB) domain.SubmitLoanRequest {
	t.Helper()
	siren, err1 := domain.ParseSIREN("732829320")
	bank, err2 := domain.ParseBankCode("30004")
	naf, err3 := domain.ParseNAF("10.71C")
	region, err4 := domain.ParseRegion("11")
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		t.Fatal(err)
	}
	bs := domain.Cents(40000000)
	return domain.SubmitLoanRequest{
		RequestID: "req-1", SIREN: siren, Bank: bank, Amount: 1000000, RequestedOn: domain.MustDate("2020-05-04"),
		Profile: domain.CompanyProfile{
			Name: "Boulangerie Martin", LegalForm: "SAS", NAF: naf, Region: region, Headcount: 8,
			Turnover: 85000000, BalanceSheet: &bs, Payroll: 30000000, CreatedOn: domain.MustDate("2012-05-14"),
			CollectiveProceeding: domain.CollectiveProceeding{Kind: domain.ProceedingNone},
		},
		Number: domain.NewAttestationNumber([domain.NumberEntropyBytes]byte{1, 2, 3}),
		By:     domain.Actor{Role: domain.RoleBank, ID: "30004"},
	}
}

// Validation is on input: an event recorded before the closed lists and the
// free-text rules (a legal form "SCI" with a zero-width space, NAF 64.19A,
// a name of zero-width characters) still decodes and replays as recorded.
func TestEventsRecordedBeforeTheClosedListsStillDecode(t *testing.T) {
	data, err := os.ReadFile("testdata/events/loan_request.submitted.v1.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	company := m["company"].(map[string]any)
	company["legalForm"], company["nafCode"], company["name"] = "SCI\u200b", "64.19A", "x\u202e\u0000"
	data, err = json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	e, err := domain.DecodeEvent(domain.TypeLoanRequestSubmitted, 1, data)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	s := e.(domain.LoanRequestSubmitted)
	if s.Company.LegalForm != "SCI\u200b" || s.Company.NAF.String() != "64.19A" || s.Company.Name != "x\u202e\u0000" {
		t.Fatalf("decoded %+v", s.Company)
	}
	if _, err := domain.RebuildCompany(s.SIREN, []domain.Event{s}); err != nil {
		t.Fatalf("replay: %v", err)
	}
}
