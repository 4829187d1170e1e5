package domain_test

// Table tests of the value types of DOMAIN.md §7 (identifiers and codes), of
// money, rates and dates, and of their JSON encodings.
//
// Helpers shared with fuzz_test.go and property_test.go carry the prefix fx
// so that they cannot collide with the helpers of rules_test.go and
// company_test.go, which live in the same package.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/attestation-ledger/attestation-ledger/domain"
)

// ---------------------------------------------------------------------------
// Independent reference implementations (written from DOMAIN.md and the
// standards, not from the domain code).

// fxLuhnValid is the Luhn check of DOMAIN.md §7: from the right, double
// every second digit, and the sum of the digits must be ≡ 0 mod 10.
func fxLuhnValid(digits string) bool {
	sum := 0
	for i := 0; i < len(digits); i++ {
		d := int(digits[len(digits)-1-i] - '0')
		if i%2 == 1 {
			d *= 2
			d = d/10 + d%10 // sum of the digits of the product
		}
		sum += d
	}
	return sum%10 == 0
}

// fxLuhnComplete appends the one digit that makes prefix Luhn-valid.
func fxLuhnComplete(prefix string) string {
	for d := '0'; d <= '9'; d++ {
		if s := prefix + string(d); fxLuhnValid(s) {
			return s
		}
	}
	panic("no Luhn digit for " + prefix)
}

// fxDigitSum is the plain sum of the digits of s.
func fxDigitSum(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n += int(s[i] - '0')
	}
	return n
}

// fxAlphabet is the 31-character alphabet of attestation numbers:
// Crockford's base 32 without Z.
const fxAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXY"

// fxCheckVerify verifies 16 characters whose last is the check character:
// the sum of value × (place + 1) must be a multiple of 31.
func fxCheckVerify(chars string) bool {
	sum := 0
	for i := 0; i < len(chars); i++ {
		v := strings.IndexByte(fxAlphabet, chars[i])
		if v < 0 {
			return false
		}
		sum += v * (i + 1)
	}
	return sum%31 == 0
}

// fxCheckChar returns the check character that makes body verify.
func fxCheckChar(body string) byte {
	for i := 0; i < len(fxAlphabet); i++ {
		if fxCheckVerify(body + string(fxAlphabet[i])) {
			return fxAlphabet[i]
		}
	}
	panic("no check character for " + body)
}

// fxNumberShape is the normalised shape of an attestation number: "PGE-",
// 16 characters of the alphabet, in groups of 4.
var fxNumberShape = regexp.MustCompile(`^PGE-[0-9A-HJKMNP-TV-Y]{4}-[0-9A-HJKMNP-TV-Y]{4}-[0-9A-HJKMNP-TV-Y]{4}-[0-9A-HJKMNP-TV-Y]{4}$`)

// fxNumberFrom builds the spelling "PGE-XXXX-XXXX-XXXX-XXXC" of 16 chars.
func fxNumberFrom(chars string) string {
	return "PGE-" + chars[0:4] + "-" + chars[4:8] + "-" + chars[8:12] + "-" + chars[12:16]
}

// fxRandomEntropy draws entropy from r.
func fxRandomEntropy(r *rand.Rand) [domain.NumberEntropyBytes]byte {
	var e [domain.NumberEntropyBytes]byte
	for i := range e {
		e[i] = byte(r.UintN(256))
	}
	return e
}

// fxSignificant strips the prefix and hyphens of a number spelling.
func fxSignificant(s string) string {
	return strings.ReplaceAll(strings.TrimPrefix(strings.ToUpper(s), "PGE"), "-", "")
}

// ---------------------------------------------------------------------------
// SIREN and SIRET (DOMAIN.md §7)

func TestParseSIRENAcceptsLuhnValidNineDigitsAndLaPoste(t *testing.T) {
	for _, s := range []string{
		"732829320", // the example of DOMAIN.md
		"356000000", // La Poste, valid by exception
		fxLuhnComplete("55210055"),
		fxLuhnComplete("40348380"),
		fxLuhnComplete("00000000"),
		fxLuhnComplete("99999999"),
	} {
		got, err := domain.ParseSIREN(s)
		if err != nil {
			t.Errorf("ParseSIREN(%q) = %v, want valid", s, err)
			continue
		}
		if got.String() != s || got.IsZero() {
			t.Errorf("ParseSIREN(%q) = %q (zero %v), want %q", s, got, got.IsZero(), s)
		}
	}
}

func TestParseSIRENRejectsBadChecksumWrongLengthAndNonDigits(t *testing.T) {
	cases := map[string]string{
		"last digit changed":       "732829321",
		"two digits swapped":       "732829302",
		"first digit changed":      "832829320",
		"La Poste with a typo":     "356000001",
		"empty":                    "",
		"8 digits":                 "73282932",
		"10 digits":                "7328293200",
		"14 digits (a SIRET)":      "73282932000074",
		"letter":                   "73282932A",
		"spaces":                   "732 829 320",
		"leading space":            " 732829320",
		"trailing newline":         "732829320\n",
		"sign":                     "+73282932",
		"negative":                 "-73282932",
		"fullwidth digits":         "７３２８２９３２０",
		"Arabic-Indic digits":      "٧٣٢٨٢٩٣٢٠",
		"NUL":                      "73282932\x00",
		"hyphenated":               "732-829-320",
		"decimal point":            "7328293.0",
		"valid SIREN with padding": "0732829320",
	}
	for name, s := range cases {
		if got, err := domain.ParseSIREN(s); err == nil {
			t.Errorf("%s: ParseSIREN(%q) = %q, want an error", name, s, got)
		}
	}
}

func TestParseSIRENAcceptsExactlyOneCheckDigitPerPrefix(t *testing.T) {
	r := rand.New(rand.NewChaCha8([32]byte{1}))
	for range 500 {
		prefix := fmt.Sprintf("%08d", r.IntN(100_000_000))
		valid := 0
		for d := '0'; d <= '9'; d++ {
			s := prefix + string(d)
			_, err := domain.ParseSIREN(s)
			if (err == nil) != (fxLuhnValid(s) || s == "356000000") {
				t.Fatalf("ParseSIREN(%q) error = %v, Luhn says valid=%v", s, err, fxLuhnValid(s))
			}
			if err == nil {
				valid++
			}
		}
		if valid != 1 {
			t.Fatalf("prefix %s: %d valid check digits, want exactly 1", prefix, valid)
		}
	}
}

func TestParseSIRETAcceptsLuhnOverFourteenDigits(t *testing.T) {
	for _, siren := range []string{"732829320", fxLuhnComplete("55210055"), fxLuhnComplete("12345678")} {
		for _, nic := range []string{"0001", "0007", "1234", "9999"} {
			s := fxLuhnComplete(siren + nic)
			got, err := domain.ParseSIRET(s)
			if err != nil {
				t.Errorf("ParseSIRET(%q) = %v, want valid", s, err)
				continue
			}
			if got.String() != s {
				t.Errorf("ParseSIRET(%q).String() = %q", s, got)
			}
			if got.SIREN().String() != siren {
				t.Errorf("ParseSIRET(%q).SIREN() = %q, want %q", s, got.SIREN(), siren)
			}
			if _, err := domain.ParseSIREN(got.SIREN().String()); err != nil {
				t.Errorf("SIREN of %q does not parse: %v", s, err)
			}
			// Every other last digit breaks the checksum.
			for d := byte('0'); d <= '9'; d++ {
				if d == s[13] {
					continue
				}
				bad := s[:13] + string(d)
				if _, err := domain.ParseSIRET(bad); err == nil {
					t.Errorf("ParseSIRET(%q) accepted a bad checksum", bad)
				}
			}
		}
	}
}

func TestParseSIRETRejectsLuhnValidDigitsWhoseSIRENIsInvalid(t *testing.T) {
	// "SIREN + 5 digits": a SIRET whose first 9 digits are not a SIREN is not
	// a SIRET, even if the 14 digits pass Luhn.
	bad := "732829321" // Luhn-invalid SIREN
	s := fxLuhnComplete(bad + "0001")
	if !fxLuhnValid(s) || fxLuhnValid(bad) {
		t.Fatalf("fixture broken: %s", s)
	}
	if got, err := domain.ParseSIRET(s); err == nil {
		t.Errorf("ParseSIRET(%q) = %q, want an error (SIREN %s invalid)", s, got, bad)
	}
}

func TestParseSIRETLaPosteUsesDigitSumMultipleOfFive(t *testing.T) {
	// Exhaustive over the last 5 digits of La Poste's SIRETs.
	accepted := 0
	for nic := range 100_000 {
		s := fmt.Sprintf("356000000%05d", nic)
		got, err := domain.ParseSIRET(s)
		want := fxDigitSum(s)%5 == 0
		if (err == nil) != want {
			t.Fatalf("ParseSIRET(%q) error = %v; digit sum %d, want valid=%v (Luhn valid=%v)", s, err, fxDigitSum(s), want, fxLuhnValid(s))
		}
		if err == nil {
			accepted++
			if got.String() != s || got.SIREN().String() != "356000000" {
				t.Fatalf("ParseSIRET(%q) = %q, SIREN %q", s, got, got.SIREN())
			}
		}
	}
	if accepted == 0 || accepted == 100_000 {
		t.Fatalf("%d La Poste SIRETs accepted: the rule is not exercised", accepted)
	}
}

func TestParseSIRETRejectsWrongLengthsAndNonDigits(t *testing.T) {
	good := fxLuhnComplete("7328293200007")
	for _, s := range []string{
		"", "732829320", good[:13], good + "0", "7328293200007A", " " + good[1:], good[:13] + " ",
		"732 829 320 00074", "-" + good[1:], "３５６０００００００００００１",
	} {
		if got, err := domain.ParseSIRET(s); err == nil {
			t.Errorf("ParseSIRET(%q) = %q, want an error", s, got)
		}
	}
}

// ---------------------------------------------------------------------------
// NAF codes (DOMAIN.md §7)

// fxNAFSection is the NAF rév. 2 division → section table, from the
// nomenclature; divisions absent from it do not exist.
func fxNAFSection(div int) byte {
	ranges := []struct {
		first, last int
		section     byte
	}{
		{1, 3, 'A'}, {5, 9, 'B'}, {10, 33, 'C'}, {35, 35, 'D'}, {36, 39, 'E'},
		{41, 43, 'F'}, {45, 47, 'G'}, {49, 53, 'H'}, {55, 56, 'I'}, {58, 63, 'J'},
		{64, 66, 'K'}, {68, 68, 'L'}, {69, 75, 'M'}, {77, 82, 'N'}, {84, 84, 'O'},
		{85, 85, 'P'}, {86, 88, 'Q'}, {90, 93, 'R'}, {94, 96, 'S'}, {97, 98, 'T'},
		{99, 99, 'U'},
	}
	for _, r := range ranges {
		if div >= r.first && div <= r.last {
			return r.section
		}
	}
	return 0
}

func TestParseNAFNormalisesBothSpellingsAndLetterCase(t *testing.T) {
	cases := []struct{ in, want string }{
		{"56.10A", "56.10A"},
		{"5610A", "56.10A"},
		{"56.10a", "56.10A"},
		{"5610a", "56.10A"},
		{"01.11Z", "01.11Z"},
		{"0111z", "01.11Z"},
		{"64.11Z", "64.11Z"},
		{"99.00Z", "99.00Z"},
		{"47.11F", "47.11F"},
	}
	for _, c := range cases {
		got, err := domain.ParseNAF(c.in)
		if err != nil {
			t.Errorf("ParseNAF(%q) = %v, want %q", c.in, err, c.want)
			continue
		}
		if got.String() != c.want {
			t.Errorf("ParseNAF(%q) = %q, want %q", c.in, got, c.want)
		}
		again, err := domain.ParseNAF(got.String())
		if err != nil || again != got {
			t.Errorf("ParseNAF(%q) = %q, %v: not a fixed point", got, again, err)
		}
	}
}

func TestParseNAFDivisionAndSectionAtEachBoundary(t *testing.T) {
	cases := []struct {
		code     string
		division int
		section  byte
	}{
		{"01.11Z", 1, 'A'}, {"03.22Z", 3, 'A'},
		{"05.10Z", 5, 'B'}, {"09.90Z", 9, 'B'},
		{"10.11Z", 10, 'C'}, {"33.20A", 33, 'C'},
		{"35.11Z", 35, 'D'},
		{"36.00Z", 36, 'E'}, {"39.00Z", 39, 'E'},
		{"41.10A", 41, 'F'}, {"43.99E", 43, 'F'},
		{"45.11Z", 45, 'G'}, {"47.99B", 47, 'G'},
		{"49.10Z", 49, 'H'}, {"53.20Z", 53, 'H'},
		{"55.10Z", 55, 'I'}, {"56.30Z", 56, 'I'},
		{"58.11Z", 58, 'J'}, {"63.99Z", 63, 'J'},
		{"64.11Z", 64, 'K'}, {"66.30Z", 66, 'K'},
		{"68.10Z", 68, 'L'},
		{"69.10Z", 69, 'M'}, {"75.00Z", 75, 'M'},
		{"77.11A", 77, 'N'}, {"82.99Z", 82, 'N'},
		{"84.11Z", 84, 'O'},
		{"85.10Z", 85, 'P'},
		{"86.10Z", 86, 'Q'}, {"88.99B", 88, 'Q'},
		{"90.01Z", 90, 'R'}, {"93.29Z", 93, 'R'},
		{"94.11Z", 94, 'S'}, {"96.09Z", 96, 'S'},
		{"97.00Z", 97, 'T'}, {"98.20Z", 98, 'T'},
		{"99.00Z", 99, 'U'},
	}
	for _, c := range cases {
		for _, spelling := range []string{c.code, strings.Replace(c.code, ".", "", 1)} {
			n, err := domain.ParseNAF(spelling)
			if err != nil {
				t.Errorf("ParseNAF(%q) = %v", spelling, err)
				continue
			}
			if n.Division() != c.division || n.Section() != c.section {
				t.Errorf("ParseNAF(%q): division %d section %q, want %d %q", spelling, n.Division(), n.Section(), c.division, c.section)
			}
		}
	}
}

func TestParseNAFEveryDivisionMapsToItsSectionOrIsRejected(t *testing.T) {
	list := fxNAF(t)
	sections := map[byte]bool{}
	for div := 0; div <= 99; div++ {
		prefix := fmt.Sprintf("%02d.", div)
		var codes []string
		for c := range list {
			if strings.HasPrefix(c, prefix) {
				codes = append(codes, c)
			}
		}
		want := fxNAFSection(div)
		if want == 0 {
			if len(codes) > 0 {
				t.Errorf("division %02d does not exist in NAF rév. 2, yet the list has %v", div, codes)
			}
			if n, err := domain.ParseNAF(prefix + "00Z"); err == nil {
				t.Errorf("ParseNAF(%q) = %q: division %02d does not exist in NAF rév. 2", prefix+"00Z", n, div)
			}
			continue
		}
		if len(codes) == 0 {
			t.Errorf("division %02d has no sub-class in the list", div)
		}
		for _, code := range codes {
			n, err := domain.ParseNAF(code)
			if err != nil {
				t.Errorf("ParseNAF(%q) = %v, want section %c", code, err, want)
				continue
			}
			if n.Division() != div || n.Section() != want {
				t.Errorf("ParseNAF(%q): division %d section %c, want %d %c", code, n.Division(), n.Section(), div, want)
			}
			sections[n.Section()] = true
		}
	}
	if len(sections) != 21 {
		t.Errorf("%d sections reached, want the 21 sections A–U", len(sections))
	}
}

func TestParseNAFRejectsNonExistentDivisionsAndBadShapes(t *testing.T) {
	for _, s := range []string{
		// Divisions that do not exist in NAF rév. 2.
		"00.00Z", "0000Z", "04.00Z", "0400Z", "34.00Z", "40.00Z", "44.00Z", "48.00Z",
		"54.00Z", "57.00Z", "67.00Z", "76.00Z", "83.00Z", "89.00Z",
		// Shapes.
		"", "5610", "56.10", "56.1A", "561A", "56.10AB", "5610AB", "56-10A", "56,10A",
		"5.610A", "56..0A", "A6.10A", "5A.10A", "56.1XA", "56.X0A", "56.101",
		"561.0A", " 56.10A", "56.10A ", "56.10@", "56.10[", "56.10`", "56.10{",
		"56.10é", "５６.１０A", "56.10\x00", "56 10A",
	} {
		if got, err := domain.ParseNAF(s); err == nil {
			t.Errorf("ParseNAF(%q) = %q, want an error", s, got)
		}
	}
}

func TestSectionLabelNamesEverySectionAToUOnly(t *testing.T) {
	seen := map[string]byte{}
	for s := byte('A'); s <= 'U'; s++ {
		l := domain.SectionLabel(s)
		if l == "" {
			t.Errorf("SectionLabel(%c) is empty", s)
		}
		if prev, dup := seen[l]; dup {
			t.Errorf("sections %c and %c share the label %q", prev, s, l)
		}
		seen[l] = s
	}
	for _, s := range []byte{0, 'V', 'Z', 'a', '1'} {
		if l := domain.SectionLabel(s); l != "" {
			t.Errorf("SectionLabel(%q) = %q, want empty", s, l)
		}
	}
}

// ---------------------------------------------------------------------------
// Regions (DOMAIN.md §7)

// fxRegions is the list of DOMAIN.md §7, with the names it gives.
var fxRegions = map[string]string{
	"11": "Île-de-France", "24": "Centre-Val de Loire", "27": "Bourgogne-Franche-Comté",
	"28": "Normandie", "32": "Hauts-de-France", "44": "Grand Est", "52": "Pays de la Loire",
	"53": "Bretagne", "75": "Nouvelle-Aquitaine", "76": "Occitanie", "84": "Auvergne-Rhône-Alpes",
	"93": "Provence-Alpes-Côte d'Azur", "94": "Corse",
	"01": "", "02": "", "03": "", "04": "", "05": "", "06": "", // overseas
}

func TestParseRegionAcceptsEveryCodeOfDomainSection7(t *testing.T) {
	for code, name := range fxRegions {
		r, err := domain.ParseRegion(code)
		if err != nil {
			t.Errorf("ParseRegion(%q) = %v", code, err)
			continue
		}
		if r.String() != code {
			t.Errorf("ParseRegion(%q).String() = %q", code, r)
		}
		if r.Name() == "" || (name != "" && r.Name() != name) {
			t.Errorf("ParseRegion(%q).Name() = %q, want %q", code, r.Name(), name)
		}
	}
}

func TestParseRegionRejectsUnknownCodes(t *testing.T) {
	for _, s := range []string{
		"", "00", "07", "10", "12", "23", "25", "26", "31", "41", "43", "54", "72", "73",
		"74", "82", "83", "91", "95", "99", "1", "011", "111", "2A", "2B", "971", "976",
		" 11", "11 ", "1 1", "IDF", "-1", "+11", "１１",
	} {
		if got, err := domain.ParseRegion(s); err == nil {
			t.Errorf("ParseRegion(%q) = %q, want an error", s, got)
		}
	}
}

func TestParseRegionEveryTwoDigitCodeAcceptedIffListed(t *testing.T) {
	for i := range 100 {
		code := fmt.Sprintf("%02d", i)
		_, listed := fxRegions[code]
		if _, err := domain.ParseRegion(code); (err == nil) != listed {
			t.Errorf("ParseRegion(%q) error = %v, listed in DOMAIN.md = %v", code, err, listed)
		}
	}
}

func TestRegionCodesListsExactlyTheDomainCodesInOrder(t *testing.T) {
	codes := domain.RegionCodes()
	if len(codes) != len(fxRegions) {
		t.Fatalf("RegionCodes() has %d codes, want %d", len(codes), len(fxRegions))
	}
	for i, c := range codes {
		if _, ok := fxRegions[c.String()]; !ok {
			t.Errorf("RegionCodes()[%d] = %q is not in DOMAIN.md", i, c)
		}
		if i > 0 && codes[i-1].String() >= c.String() {
			t.Errorf("RegionCodes() not strictly ascending at %d: %q then %q", i, codes[i-1], c)
		}
		if p, err := domain.ParseRegion(c.String()); err != nil || p != c {
			t.Errorf("RegionCodes()[%d] = %q does not parse back: %v", i, c, err)
		}
	}
}

// ---------------------------------------------------------------------------
// Bank codes (DOMAIN.md §7)

func TestParseBankCodeAcceptsFiveDigits(t *testing.T) {
	known := map[string]string{
		"30004": "BNP Paribas", "30003": "Société Générale", "30002": "LCL",
		"20041": "La Banque Postale", "10278": "Crédit Mutuel", "30066": "CIC", "10107": "BRED",
	}
	for code, name := range known {
		b, err := domain.ParseBankCode(code)
		if err != nil {
			t.Errorf("ParseBankCode(%q) = %v", code, err)
			continue
		}
		if b.String() != code || b.Name() != name {
			t.Errorf("ParseBankCode(%q) = %q named %q, want %q", code, b, b.Name(), name)
		}
	}
	for _, code := range []string{"00000", "99999", "12345"} {
		b, err := domain.ParseBankCode(code)
		if err != nil {
			t.Errorf("ParseBankCode(%q) = %v", code, err)
			continue
		}
		if b.String() != code || b.Name() != code {
			t.Errorf("unknown bank %q: String %q Name %q, want the code", code, b, b.Name())
		}
	}
}

func TestParseBankCodeRejectsWrongLengthsAndNonDigits(t *testing.T) {
	for _, s := range []string{"", "3000", "300044", "3000A", "30 04", " 30004", "30004 ", "-3000", "+3000", "３０００４", "30.04"} {
		if got, err := domain.ParseBankCode(s); err == nil {
			t.Errorf("ParseBankCode(%q) = %q, want an error", s, got)
		}
	}
}

// ---------------------------------------------------------------------------
// Money and rates

func TestNewCentsAcceptsZeroToMaxCents(t *testing.T) {
	cases := []struct {
		n  int64
		ok bool
	}{
		{math.MinInt64, false}, {-1_000_00, false}, {-1, false}, {0, true}, {1, true},
		{150_000_000_00, true}, {int64(domain.MaxCents) - 1, true}, {int64(domain.MaxCents), true},
		{int64(domain.MaxCents) + 1, false}, {math.MaxInt64, false},
	}
	for _, c := range cases {
		got, err := domain.NewCents(c.n)
		if (err == nil) != c.ok {
			t.Errorf("NewCents(%d) error = %v, want ok=%v", c.n, err, c.ok)
		}
		if err == nil && int64(got) != c.n {
			t.Errorf("NewCents(%d) = %d", c.n, got)
		}
		if err != nil && got != 0 {
			t.Errorf("NewCents(%d) returned %d with its error", c.n, got)
		}
	}
}

func TestNewPositiveCentsRejectsZeroAndNegative(t *testing.T) {
	cases := []struct {
		n  int64
		ok bool
	}{
		{math.MinInt64, false}, {-1, false}, {0, false}, {1, true}, {99, true},
		{int64(domain.MaxCents), true}, {int64(domain.MaxCents) + 1, false}, {math.MaxInt64, false},
	}
	for _, c := range cases {
		got, err := domain.NewPositiveCents(c.n)
		if (err == nil) != c.ok {
			t.Errorf("NewPositiveCents(%d) error = %v, want ok=%v", c.n, err, c.ok)
		}
		if err == nil && int64(got) != c.n {
			t.Errorf("NewPositiveCents(%d) = %d", c.n, got)
		}
	}
}

func TestParseCentsAcceptsDecimalIntegersUpToMaxCents(t *testing.T) {
	cases := []struct {
		in   string
		want domain.Cents
		ok   bool
	}{
		{"0", 0, true}, {"1", 1, true}, {"150000", 150000, true}, {"007", 7, true},
		{"1000000000000000", domain.MaxCents, true},
		{"0000000000000000001", 1, true}, // 19 characters
		{"1000000000000001", 0, false},
		{"9223372036854775807", 0, false}, // MaxInt64
		{"9223372036854775808", 0, false}, // overflows int64
		{"99999999999999999999", 0, false},
		{"", 0, false}, {"-1", 0, false}, {"+1", 0, false}, {"1.50", 0, false}, {"1,50", 0, false},
		{"1 000", 0, false}, {" 1", 0, false}, {"1 ", 0, false}, {"1e3", 0, false}, {"0x10", 0, false},
		{"１", 0, false}, {"1_000", 0, false},
	}
	for _, c := range cases {
		got, err := domain.ParseCents(c.in)
		if (err == nil) != c.ok {
			t.Errorf("ParseCents(%q) error = %v, want ok=%v", c.in, err, c.ok)
			continue
		}
		if c.ok && got != c.want {
			t.Errorf("ParseCents(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}

func TestCentsStringFormatsEurosWithTwoDecimals(t *testing.T) {
	cases := map[domain.Cents]string{
		0: "0.00 €", 5: "0.05 €", 99: "0.99 €", 100: "1.00 €", 150000: "1500.00 €",
		123456789: "1234567.89 €", domain.MaxCents: "10000000000000.00 €",
	}
	for c, want := range cases {
		if got := c.String(); got != want {
			t.Errorf("Cents(%d).String() = %q, want %q", int64(c), got, want)
		}
	}
	if got := domain.Euros(1500); got != 150000 {
		t.Errorf("Euros(1500) = %d cents, want 150000", got)
	}
}

func TestCentsPercentRoundsDownToTheCent(t *testing.T) {
	cases := []struct {
		c    domain.Cents
		bps  domain.BasisPoints
		want domain.Cents
	}{
		{100_00, 9000, 90_00}, {1, 9000, 0}, {11, 9000, 9}, {333, 2500, 83},
		{1_000_000_00, 25, 2_500_00}, {12345, 10_000, 12345}, {12345, 0, 0},
	}
	for _, c := range cases {
		if got := c.c.Percent(c.bps); got != c.want {
			t.Errorf("Cents(%d).Percent(%d) = %d, want %d", int64(c.c), c.bps, got, c.want)
		}
	}
}

// TestCentsPercentDoesNotOverflowForValidAmounts checks the claim of money.go
// that arithmetic on valid amounts (≤ MaxCents) and rates (≤ 10,000 bps)
// cannot overflow: 10^15 × 10^4 = 10^19 exceeds int64.
func TestCentsPercentDoesNotOverflowForValidAmounts(t *testing.T) {
	for _, c := range []domain.Cents{domain.MaxCents, domain.MaxCents / 2, 922_337_203_685_478} {
		for _, bps := range []domain.BasisPoints{10_000, 9000, 7000} {
			got := c.Percent(bps)
			// Exact result, computed without overflow: c*bps/10^4 = (c/10^4)*bps + (c%10^4)*bps/10^4.
			want := (c/10_000)*domain.Cents(bps) + (c%10_000)*domain.Cents(bps)/10_000
			if got != want || got < 0 || got > c {
				t.Errorf("Cents(%d).Percent(%d) = %d, want %d", int64(c), bps, got, want)
			}
		}
	}
}

func TestNewBasisPointsAcceptsZeroToTenThousand(t *testing.T) {
	cases := []struct {
		n  int64
		ok bool
	}{
		{math.MinInt64, false}, {-1, false}, {0, true}, {25, true}, {9000, true}, {10_000, true},
		{10_001, false}, {math.MaxInt32 + 1, false}, {math.MaxInt64, false},
	}
	for _, c := range cases {
		got, err := domain.NewBasisPoints(c.n)
		if (err == nil) != c.ok {
			t.Errorf("NewBasisPoints(%d) error = %v, want ok=%v", c.n, err, c.ok)
		}
		if err == nil && int64(got) != c.n {
			t.Errorf("NewBasisPoints(%d) = %d", c.n, got)
		}
	}
}

func TestParseBasisPointsAcceptsDecimalZeroToTenThousand(t *testing.T) {
	cases := []struct {
		in   string
		want domain.BasisPoints
		ok   bool
	}{
		{"0", 0, true}, {"25", 25, true}, {"9000", 9000, true}, {"10000", 10_000, true}, {"00900", 900, true},
		{"10001", 0, false}, {"99999", 0, false}, {"010000", 0, false}, {"", 0, false}, {"-1", 0, false},
		{"+1", 0, false}, {"90.5", 0, false}, {"90%", 0, false}, {" 90", 0, false}, {"９０", 0, false},
	}
	for _, c := range cases {
		got, err := domain.ParseBasisPoints(c.in)
		if (err == nil) != c.ok {
			t.Errorf("ParseBasisPoints(%q) error = %v, want ok=%v", c.in, err, c.ok)
			continue
		}
		if c.ok && got != c.want {
			t.Errorf("ParseBasisPoints(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}

// ---------------------------------------------------------------------------
// Dates

func TestParseDateAcceptsCalendarDatesFrom1900To2999(t *testing.T) {
	for _, s := range []string{
		"2020-03-16", "2022-06-30", "2020-02-29", "2000-02-29", "1900-01-01", "2999-12-31", "2019-12-31",
	} {
		d, err := domain.ParseDate(s)
		if err != nil {
			t.Errorf("ParseDate(%q) = %v", s, err)
			continue
		}
		if d.String() != s || d.IsZero() {
			t.Errorf("ParseDate(%q).String() = %q (zero %v)", s, d, d.IsZero())
		}
		tm := d.Time()
		if tm.Location() != time.UTC || tm.Hour() != 0 || tm.Minute() != 0 || tm.Nanosecond() != 0 || tm.Format("2006-01-02") != s {
			t.Errorf("ParseDate(%q).Time() = %v, want midnight UTC of that day", s, tm)
		}
	}
}

func TestParseDateRejectsImpossibleDatesOtherSpellingsAndYearsOutOfRange(t *testing.T) {
	for _, s := range []string{
		"2021-02-29", "1900-02-29", "2020-04-31", "2020-13-01", "2020-00-10", "2020-01-00", "2020-01-32",
		"1899-12-31", "3000-01-01", "0000-01-01", "9999-12-31",
		"", "2020-3-16", "2020-03-6", "20200316", "2020/03/16", "16/03/2020", "2020-03-16T00:00:00Z",
		" 2020-03-16", "2020-03-16 ", "2020-03-16\n", "+020-03-16", "-020-03-16", "2020-03-1a",
		"２０２０-03-16", "2020–03–16", "02020-03-16",
	} {
		if got, err := domain.ParseDate(s); err == nil {
			t.Errorf("ParseDate(%q) = %q, want an error", s, got)
		}
	}
}

func TestDateOrderingAndArithmetic(t *testing.T) {
	a, b := domain.MustDate("2020-04-30"), domain.MustDate("2020-05-01")
	if !a.Before(b) || a.After(b) || !b.After(a) || b.Before(a) || a.Before(a) || a.After(a) {
		t.Errorf("ordering of %s and %s is wrong", a, b)
	}
	if got := a.AddDays(1); got != b {
		t.Errorf("%s + 1 day = %s, want %s", a, got, b)
	}
	if got := b.AddDays(-1); got != a {
		t.Errorf("%s - 1 day = %s, want %s", b, got, a)
	}
	if got := domain.MustDate("2020-02-28").AddDays(1).String(); got != "2020-02-29" {
		t.Errorf("2020-02-28 + 1 day = %s", got)
	}
	if got := domain.MustDate("2020-03-16").AddDays(836).String(); got != "2022-06-30" {
		t.Errorf("2020-03-16 + 836 days = %s, want 2022-06-30", got)
	}
	var zero domain.Date
	if !zero.IsZero() || zero.String() != "" {
		t.Errorf("zero Date: IsZero %v String %q", zero.IsZero(), zero.String())
	}
}

func TestDateOfUsesTheCalendarDayInTheTimesOwnZone(t *testing.T) {
	paris := time.FixedZone("CEST", 2*3600)
	cases := []struct {
		t    time.Time
		want string
	}{
		{time.Date(2020, 4, 30, 23, 30, 0, 0, time.UTC), "2020-04-30"},
		{time.Date(2020, 5, 1, 0, 30, 0, 0, paris), "2020-05-01"}, // 2020-04-30 22:30 UTC
		{time.Date(2020, 4, 30, 22, 0, 0, 0, time.FixedZone("", -5*3600)), "2020-04-30"},
	}
	for _, c := range cases {
		d := domain.DateOf(c.t)
		if d.String() != c.want {
			t.Errorf("DateOf(%v) = %s, want %s", c.t, d, c.want)
		}
		if d != domain.MustDate(c.want) {
			t.Errorf("DateOf(%v) is not == MustDate(%q)", c.t, c.want)
		}
	}
}

func TestMustDatePanicsOnInvalidDate(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustDate(\"2021-02-29\") did not panic")
		}
	}()
	domain.MustDate("2021-02-29")
}

// ---------------------------------------------------------------------------
// Attestation numbers (DOMAIN.md §7)

func TestNewAttestationNumberHasTheDocumentedShapeAndAValidCheckCharacter(t *testing.T) {
	r := rand.New(rand.NewChaCha8([32]byte{2}))
	entropies := [][domain.NumberEntropyBytes]byte{{}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}
	for range 300 {
		entropies = append(entropies, fxRandomEntropy(r))
	}
	for _, e := range entropies {
		n := domain.NewAttestationNumber(e)
		s := n.String()
		if !fxNumberShape.MatchString(s) || n.IsZero() {
			t.Fatalf("NewAttestationNumber(%x) = %q: not PGE-XXXX-XXXX-XXXX-XXXX", e, s)
		}
		if !fxCheckVerify(fxSignificant(s)) {
			t.Fatalf("%q: its check character does not verify", s)
		}
		back, err := domain.ParseAttestationNumber(s)
		if err != nil || back != n {
			t.Fatalf("ParseAttestationNumber(%q) = %q, %v; want it back", s, back, err)
		}
	}
	if got := domain.NewAttestationNumber([domain.NumberEntropyBytes]byte{}).String(); got != fxNumberFrom("000000000000000"+string(fxCheckChar("000000000000000"))) {
		t.Errorf("all-zero entropy gives %q", got)
	}
}

// TestNewAttestationNumberMapsEachEntropyByteToItsCharacter: character i
// is the alphabet's character of byte i modulo 31, so every byte matters.
func TestNewAttestationNumberMapsEachEntropyByteToItsCharacter(t *testing.T) {
	r := rand.New(rand.NewChaCha8([32]byte{3}))
	for range 300 {
		e := fxRandomEntropy(r)
		body := fxSignificant(domain.NewAttestationNumber(e).String())[:15]
		for j := 0; j < 15; j++ {
			if want := fxAlphabet[int(e[j])%31]; body[j] != want {
				t.Fatalf("entropy %x: character %d is %c, want %c", e, j, body[j], want)
			}
		}
		base := domain.NewAttestationNumber(e)
		for i := range e {
			f := e
			f[i] = byte((int(f[i]) + 1) % 248)
			if domain.NewAttestationNumber(f) == base {
				t.Fatalf("changing entropy byte %d of %x did not change the number", i, e)
			}
		}
	}
}

func TestNewAttestationNumberGivesDistinctNumbersForDistinctEntropy(t *testing.T) {
	r := rand.New(rand.NewChaCha8([32]byte{4}))
	seen := map[domain.AttestationNumber][domain.NumberEntropyBytes]byte{}
	for range 20_000 {
		e := fxRandomEntropy(r)
		for i := range e {
			e[i] %= 31 // one entropy per number
		}
		n := domain.NewAttestationNumber(e)
		if prev, dup := seen[n]; dup && prev != e {
			t.Fatalf("entropies %x and %x both give %s", prev, e, n)
		}
		seen[n] = e
	}
	// Sequential entropy must not give numbers that share a long prefix of
	// random characters with a trivially predictable order; at least they
	// are all distinct.
	seq := map[domain.AttestationNumber]bool{}
	for i := range 1000 {
		var e [domain.NumberEntropyBytes]byte
		e[0], e[1], e[2] = byte(i%31), byte(i/31%31), byte(i/961)
		seq[domain.NewAttestationNumber(e)] = true
	}
	if len(seq) != 1000 {
		t.Errorf("1000 sequential entropies gave %d distinct numbers", len(seq))
	}
}

func TestGenerateAttestationNumberReadsOneByteACharacter(t *testing.T) {
	src := []byte("0123456789abcdef")
	rd := bytes.NewReader(src)
	n, err := domain.GenerateAttestationNumber(rd)
	if err != nil {
		t.Fatalf("GenerateAttestationNumber: %v", err)
	}
	var e [domain.NumberEntropyBytes]byte
	copy(e[:], src)
	if n != domain.NewAttestationNumber(e) {
		t.Errorf("GenerateAttestationNumber = %s, want NewAttestationNumber of the first 15 bytes %s", n, domain.NewAttestationNumber(e))
	}
	if rd.Len() != len(src)-domain.NumberEntropyBytes {
		t.Errorf("GenerateAttestationNumber consumed %d bytes, want %d", len(src)-rd.Len(), domain.NumberEntropyBytes)
	}
	if _, err := domain.ParseAttestationNumber(n.String()); err != nil {
		t.Errorf("generated %s does not parse: %v", n, err)
	}
}

func TestGenerateAttestationNumberFailsOnShortOrBrokenEntropy(t *testing.T) {
	boom := errors.New("no entropy")
	cases := map[string]struct {
		r    io.Reader
		want error
	}{
		"empty":  {bytes.NewReader(nil), io.EOF},
		"short":  {bytes.NewReader(make([]byte, domain.NumberEntropyBytes-1)), io.ErrUnexpectedEOF},
		"broken": {io.MultiReader(bytes.NewReader([]byte{1, 2}), fxErrReader{boom}), boom},
	}
	for name, c := range cases {
		n, err := domain.GenerateAttestationNumber(c.r)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: error = %v, want %v", name, err, c.want)
		}
		if !n.IsZero() {
			t.Errorf("%s: returned %s with the error", name, n)
		}
	}
}

type fxErrReader struct{ err error }

func (r fxErrReader) Read([]byte) (int, error) { return 0, r.err }

func TestGenerateAttestationNumberGivesDistinctNumbersFromARandomSource(t *testing.T) {
	r := rand.New(rand.NewChaCha8([32]byte{5}))
	src := &fxRandReader{r}
	seen := map[domain.AttestationNumber]bool{}
	for range 5000 {
		n, err := domain.GenerateAttestationNumber(src)
		if err != nil {
			t.Fatal(err)
		}
		if seen[n] {
			t.Fatalf("%s generated twice", n)
		}
		seen[n] = true
	}
}

type fxRandReader struct{ r *rand.Rand }

func (f *fxRandReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(f.r.UintN(256))
	}
	return len(p), nil
}

func TestParseAttestationNumberAcceptsLowercaseAndHyphenlessBodyAndNormalises(t *testing.T) {
	r := rand.New(rand.NewChaCha8([32]byte{6}))
	for range 300 {
		n := domain.NewAttestationNumber(fxRandomEntropy(r))
		s := n.String()
		sig := fxSignificant(s)
		for _, spelling := range []string{
			s,
			strings.ToLower(s),
			"PGE-" + sig,
			"pge-" + strings.ToLower(sig),
			"Pge-" + sig[:8] + "-" + strings.ToLower(sig[8:]),
		} {
			got, err := domain.ParseAttestationNumber(spelling)
			if err != nil {
				t.Fatalf("ParseAttestationNumber(%q) = %v, want %s", spelling, err, s)
			}
			if got != n || got.String() != s {
				t.Fatalf("ParseAttestationNumber(%q) = %q, want %q", spelling, got, s)
			}
		}
	}
}

// TestParseAttestationNumberAcceptsFullyHyphenlessSpelling: the doc comment of
// ParseAttestationNumber says "with or without its hyphens"; a number typed
// with no hyphen at all, "PGE7KQ29XWMHT3P5DQC", is such a spelling.
func TestParseAttestationNumberAcceptsFullyHyphenlessSpelling(t *testing.T) {
	n := domain.NewAttestationNumber([domain.NumberEntropyBytes]byte{9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 11, 12, 13, 14, 15})
	for _, spelling := range []string{
		"PGE" + fxSignificant(n.String()),
		strings.ToLower("PGE" + fxSignificant(n.String())),
	} {
		got, err := domain.ParseAttestationNumber(spelling)
		if err != nil || got != n {
			t.Errorf("ParseAttestationNumber(%q) = %q, %v; want %s", spelling, got, err, n)
		}
	}
}

func TestParseAttestationNumberRejectsWrongShapesAsMalformed(t *testing.T) {
	n := domain.NewAttestationNumber([domain.NumberEntropyBytes]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	s := n.String()
	sig := fxSignificant(s)
	// Characters outside the alphabet (I, U, Z) in place of a valid one.
	withI := "I" + sig[1:]
	withU := sig[:14] + "U" + sig[15:]
	withZ := sig[:15] + "Z"
	wrongCheck := "0"
	if fxCheckChar("000000000000000") == '0' {
		wrongCheck = "1"
	}
	for _, bad := range []string{
		"", "PGE-", "PGE", s[:len(s)-1], s + "0", "XYZ" + s[3:], "PGF" + s[3:], " " + s, s + " ",
		"PGE " + s[4:], "PGE_" + s[4:], fxNumberFrom(withI), fxNumberFrom(withU), fxNumberFrom(withZ),
		strings.ReplaceAll(s, "-", " "), strings.ReplaceAll(s, "-", "."),
		"PGE-" + sig[:15], "PGE-" + sig + sig[:1], "PGE-" + sig[:15] + "*",
		// All zeros with every check character but the right one.
		fxNumberFrom("000000000000000" + wrongCheck),
	} {
		got, err := domain.ParseAttestationNumber(bad)
		if err == nil {
			t.Errorf("ParseAttestationNumber(%q) = %q, want an error", bad, got)
			continue
		}
		if !errors.Is(err, domain.ErrMalformedNumber) || !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("ParseAttestationNumber(%q) error %v does not match ErrMalformedNumber and ErrInvalid", bad, err)
		}
	}
}

// fxSubstitutes are the characters tried in place of each character of a
// number: every printable ASCII character and a few look-alikes.
var fxSubstitutes = func() []string {
	var out []string
	for b := byte(0x20); b < 0x7f; b++ {
		out = append(out, string(b))
	}
	return append(out, "\x00", "\t", "é", "Ø", "ı", "К", "０", "–")
}()

func TestParseAttestationNumberRejectsEverySingleCharacterSubstitution(t *testing.T) {
	r := rand.New(rand.NewChaCha8([32]byte{7}))
	tried := 0
	for range 300 {
		n := domain.NewAttestationNumber(fxRandomEntropy(r))
		s := n.String()
		for i := 0; i < len(s); i++ {
			for _, sub := range fxSubstitutes {
				typo := s[:i] + sub + s[i+1:]
				if typo == s {
					continue
				}
				tried++
				got, err := domain.ParseAttestationNumber(typo)
				if err == nil {
					// Only a change of letter case may be accepted (the parser
					// upper-cases with Unicode rules, so 'ı' reads as 'I' and
					// 'ſ' as 'S'), and it must give the same number.
					if strings.ToUpper(typo) != s || got != n {
						t.Fatalf("substitution %q at %d: ParseAttestationNumber(%q) = %q, want malformed", sub, i, typo, got)
					}
					continue
				}
				if !errors.Is(err, domain.ErrMalformedNumber) {
					t.Fatalf("ParseAttestationNumber(%q) error %v is not ErrMalformedNumber", typo, err)
				}
			}
		}
	}
	if tried < 300*23*90 {
		t.Fatalf("only %d substitutions tried", tried)
	}
}

func TestParseAttestationNumberRejectsEveryAdjacentTranspositionOfItsCharacters(t *testing.T) {
	r := rand.New(rand.NewChaCha8([32]byte{8}))
	swaps, missed := 0, 0
	for range 300 {
		n := domain.NewAttestationNumber(fxRandomEntropy(r))
		sig := fxSignificant(n.String())
		// The 16 significant characters, adjacent in the number even across
		// a hyphen, in the canonical and in the hyphen-less spelling.
		for i := 0; i+1 < len(sig); i++ {
			if sig[i] == sig[i+1] {
				continue
			}
			b := []byte(sig)
			b[i], b[i+1] = b[i+1], b[i]
			for _, typo := range []string{fxNumberFrom(string(b)), "PGE-" + string(b)} {
				swaps++
				got, err := domain.ParseAttestationNumber(typo)
				if err == nil {
					if missed++; missed <= 5 {
						t.Errorf("%s with characters %d and %d swapped: ParseAttestationNumber(%q) = %q, want malformed", n, i, i+1, typo, got)
					}
					continue
				}
				if !errors.Is(err, domain.ErrMalformedNumber) {
					t.Fatalf("ParseAttestationNumber(%q) error %v is not ErrMalformedNumber", typo, err)
				}
			}
		}
	}
	if missed > 0 {
		t.Errorf("%d of %d spellings with two adjacent characters swapped were accepted as another valid number (each swap is tried with and without hyphens)", missed, swaps)
	}
	if swaps < 300*2*10 {
		t.Fatalf("only %d transpositions tried", swaps)
	}
}

// TestParseAttestationNumberMovingAHyphenOrSwappingThePrefixNeverGivesAnotherNumber
// swaps every two adjacent bytes of the written form that involve the
// prefix or a hyphen (swaps of two characters of the number are the test
// above). Swaps inside "PGE" are rejected; moving a hyphen after the
// prefix is not a typing mistake on the number (the parser ignores hyphens
// after "PGE"), so it may only give the same number.
func TestParseAttestationNumberMovingAHyphenOrSwappingThePrefixNeverGivesAnotherNumber(t *testing.T) {
	r := rand.New(rand.NewChaCha8([32]byte{9}))
	for range 300 {
		n := domain.NewAttestationNumber(fxRandomEntropy(r))
		s := n.String()
		for i := 0; i+1 < len(s); i++ {
			hyphen := s[i] == '-' || s[i+1] == '-'
			if i >= 4 && !hyphen {
				continue
			}
			b := []byte(s)
			b[i], b[i+1] = b[i+1], b[i]
			typo := string(b)
			got, err := domain.ParseAttestationNumber(typo)
			if err == nil {
				if got != n || (i < 3 && !hyphen) {
					t.Fatalf("swap at %d: ParseAttestationNumber(%q) = %q, want malformed or %s", i, typo, got, n)
				}
				continue
			}
			if i >= 4 {
				t.Fatalf("moving a hyphen: ParseAttestationNumber(%q) = %v, want %s", typo, err, n)
			}
			if !errors.Is(err, domain.ErrMalformedNumber) {
				t.Fatalf("ParseAttestationNumber(%q) error %v is not ErrMalformedNumber", typo, err)
			}
		}
		for _, spelling := range []string{s + "-", "PGE--" + s[4:], strings.ReplaceAll(s, "-", "--")} {
			if got, err := domain.ParseAttestationNumber(spelling); err != nil || got != n {
				t.Fatalf("ParseAttestationNumber(%q) = %q, %v; want %s (hyphens after the prefix are ignored)", spelling, got, err, n)
			}
		}
	}
}

// ---------------------------------------------------------------------------
// Roles (DOMAIN.md §1)

func TestParseRoleAcceptsTheFiveRolesOfDomainSection1(t *testing.T) {
	for _, s := range []string{"company", "bank", "auditor", "regulator", "admin"} {
		r, ok := domain.ParseRole(s)
		if !ok || string(r) != s {
			t.Errorf("ParseRole(%q) = %q, %v", s, r, ok)
		}
	}
	for _, s := range []string{"", "Company", "ADMIN", "root", "banks", " bank"} {
		if r, ok := domain.ParseRole(s); ok || r != "" {
			t.Errorf("ParseRole(%q) = %q, %v; want rejected", s, r, ok)
		}
	}
}

func TestSizeCategoryLabelIsTheFrenchName(t *testing.T) {
	cases := map[domain.SizeCategory]string{
		domain.SizeMicro: "Microentreprise", domain.SizeSME: "PME", domain.SizeMidcap: "ETI",
		domain.SizeLarge: "Grande entreprise", "other": "other",
	}
	for c, want := range cases {
		if got := c.Label(); got != want {
			t.Errorf("%q.Label() = %q, want %q", c, got, want)
		}
	}
}

// ---------------------------------------------------------------------------
// JSON

// fxJSONRoundTrip marshals v, unmarshals into a fresh T and compares.
func fxJSONRoundTrip[T comparable](t *testing.T, v T, wantJSON string) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Errorf("marshal %v: %v", v, err)
		return
	}
	if string(b) != wantJSON {
		t.Errorf("marshal %v = %s, want %s", v, b, wantJSON)
	}
	var back T
	if err := json.Unmarshal(b, &back); err != nil {
		t.Errorf("unmarshal %s: %v", b, err)
		return
	}
	if back != v {
		t.Errorf("unmarshal %s = %v, want %v", b, back, v)
	}
}

func TestValueTypesRoundTripThroughJSON(t *testing.T) {
	siren, _ := domain.ParseSIREN("732829320")
	naf, _ := domain.ParseNAF("5610a")
	region, _ := domain.ParseRegion("53")
	bank, _ := domain.ParseBankCode("30004")
	date := domain.MustDate("2020-04-30")
	number := domain.NewAttestationNumber([domain.NumberEntropyBytes]byte{0xde, 0xad, 0xbe, 0xef})
	fxJSONRoundTrip(t, siren, `"732829320"`)
	fxJSONRoundTrip(t, naf, `"56.10A"`)
	fxJSONRoundTrip(t, region, `"53"`)
	fxJSONRoundTrip(t, bank, `"30004"`)
	fxJSONRoundTrip(t, date, `"2020-04-30"`)
	fxJSONRoundTrip(t, number, `"`+number.String()+`"`)
	fxJSONRoundTrip(t, domain.Cents(150000), `150000`)
	fxJSONRoundTrip(t, domain.BasisPoints(9000), `9000`)
	fxJSONRoundTrip(t, domain.SMEFeeSchedule, `[25,50,50,100,100,100]`)
}

func TestValueTypesUnmarshalNormalisedFromJSON(t *testing.T) {
	var v struct {
		NAF    domain.NAFCode           `json:"naf"`
		Number domain.AttestationNumber `json:"number"`
	}
	n := domain.NewAttestationNumber([domain.NumberEntropyBytes]byte{1})
	in := fmt.Sprintf(`{"naf":"4711f","number":%q}`, strings.ToLower("PGE-"+fxSignificant(n.String())))
	if err := json.Unmarshal([]byte(in), &v); err != nil {
		t.Fatalf("unmarshal %s: %v", in, err)
	}
	if v.NAF.String() != "47.11F" || v.Number != n {
		t.Errorf("unmarshal %s = %q %q, want 47.11F %s", in, v.NAF, v.Number, n)
	}
}

func TestValueTypesRejectInvalidJSONValues(t *testing.T) {
	targets := map[string]struct {
		new func() any
		bad []string
	}{
		"SIREN":             {func() any { return new(domain.SIREN) }, []string{`"732829321"`, `"73282932"`, `""`}},
		"NAFCode":           {func() any { return new(domain.NAFCode) }, []string{`"04.00Z"`, `"56.10"`, `""`}},
		"RegionCode":        {func() any { return new(domain.RegionCode) }, []string{`"99"`, `"2A"`, `""`}},
		"BankCode":          {func() any { return new(domain.BankCode) }, []string{`"3000"`, `"3000A"`, `""`}},
		"Date":              {func() any { return new(domain.Date) }, []string{`"2021-02-29"`, `"2020-3-1"`, `""`}},
		"AttestationNumber": {func() any { return new(domain.AttestationNumber) }, []string{`"PGE-0000-0000-0000-000"`, `"XYZ"`, `""`}},
	}
	common := []string{`123`, `null`, `true`, `{}`, `[]`, `["732829320"]`, `{"s":"732829320"}`, `"unterminated`}
	for name, tgt := range targets {
		for _, in := range append(append([]string(nil), tgt.bad...), common...) {
			dst := tgt.new()
			if err := json.Unmarshal([]byte(in), dst); err == nil {
				t.Errorf("%s: unmarshal %s = %v, want an error", name, in, dst)
			}
		}
	}
	// Inside a struct too, and a rejected value leaves the field untouched.
	var s struct {
		SIREN domain.SIREN `json:"siren"`
	}
	good, _ := domain.ParseSIREN("732829320")
	s.SIREN = good
	if err := json.Unmarshal([]byte(`{"siren":"123456789"}`), &s); err == nil {
		t.Error(`unmarshal {"siren":"123456789"} succeeded`)
	}
	if s.SIREN != good {
		t.Errorf("a rejected SIREN overwrote the field: %q", s.SIREN)
	}
}

func TestCompanyProfileRoundTripsThroughJSON(t *testing.T) {
	naf, _ := domain.ParseNAF("56.10A")
	region, _ := domain.ParseRegion("11")
	bs := domain.Cents(4_200_000_00)
	opened := domain.MustDate("2019-06-01")
	p := domain.CompanyProfile{
		Name: "Le Bistrot", LegalForm: "SAS", NAF: naf, Region: region, Headcount: 12,
		Turnover: 1_800_000_00, BalanceSheet: &bs, Payroll: 400_000_00, CreatedOn: domain.MustDate("2012-05-04"),
		Innovative: true, CollectiveProceeding: domain.CollectiveProceeding{Kind: domain.ProceedingSafeguard, OpenedOn: &opened},
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{`"nafCode":"56.10A"`, `"regionCode":"11"`, `"turnoverCents":180000000`, `"balanceSheetCents":420000000`, `"createdOn":"2012-05-04"`, `"openedOn":"2019-06-01"`, `"kind":"safeguard"`} {
		if !strings.Contains(string(b), field) {
			t.Errorf("profile JSON %s lacks %s", b, field)
		}
	}
	var back domain.CompanyProfile
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("unmarshal %s: %v", b, err)
	}
	if back.BalanceSheet == nil || *back.BalanceSheet != bs || back.CollectiveProceeding.OpenedOn == nil || *back.CollectiveProceeding.OpenedOn != opened {
		t.Fatalf("pointers lost: %+v", back)
	}
	back.BalanceSheet, back.CollectiveProceeding.OpenedOn = p.BalanceSheet, p.CollectiveProceeding.OpenedOn
	if back != p {
		t.Errorf("round trip = %+v, want %+v", back, p)
	}
	// A missing balance sheet is omitted and comes back nil.
	p.BalanceSheet = nil
	b, _ = json.Marshal(p)
	if strings.Contains(string(b), "balanceSheetCents") {
		t.Errorf("nil balance sheet encoded: %s", b)
	}
}
