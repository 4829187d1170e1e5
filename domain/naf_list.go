package domain

import (
	_ "embed"
	"slices"
)

// nafRev2CSV is INSEE's list of the 732 sub-classes (sous-classes, level 5)
// of the Nomenclature d'activités française, NAF rév. 2 (2008), with their
// French labels: INSEE's file naf2008_liste_n5.xls ("NAF rév. 2, 2008 -
// Niveau 5 - Liste des sous-classes"), as CSV. data/README.md names the
// copy it was taken from and how it was checked.
//
//go:embed data/naf_rev2.csv
var nafRev2CSV string

// nafSubclassCount is the number of sub-classes of NAF rév. 2.
const nafSubclassCount = 732

// nafLabels maps each sub-class, "NN.NNL", to its French label.
var nafLabels = loadCodeList("data/naf_rev2.csv", nafRev2CSV, nafSubclassCount, func(c string) bool {
	return len(c) == 6 && c[2] == '.' && allDigits(c[:2]+c[3:5]) && c[5] >= 'A' && c[5] <= 'Z' && sectionOf(int(c[0]-'0')*10+int(c[1]-'0')) != 0
})

// NAFLabel returns the French label of a NAF rév. 2 sub-class given as
// "NN.NNL" (e.g. "56.10A": "Restauration traditionnelle"), and whether the
// code is one.
func NAFLabel(code string) (string, bool) {
	l, ok := nafLabels[code]
	return l, ok
}

// Label returns the code's French label, or "" for a code that is not a
// sub-class of NAF rév. 2 (only a recorded event from before the list was
// enforced can hold one).
func (n NAFCode) Label() string { return nafLabels[n.s] }

// Known reports whether the code is one of the 732 sub-classes of NAF
// rév. 2.
func (n NAFCode) Known() bool {
	_, ok := nafLabels[n.s]
	return ok
}

// NAFSubclasses returns every sub-class of NAF rév. 2, "NN.NNL", in
// ascending order.
func NAFSubclasses() []string {
	out := make([]string, 0, len(nafLabels))
	for c := range nafLabels {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}
