package domain

import (
	"encoding/json"
	"fmt"
)

// RegionCode is an INSEE region code (2 digits, e.g. "11" for
// Île-de-France; "01" to "06" overseas).
type RegionCode struct{ s string }

// regions maps the INSEE codes of the current regions to their names.
var regions = map[string]string{
	"01": "Guadeloupe",
	"02": "Martinique",
	"03": "Guyane",
	"04": "La Réunion",
	"05": "Saint-Pierre-et-Miquelon",
	"06": "Mayotte",
	"11": "Île-de-France",
	"24": "Centre-Val de Loire",
	"27": "Bourgogne-Franche-Comté",
	"28": "Normandie",
	"32": "Hauts-de-France",
	"44": "Grand Est",
	"52": "Pays de la Loire",
	"53": "Bretagne",
	"75": "Nouvelle-Aquitaine",
	"76": "Occitanie",
	"84": "Auvergne-Rhône-Alpes",
	"93": "Provence-Alpes-Côte d'Azur",
	"94": "Corse",
}

// ParseRegion checks that s is a known INSEE region code.
func ParseRegion(s string) (RegionCode, error) {
	if _, ok := regions[s]; !ok {
		return RegionCode{}, fmt.Errorf("region %q is not an INSEE region code", s)
	}
	return RegionCode{s}, nil
}

// String returns the 2-digit code.
func (r RegionCode) String() string { return r.s }

// Name returns the region's name, e.g. "Bretagne".
func (r RegionCode) Name() string { return regions[r.s] }

// MarshalJSON encodes the code as a JSON string.
func (r RegionCode) MarshalJSON() ([]byte, error) { return json.Marshal(r.s) }

// UnmarshalJSON decodes and checks a JSON string.
func (r *RegionCode) UnmarshalJSON(b []byte) error { return unmarshalParsed(b, r, ParseRegion) }

// RegionCodes returns every known region code, in ascending order.
func RegionCodes() []RegionCode {
	out := make([]RegionCode, 0, len(regions))
	for _, c := range []string{"01", "02", "03", "04", "05", "06", "11", "24", "27", "28", "32", "44", "52", "53", "75", "76", "84", "93", "94"} {
		out = append(out, RegionCode{c})
	}
	return out
}
