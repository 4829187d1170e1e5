package domain

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// AttestationNumber is an attestation's unique public number, e.g.
// "PGE-7KQ2-9XWM-HT3P-5DQC": 15 random Crockford base-32 characters (75
// bits, so numbers can be neither guessed nor enumerated) and one ISO/IEC
// 7064 MOD 37,36 check character, which catches every single mistyped
// character and every swap of two adjacent ones.
type AttestationNumber struct{ s string }

const (
	attestationPrefix = "PGE-"
	// numberBodyLen is the number of random characters.
	numberBodyLen = 15
	// NumberEntropyBytes is how many random bytes NewAttestationNumber
	// consumes (75 bits are used).
	NumberEntropyBytes = 10
	crockford          = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	alnum36            = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
)

// ErrMalformedNumber is the error of a string that cannot be an attestation
// number (wrong shape or wrong check character). It matches ErrInvalid.
var ErrMalformedNumber = fmt.Errorf("%w: malformed attestation number", ErrInvalid)

// NewAttestationNumber builds a number from NumberEntropyBytes random bytes
// (from crypto/rand in production).
func NewAttestationNumber(entropy [NumberEntropyBytes]byte) AttestationNumber {
	var body [numberBodyLen]byte
	// Take 5 bits at a time from the 80-bit entropy, most significant first.
	var acc uint64
	bits := 0
	j := 0
	for _, b := range entropy {
		acc = acc<<8 | uint64(b)
		bits += 8
		for bits >= 5 && j < numberBodyLen {
			bits -= 5
			body[j] = crockford[(acc>>bits)&31]
			j++
		}
	}
	return AttestationNumber{format(string(body[:]) + string(checkChar(string(body[:]))))}
}

// GenerateAttestationNumber reads entropy from r (crypto/rand.Reader in
// production) and builds a number.
func GenerateAttestationNumber(r io.Reader) (AttestationNumber, error) {
	var e [NumberEntropyBytes]byte
	if _, err := io.ReadFull(r, e[:]); err != nil {
		return AttestationNumber{}, fmt.Errorf("generate attestation number: %w", err)
	}
	return NewAttestationNumber(e), nil
}

// format groups the 16 characters by four behind the prefix.
func format(chars string) string {
	return attestationPrefix + chars[0:4] + "-" + chars[4:8] + "-" + chars[8:12] + "-" + chars[12:16]
}

// ParseAttestationNumber accepts a number in any letter case, with or
// without its hyphens, and returns it normalised. A string of the wrong
// shape, or whose check character does not match (a typing mistake), gives
// an error matching ErrMalformedNumber.
func ParseAttestationNumber(s string) (AttestationNumber, error) {
	u := strings.ToUpper(s)
	if !strings.HasPrefix(u, attestationPrefix) {
		return AttestationNumber{}, fmt.Errorf("%w %q: must start with %s", ErrMalformedNumber, s, attestationPrefix)
	}
	chars := strings.ReplaceAll(u[len(attestationPrefix):], "-", "")
	if len(chars) != numberBodyLen+1 {
		return AttestationNumber{}, fmt.Errorf("%w %q: must have %d characters after %s", ErrMalformedNumber, s, numberBodyLen+1, attestationPrefix)
	}
	body, check := chars[:numberBodyLen], chars[numberBodyLen]
	for i := 0; i < len(body); i++ {
		if strings.IndexByte(crockford, body[i]) < 0 {
			return AttestationNumber{}, fmt.Errorf("%w %q: character %q is not allowed", ErrMalformedNumber, s, body[i])
		}
	}
	if strings.IndexByte(alnum36, check) < 0 || checkChar(body) != check {
		return AttestationNumber{}, fmt.Errorf("%w %q: check character does not match (mistyped?)", ErrMalformedNumber, s)
	}
	return AttestationNumber{format(chars)}, nil
}

// checkChar computes the ISO/IEC 7064 MOD 37,36 (hybrid system) check
// character of body, whose characters are valued by their place in alnum36.
func checkChar(body string) byte {
	const m = 36
	p := m
	for i := 0; i < len(body); i++ {
		s := (p + strings.IndexByte(alnum36, body[i])) % m
		if s == 0 {
			s = m
		}
		p = (2 * s) % (m + 1)
	}
	return alnum36[(m+1-p)%m]
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

// IsMalformedNumber reports whether err says a number is malformed.
func IsMalformedNumber(err error) bool { return errors.Is(err, ErrMalformedNumber) }
