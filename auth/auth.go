// Package auth issues and verifies the bearer tokens of the API: JWTs signed
// with EdDSA (Ed25519) by the server's own key, carrying the caller's role
// and subject (a company's SIREN, a bank's code).
package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/internal/errs"
	"github.com/attestation-ledger/attestation-ledger/internal/keyfile"
)

// KeyFile is the name of the signing key's file in the keys dir (and, before
// the keys dir, in the data dir).
//
// WARNING: a persisted contract: renaming it would lose every issued token.
const KeyFile = "jwt-ed25519.pem"

// ErrUnauthenticated is the error of a missing, malformed, forged or expired
// token.
var ErrUnauthenticated = errs.New(errs.Unauthenticated, "unauthenticated")

// Principal is an authenticated caller.
type Principal struct {
	Role    domain.Role
	Subject string
	// TokenID is the id (jti) of the token it authenticated with, empty
	// for a token without one (an external issuer's may have none).
	TokenID string
}

// TokenIssuer is the iss claim of the server's own tokens, and
// TokenAudience their aud claim: a token of the same key made for
// another purpose, or by another issuer, is refused.
//
// WARNING: a public contract (docs/API.md); changing either refuses every
// token already issued.
const (
	TokenIssuer   = "attestation-ledger"
	TokenAudience = "attestation-ledger-api"
)

// leeway is the clock skew tolerated on exp, nbf and iat.
const leeway = 30 * time.Second

// Actor returns the principal as the domain's actor.
func (p Principal) Actor() domain.Actor { return domain.Actor{Role: p.Role, ID: p.Subject} }

// claims are the token's claims: the registered ones and the role.
type claims struct {
	Role string `json:"role"`
	jwt.RegisteredClaims
}

// Signer signs and verifies tokens with one Ed25519 key.
type Signer struct {
	priv ed25519.PrivateKey
	pub  ed25519.PublicKey
	// now is the clock, replaceable in tests.
	now func() time.Time
	// lifetimes are the maximum lifetimes by role.
	lifetimes Lifetimes
	// verified remembers tokens whose signature was checked, so that a
	// client reusing its token costs one signature check, not one per
	// request. Entries expire with their token.
	mu       sync.Mutex
	verified map[string]verifiedToken
}

type verifiedToken struct {
	p   Principal
	exp time.Time
}

// maxVerified bounds the verified-token cache; when full it is emptied.
const maxVerified = 100_000

// NewSigner returns a signer for a private key.
func NewSigner(priv ed25519.PrivateKey) *Signer {
	return &Signer{priv: priv, pub: priv.Public().(ed25519.PublicKey), now: time.Now, lifetimes: DefaultLifetimes(), verified: map[string]verifiedToken{}}
}

// SetLifetimes sets the maximum lifetimes by role (DefaultLifetimes until
// then), enforced by Issue and Verify. Call it before using the signer.
func (s *Signer) SetLifetimes(l Lifetimes) {
	s.lifetimes = l
}

// Lifetimes returns the maximum lifetimes by role.
func (s *Signer) Lifetimes() Lifetimes { return s.lifetimes }

// LoadOrCreateKey reads the signing key KeyFile from dir, creating it
// (mode 0600) if there is none yet.
func LoadOrCreateKey(dir string) (*Signer, error) {
	return LoadOrCreateKeyFile(filepath.Join(dir, KeyFile))
}

// LoadOrCreateKeyFile reads the signing key at path, creating it (mode
// 0600, atomically, never over an existing key) if there is none yet. A
// key readable by group or others is refused (keyfile.ErrExposed).
func LoadOrCreateKeyFile(path string) (*Signer, error) {
	s, err := LoadKeyFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return s, err
	}
	s, err = GenerateKey()
	if err != nil {
		return nil, err
	}
	pemKey, err := s.PrivateKeyPEM()
	if err != nil {
		return nil, err
	}
	// Two processes starting at once must not overwrite each other's
	// key: the loser reads the winner's.
	if err := keyfile.Create(path, 0o600, pemKey); errors.Is(err, fs.ErrExist) {
		return LoadKeyFile(path)
	} else if err != nil {
		return nil, fmt.Errorf("create token key: %w", err)
	}
	return s, nil
}

// LoadKeyFile reads the signing key at path. It fails with an error
// matching fs.ErrNotExist if there is none, and with keyfile.ErrExposed if
// group or others can read it.
func LoadKeyFile(path string) (*Signer, error) {
	b, err := keyfile.Read(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, keyfile.ErrExposed) {
			return nil, err
		}
		return nil, fmt.Errorf("read token key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("token key %s: not a PEM private key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("token key %s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("token key %s: not an Ed25519 key", path)
	}
	return NewSigner(priv), nil
}

// GenerateKey returns a signer with a new random key.
func GenerateKey() (*Signer, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate token key: %w", err)
	}
	return NewSigner(priv), nil
}

// PrivateKeyPEM returns the signing key as a PKCS #8 PEM block, the format
// of the key file.
func (s *Signer) PrivateKeyPEM() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(s.priv)
	if err != nil {
		return nil, fmt.Errorf("encode token key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// PublicKeyPEM returns the verifying key as a PKIX PEM block ("PUBLIC
// KEY"): what another service needs to verify the tokens.
func (s *Signer) PublicKeyPEM() ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(s.pub)
	if err != nil {
		return nil, fmt.Errorf("encode token public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// ValidatePrincipal checks that a role exists and that the subject has the
// shape the role requires (a valid SIREN for a company, a 5-digit code for
// a bank, a non-empty id otherwise).
func ValidatePrincipal(role, subject string) (Principal, error) {
	r, ok := domain.ParseRole(role)
	if !ok {
		return Principal{}, fmt.Errorf("role %q must be company, bank, auditor, regulator or admin", role)
	}
	switch r {
	case domain.RoleCompany:
		if _, err := domain.ParseSIREN(subject); err != nil {
			return Principal{}, fmt.Errorf("a company's subject must be its SIREN: %w", err)
		}
	case domain.RoleBank:
		if _, err := domain.ParseBankCode(subject); err != nil {
			return Principal{}, fmt.Errorf("a bank's subject must be its code: %w", err)
		}
	default:
		if subject == "" || len(subject) > 128 {
			return Principal{}, fmt.Errorf("subject must be 1 to 128 bytes")
		}
	}
	return Principal{Role: r, Subject: subject}, nil
}

// Issue returns a token for a principal, valid for ttl, which must not
// exceed the role's maximum lifetime. The token carries iss
// (TokenIssuer), aud (TokenAudience) and a random jti, by which it can be
// revoked.
func (s *Signer) Issue(p Principal, ttl time.Duration) (string, error) {
	t, _, err := s.IssueID(p, ttl)
	return t, err
}

// IssueID is Issue, also returning the token's id (jti).
func (s *Signer) IssueID(p Principal, ttl time.Duration) (token, jti string, err error) {
	if _, err := ValidatePrincipal(string(p.Role), p.Subject); err != nil {
		return "", "", errs.Wrap(errs.Invalid, fmt.Errorf("issue token: %w", err))
	}
	if ttl <= 0 {
		return "", "", errs.New(errs.Invalid, "issue token: ttl must be positive")
	}
	if m := s.lifetimes.Max(p.Role); ttl > m {
		return "", "", errs.Errorf(errs.Invalid, "issue token: ttl %s exceeds the maximum lifetime of a %s token, %s (see token-lifetimes)", ttl, p.Role, m)
	}
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", "", fmt.Errorf("issue token: %w", err)
	}
	jti = base64.RawURLEncoding.EncodeToString(id[:])
	now := s.now()
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims{
		Role: string(p.Role),
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    TokenIssuer,
			Audience:  jwt.ClaimStrings{TokenAudience},
			Subject:   p.Subject,
			ID:        jti,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
	})
	signed, err := t.SignedString(s.priv)
	if err != nil {
		return "", "", fmt.Errorf("sign token: %w", err)
	}
	return signed, jti, nil
}

// Verify checks a token's signature (EdDSA only: "none" and every other
// algorithm are refused), its type (JWT), its iss and aud, its expiry,
// its iat (required, not in the future beyond the leeway), its lifetime
// (exp - iat, at most the role's), its jti (required) and its role and
// subject, and returns the principal. Time claims must be JSON numbers.
// Every failure matches ErrUnauthenticated.
func (s *Signer) Verify(token string) (Principal, error) {
	now := s.now()
	s.mu.Lock()
	v, ok := s.verified[token]
	s.mu.Unlock()
	if ok && now.Before(v.exp) {
		return v.p, nil
	}
	p, exp, err := s.verify(token)
	if err != nil {
		return Principal{}, err
	}
	s.mu.Lock()
	if len(s.verified) >= maxVerified {
		clear(s.verified)
	}
	s.verified[token] = verifiedToken{p: p, exp: exp}
	s.mu.Unlock()
	return p, nil
}

// verify checks a token fully and returns its principal and expiry.
func (s *Signer) verify(token string) (Principal, time.Time, error) {
	if err := checkUnverified(token, "JWT"); err != nil {
		return Principal{}, time.Time{}, err
	}
	var c claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return s.pub, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		// One spelling per token: no non-zero padding bits.
		jwt.WithStrictDecoding(),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(TokenIssuer),
		jwt.WithAudience(TokenAudience),
		jwt.WithTimeFunc(s.now),
		jwt.WithLeeway(leeway),
	)
	if err != nil {
		return Principal{}, time.Time{}, fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	if c.IssuedAt == nil {
		return Principal{}, time.Time{}, fmt.Errorf("%w: no iat", ErrUnauthenticated)
	}
	if c.ID == "" {
		return Principal{}, time.Time{}, fmt.Errorf("%w: no jti", ErrUnauthenticated)
	}
	p, err := ValidatePrincipal(c.Role, c.Subject)
	if err != nil {
		return Principal{}, time.Time{}, fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	if life, m := c.ExpiresAt.Sub(c.IssuedAt.Time), s.lifetimes.Max(p.Role); life > m {
		return Principal{}, time.Time{}, fmt.Errorf("%w: a %s token may live %s, this one %s", ErrUnauthenticated, p.Role, m, life)
	}
	p.TokenID = c.ID
	// Remembered until the expiry, with the same leeway as the check.
	return p, c.ExpiresAt.Add(leeway), nil
}
