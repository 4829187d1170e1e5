package domain

import (
	"encoding/csv"
	"fmt"
	"io"
	"strings"
)

// loadCodeList parses an embedded closed list: a CSV file whose header is
// "code,libelle" and whose rows are a code (checked by valid) and its
// French label. It panics on a malformed file, a duplicate code or a count
// other than want: the lists ship with the binary, so a broken one is a
// build defect that the first test run reports, never a runtime condition.
func loadCodeList(name, data string, want int, valid func(string) bool) map[string]string {
	r := csv.NewReader(strings.NewReader(data))
	r.FieldsPerRecord = 2
	header, err := r.Read()
	if err != nil || header[0] != "code" || header[1] != "libelle" {
		panic(fmt.Sprintf("domain: %s: header must be code,libelle (%v)", name, err))
	}
	out := make(map[string]string, want)
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			panic(fmt.Sprintf("domain: %s: %v", name, err))
		}
		code, label := rec[0], rec[1]
		if !valid(code) || strings.TrimSpace(label) == "" {
			panic(fmt.Sprintf("domain: %s: bad row %q", name, rec))
		}
		if _, dup := out[code]; dup {
			panic(fmt.Sprintf("domain: %s: duplicate code %s", name, code))
		}
		out[code] = label
	}
	if len(out) != want {
		panic(fmt.Sprintf("domain: %s: %d codes, want %d", name, len(out), want))
	}
	return out
}
