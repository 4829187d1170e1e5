package domain

import (
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Free text (a company name, a decree reference, a cancellation reason) is
// stored for ever in the log and shown to people, in browsers, terminals
// and spreadsheets. checkFreeText refuses what can only be a mistake or a
// trick there:
//   - invalid UTF-8;
//   - control characters (Unicode category Cc: NUL, tab, newline, escape,
//     C1 controls…) and the line and paragraph separators U+2028, U+2029;
//   - the bidirectional embeddings, overrides and isolates U+202A–U+202E
//     and U+2066–U+2069, which reorder what a reader sees ("Trojan
//     Source");
//   - text with no visible character: only spaces, zero-width and other
//     format characters (U+200B, U+200D, U+FEFF, U+2060…), combining marks
//     or blank fillers (U+3164, U+115F, U+1160, U+FFA0, U+2800).
//
// It does not normalise: the domain imports only the standard library, and
// Unicode normalisation (NFC) needs golang.org/x/text, so the HTTP decoding
// layer puts free text in NFC before it reaches the domain (docs/API.md).
// Leading "=", "+", "-" or "@" are allowed (a company may be called
// "+Simple"): the CSV export neutralises formula injection where it
// matters, on the way out.
func checkFreeText(s string) error {
	if !utf8.ValidString(s) {
		return errors.New("must be valid UTF-8")
	}
	visible := false
	for i, r := range s {
		switch {
		case unicode.Is(unicode.Cc, r) || r == '\u2028' || r == '\u2029':
			return fmt.Errorf("must not contain control characters (U+%04X at byte %d)", r, i)
		case isBidiControl(r):
			return fmt.Errorf("must not contain bidirectional control characters (U+%04X at byte %d)", r, i)
		case !visible && !isInvisible(r):
			visible = true
		}
	}
	if !visible {
		return errors.New("must contain a visible character")
	}
	return nil
}

// isBidiControl reports whether r is a bidirectional embedding, override
// or isolate: U+202A–U+202E, U+2066–U+2069.
func isBidiControl(r rune) bool {
	return (r >= '\u202A' && r <= '\u202E') || (r >= '\u2066' && r <= '\u2069')
}

// isInvisible reports whether r shows nothing on its own: white space,
// format characters (zero-width space, joiners, BOM, word joiner…),
// combining marks and the blank fillers.
func isInvisible(r rune) bool {
	switch r {
	case '\u115F', '\u1160', '\u3164', '\uFFA0', '\u2800':
		return true
	}
	return unicode.IsSpace(r) || unicode.In(r, unicode.Zs, unicode.Cf, unicode.Mn, unicode.Me, unicode.Mc)
}
