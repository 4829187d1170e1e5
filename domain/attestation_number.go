package domain

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// AttestationNumber is an attestation's unique public number, e.g.
// "PGE-7KQ2-9XWM-HT3P-5DQ1": 15 random characters (about 74 bits, so
// numbers can be neither guessed nor enumerated) and one check character.
//
// The 31 characters are Crockford's base-32 alphabet without Z (no I, L, O
// or U to misread). The check character makes the weighted sum of the 16
// character values, with weights 1 to 16, a multiple of 31. As 31 is prime
// and the weights are distinct and non-zero modulo 31, every single
// mistyped character and every swap of two characters (adjacent or not,
// check character included) breaks the sum: a mistyped number is told
// apart from an unknown one.
type AttestationNumber struct{ s string }

const (
	attestationPrefix = "PGE-"
	// numberBodyLen is the number of random characters.
	numberBodyLen = 15
	// NumberEntropyBytes is how many random bytes NewAttestationNumber
	// takes: one per random character.
	NumberEntropyBytes = numberBodyLen
	// numberAlphabet has a prime number (31) of characters.
	numberAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXY"
	numberModulus  = len(numberAlphabet)
	// unbiasedLimit is the largest multiple of 31 not above 256: bytes
	// below it map to characters uniformly.
	unbiasedLimit = 256 / numberModulus * numberModulus
)

// ErrMalformedNumber is the error of a string that cannot be an attestation
// number (wrong shape or wrong check character). It matches ErrInvalid.
var ErrMalformedNumber = fmt.Errorf("%w: malformed attestation number", ErrInvalid)

// NewAttestationNumber builds a number from NumberEntropyBytes random
// bytes: character i is the byte's value modulo 31 (uniform when every
// byte is below 248, as GenerateAttestationNumber ensures).
func NewAttestationNumber(entropy [NumberEntropyBytes]byte) AttestationNumber {
	var chars [numberBodyLen + 1]byte
	for i, b := range entropy {
		chars[i] = numberAlphabet[int(b)%numberModulus]
	}
	chars[numberBodyLen] = checkChar(string(chars[:numberBodyLen]))
	return AttestationNumber{format(string(chars[:]))}
}

// GenerateAttestationNumber reads entropy from r (crypto/rand.Reader in
// production), rejecting bytes that would bias the characters, and builds
// a number.
func GenerateAttestationNumber(r io.Reader) (AttestationNumber, error) {
	var e [NumberEntropyBytes]byte
	var buf [NumberEntropyBytes]byte
	n := 0
	for n < len(e) {
		if _, err := io.ReadFull(r, buf[:len(e)-n]); err != nil {
			return AttestationNumber{}, fmt.Errorf("generate attestation number: %w", err)
		}
		for _, b := range buf[:len(e)-n] {
			if int(b) < unbiasedLimit {
				e[n] = b
				n++
			}
		}
	}
	return NewAttestationNumber(e), nil
}

// format groups the 16 characters by four behind the prefix.
func format(chars string) string {
	return attestationPrefix + chars[0:4] + "-" + chars[4:8] + "-" + chars[8:12] + "-" + chars[12:16]
}

// ParseAttestationNumber accepts a number in any ASCII letter case, with or
// without its hyphens, and returns it normalised. A string of the wrong
// shape, or whose check character does not match (a typing mistake), gives
// an error matching ErrMalformedNumber.
func ParseAttestationNumber(s string) (AttestationNumber, error) {
	if len(s) > 64 {
		return AttestationNumber{}, fmt.Errorf("%w: too long", ErrMalformedNumber)
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		case c >= 0x80:
			return AttestationNumber{}, fmt.Errorf("%w %q: only ASCII characters are allowed", ErrMalformedNumber, s)
		}
		b.WriteByte(c)
	}
	rest, ok := strings.CutPrefix(b.String(), "PGE")
	if !ok {
		return AttestationNumber{}, fmt.Errorf("%w %q: must start with %s", ErrMalformedNumber, s, attestationPrefix)
	}
	// Hyphens after the prefix are only for reading.
	chars := strings.ReplaceAll(rest, "-", "")
	if len(chars) != numberBodyLen+1 {
		return AttestationNumber{}, fmt.Errorf("%w %q: must have %d characters after %s", ErrMalformedNumber, s, numberBodyLen+1, attestationPrefix)
	}
	for i := 0; i < len(chars); i++ {
		if strings.IndexByte(numberAlphabet, chars[i]) < 0 {
			return AttestationNumber{}, fmt.Errorf("%w %q: character %q is not allowed", ErrMalformedNumber, s, chars[i])
		}
	}
	if checkChar(chars[:numberBodyLen]) != chars[numberBodyLen] {
		return AttestationNumber{}, fmt.Errorf("%w %q: check character does not match (mistyped?)", ErrMalformedNumber, s)
	}
	return AttestationNumber{format(chars)}, nil
}

// checkChar returns the character c that makes the weighted sum of body
// then c (weights 1, 2, …) a multiple of 31.
func checkChar(body string) byte {
	sum := 0
	for i := 0; i < len(body); i++ {
		sum += (i + 1) * strings.IndexByte(numberAlphabet, body[i])
	}
	w := len(body) + 1
	// Find v with sum + w·v ≡ 0 (mod 31): v = −sum · w⁻¹.
	for v := 0; v < numberModulus; v++ {
		if (sum+w*v)%numberModulus == 0 {
			return numberAlphabet[v]
		}
	}
	panic("unreachable: 31 is prime")
}

// String returns the normalised number, "PGE-XXXX-XXXX-XXXX-XXXX".
func (n AttestationNumber) String() string { return n.s }

// IsZero reports whether n is the zero value.
func (n AttestationNumber) IsZero() bool { return n.s == "" }

// MarshalJSON encodes the number as a JSON string.
func (n AttestationNumber) MarshalJSON() ([]byte, error) { return json.Marshal(n.s) }

// UnmarshalJSON decodes and checks a JSON string.
func (n *AttestationNumber) UnmarshalJSON(b []byte) error {
	return unmarshalParsed(b, n, ParseAttestationNumber)
}
