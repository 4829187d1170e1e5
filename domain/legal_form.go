package domain

import (
	_ "embed"
	"fmt"
	"strings"
)

// categoriesJuridiquesCSV is INSEE's closed list of legal categories
// (catégories juridiques), level III: 4-digit codes with their French
// labels. data/README.md names the copy it was taken from and how it was
// checked.
//
//go:embed data/categories_juridiques.csv
var categoriesJuridiquesCSV string

// legalCategoryCount is the number of level III categories in the list.
const legalCategoryCount = 260

// legalCategories maps each level III code to its French label.
var legalCategories = loadCodeList("data/categories_juridiques.csv", categoriesJuridiquesCSV, legalCategoryCount, func(c string) bool {
	return len(c) == 4 && allDigits(c) && c[0] != '0'
})

// legalFormAbbreviations is the closed list of usual abbreviations accepted
// for a legal form, each mapped to the level III category it stands for.
// An abbreviation that covers several categories (SA: with a board or a
// directorate; SCOP: SARL or SA) maps to the general one; a bank that
// knows better sends the 4-digit code.
//
// WARNING: a public contract (docs/API.md): removing an entry refuses
// input that was accepted.
var legalFormAbbreviations = map[string]string{
	"EI":     "1000", // Entrepreneur individuel
	"EIRL":   "1000", // an entrepreneur individuel with a dedicated estate
	"SNC":    "5202", // Société en nom collectif
	"SCS":    "5306", // Société en commandite simple
	"SCA":    "5308", // Société en commandite par actions
	"SARL":   "5499", // Société à responsabilité limitée (sans autre indication)
	"EURL":   "5498", // SARL unipersonnelle
	"SELARL": "5485", // Société d'exercice libéral à responsabilité limitée
	"SCOP":   "5458", // SARL coopérative ouvrière de production
	"SA":     "5599", // SA à conseil d'administration (s.a.i.)
	"SELAFA": "5585", // Société d'exercice libéral à forme anonyme à conseil d'administration
	"SAS":    "5710", // Société par actions simplifiée
	"SASU":   "5720", // SAS à associé unique
	"SELAS":  "5785", // Société d'exercice libéral par actions simplifiée
	"SE":     "5800", // Société européenne
	"GIE":    "6220", // Groupement d'intérêt économique
	"GEIE":   "6210", // Groupement européen d'intérêt économique
	"GAEC":   "6533", // Groupement agricole d'exploitation en commun
	"SCI":    "6540", // Société civile immobilière
	"SCCV":   "6541", // Société civile immobilière de construction-vente
	"SCP":    "6585", // Autre société civile professionnelle
	"SCM":    "6589", // Société civile de moyens
	"SCEA":   "6597", // Société civile d'exploitation agricole
	"EARL":   "6598", // Exploitation agricole à responsabilité limitée
}

// excludedLegalFamily is the prefix of the real-estate civil companies'
// categories (DOMAIN.md §3, §7): 6540 SCI, 6541 SCI de construction-vente,
// 6542 société civile d'attribution, 6543 société civile coopérative de
// construction, 6544 SCI d'accession progressive à la propriété.
const excludedLegalFamily = "654"

// normaliseLegalForm trims ASCII blanks and puts ASCII letters in
// capitals. It reports false for anything but ASCII letters and digits
// inside: look-alikes (Cyrillic, full-width, invisible characters) are not
// folded into a listed form, they are refused.
func normaliseLegalForm(s string) (string, bool) {
	s = strings.Trim(s, " \t")
	if s == "" || len(s) > 8 {
		return s, false
	}
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z':
			b[i] = c - ('a' - 'A')
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		default:
			return s, false
		}
	}
	return string(b), true
}

// LegalFormCode returns the INSEE level III category (4 digits) of a legal
// form given as its code (e.g. "5710") or as one of the usual
// abbreviations (e.g. "SAS", any case), and whether it is one. Anything
// else is not a legal form: the lists are closed.
func LegalFormCode(s string) (string, bool) {
	n, ok := normaliseLegalForm(s)
	if !ok {
		return "", false
	}
	if _, ok := legalCategories[n]; ok {
		return n, true
	}
	code, ok := legalFormAbbreviations[n]
	return code, ok
}

// LegalFormLabel returns the French label of a level III category (e.g.
// "6540": "Société civile immobilière") and whether the code is one.
func LegalFormLabel(code string) (string, bool) {
	l, ok := legalCategories[code]
	return l, ok
}

// LegalFormAbbreviations returns the accepted abbreviations and the
// category each stands for.
func LegalFormAbbreviations() map[string]string {
	out := make(map[string]string, len(legalFormAbbreviations))
	for k, v := range legalFormAbbreviations {
		out[k] = v
	}
	return out
}

// excludedLegalForm reports whether a legal form, as recorded, is excluded
// from the programme: a real-estate civil company (654x). It fails closed:
// a form that is not on the lists is excluded too (input validation refuses
// it before, so only a caller that skipped validation meets this).
func excludedLegalForm(form string) bool {
	code, ok := LegalFormCode(form)
	return !ok || strings.HasPrefix(code, excludedLegalFamily)
}

// checkLegalForm is the input check of a legal form.
func checkLegalForm(s string) error {
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("is required")
	}
	if _, ok := LegalFormCode(s); !ok {
		return fmt.Errorf("must be an INSEE catégorie juridique (4 digits, e.g. 5710) or one of %s", legalFormAbbreviationList)
	}
	return nil
}

// legalFormAbbreviationList is the accepted abbreviations, for messages.
const legalFormAbbreviationList = "EI, EIRL, SNC, SCS, SCA, SARL, EURL, SELARL, SCOP, SA, SELAFA, SAS, SASU, SELAS, SE, GIE, GEIE, GAEC, SCI, SCCV, SCP, SCM, SCEA, EARL"
