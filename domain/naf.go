package domain

import (
	"encoding/json"
	"fmt"
)

// NAFCode is an activity code of the NAF rév. 2 nomenclature, normalised to
// "NN.NNL" (e.g. "56.10A").
type NAFCode struct{ s string }

// ParseNAF accepts "NN.NNL" or "NNNNL" (the letter in either case) that
// is one of the 732 sub-classes of INSEE's NAF rév. 2 (the closed list of
// data/naf_rev2.csv), and returns it normalised to "NN.NNL". A code of the
// right shape that is not a sub-class (e.g. "64.19A", "99.99Z") is refused:
// the list fails closed (DOMAIN.md §7).
func ParseNAF(s string) (NAFCode, error) {
	n, err := parseNAFShape(s)
	if err != nil {
		return NAFCode{}, err
	}
	if !n.Known() {
		return NAFCode{}, fmt.Errorf("NAF code %q is not a sub-class of INSEE's NAF rév. 2", s)
	}
	return n, nil
}

// parseNAFShape checks only the shape and the division and normalises. It
// decodes recorded events: a fact recorded before the closed list was
// enforced must still be read back as it was recorded.
func parseNAFShape(s string) (NAFCode, error) {
	var d string
	switch len(s) {
	case 6:
		if s[2] != '.' {
			return NAFCode{}, fmt.Errorf("NAF code %q must be NN.NNL or NNNNL", s)
		}
		d = s[:2] + s[3:]
	case 5:
		d = s
	default:
		return NAFCode{}, fmt.Errorf("NAF code %q must be NN.NNL or NNNNL", s)
	}
	if !allDigits(d[:4]) {
		return NAFCode{}, fmt.Errorf("NAF code %q must be NN.NNL or NNNNL", s)
	}
	letter := d[4]
	if letter >= 'a' && letter <= 'z' {
		letter -= 'a' - 'A'
	}
	if letter < 'A' || letter > 'Z' {
		return NAFCode{}, fmt.Errorf("NAF code %q must end with a letter", s)
	}
	div := int(d[0]-'0')*10 + int(d[1]-'0')
	if sectionOf(div) == 0 {
		return NAFCode{}, fmt.Errorf("NAF code %q: division %02d does not exist in NAF rév. 2", s, div)
	}
	return NAFCode{d[:2] + "." + d[2:4] + string(letter)}, nil
}

// String returns the normalised code, "NN.NNL".
func (n NAFCode) String() string { return n.s }

// Division returns the code's division, its first two digits (1 to 99).
func (n NAFCode) Division() int { return int(n.s[0]-'0')*10 + int(n.s[1]-'0') }

// Section returns the code's section letter, 'A' to 'U'.
func (n NAFCode) Section() byte { return sectionOf(n.Division()) }

// MarshalJSON encodes the code as a JSON string.
func (n NAFCode) MarshalJSON() ([]byte, error) { return json.Marshal(n.s) }

// UnmarshalJSON decodes and normalises a JSON string. It checks the shape
// only, not the closed list: JSON is how recorded events and read models
// are read back, and input goes through ParseNAF.
func (n *NAFCode) UnmarshalJSON(b []byte) error { return unmarshalParsed(b, n, parseNAFShape) }

// nafSections maps the first and last division of each section of NAF rév. 2.
var nafSections = []struct {
	first, last int
	section     byte
	label       string
}{
	{1, 3, 'A', "Agriculture, forestry and fishing"},
	{5, 9, 'B', "Mining and quarrying"},
	{10, 33, 'C', "Manufacturing"},
	{35, 35, 'D', "Electricity, gas, steam and air conditioning supply"},
	{36, 39, 'E', "Water supply, sewerage, waste management and remediation"},
	{41, 43, 'F', "Construction"},
	{45, 47, 'G', "Wholesale and retail trade, repair of motor vehicles"},
	{49, 53, 'H', "Transportation and storage"},
	{55, 56, 'I', "Accommodation and food service activities"},
	{58, 63, 'J', "Information and communication"},
	{64, 66, 'K', "Financial and insurance activities"},
	{68, 68, 'L', "Real estate activities"},
	{69, 75, 'M', "Professional, scientific and technical activities"},
	{77, 82, 'N', "Administrative and support service activities"},
	{84, 84, 'O', "Public administration and defence, compulsory social security"},
	{85, 85, 'P', "Education"},
	{86, 88, 'Q', "Human health and social work activities"},
	{90, 93, 'R', "Arts, entertainment and recreation"},
	{94, 96, 'S', "Other service activities"},
	{97, 98, 'T', "Activities of households as employers"},
	{99, 99, 'U', "Activities of extraterritorial organisations and bodies"},
}

// nafDivisionsMissing are the numbers inside a section's range that are not
// divisions of NAF rév. 2.
var nafDivisionsMissing = map[int]bool{4: true, 34: true, 40: true, 44: true, 48: true, 54: true, 57: true, 67: true, 76: true, 83: true, 89: true}

// sectionOf returns the section of a division, or 0 if there is no such
// division.
func sectionOf(div int) byte {
	if nafDivisionsMissing[div] {
		return 0
	}
	for _, s := range nafSections {
		if div >= s.first && div <= s.last {
			return s.section
		}
	}
	return 0
}

// SectionLabel returns the English label of a NAF section letter, or "" for
// an unknown letter.
func SectionLabel(section byte) string {
	for _, s := range nafSections {
		if s.section == section {
			return s.label
		}
	}
	return ""
}
