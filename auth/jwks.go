package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
)

// Verifier turns a bearer token into the caller's principal; every failure
// matches ErrUnauthenticated.
type Verifier interface {
	Verify(token string) (Principal, error)
}

// JWKSConfig configures the verification of tokens issued by an external
// OIDC issuer (API.md: "or, when configured, by an external OIDC issuer
// (JWKS)").
type JWKSConfig struct {
	// URL is required: the issuer's JWK Set (its jwks_uri), refreshed in
	// the background by keyfunc.
	URL string
	// Issuer is required: the only accepted iss claim.
	Issuer string
	// Audience is optional: when set, the aud claim must contain it.
	Audience string
}

// Validate reports every missing setting.
func (c JWKSConfig) Validate() error {
	var errs []error
	if c.URL == "" {
		errs = append(errs, errors.New("jwks: URL is required"))
	}
	if c.Issuer == "" {
		errs = append(errs, errors.New("jwks: Issuer is required (tokens of any issuer would be accepted)"))
	}
	return errors.Join(errs...)
}

// jwksAlgorithms are the accepted signature algorithms of external tokens:
// asymmetric only, so a public key can never serve as an HMAC secret.
var jwksAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// JWKSVerifier verifies tokens signed by an external issuer's keys. The
// role is the token's "role" claim and the subject its "sub", as for the
// server's own tokens.
type JWKSVerifier struct {
	cfg JWKSConfig
	kf  keyfunc.Keyfunc
	now func() time.Time
}

// NewJWKSVerifier fetches the issuer's JWK Set and keeps it fresh until
// ctx is done.
func NewJWKSVerifier(ctx context.Context, cfg JWKSConfig) (*JWKSVerifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	kf, err := keyfunc.NewDefaultCtx(ctx, []string{cfg.URL})
	if err != nil {
		return nil, fmt.Errorf("jwks %s: %w", cfg.URL, err)
	}
	return &JWKSVerifier{cfg: cfg, kf: kf, now: time.Now}, nil
}

// Verify implements Verifier.
func (v *JWKSVerifier) Verify(token string) (Principal, error) {
	var c claims
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(jwksAlgorithms),
		jwt.WithExpirationRequired(),
		jwt.WithIssuer(v.cfg.Issuer),
		jwt.WithTimeFunc(v.now),
		jwt.WithLeeway(30 * time.Second),
	}
	if v.cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(v.cfg.Audience))
	}
	if _, err := jwt.ParseWithClaims(token, &c, v.kf.Keyfunc, opts...); err != nil {
		return Principal{}, fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	p, err := ValidatePrincipal(c.Role, c.Subject)
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	return p, nil
}

// Chain verifies a token with each verifier in turn and accepts it as soon
// as one does: the server's own key, then an external issuer.
type Chain struct {
	verifiers []Verifier
}

// NewChain returns a verifier trying vs in order.
func NewChain(vs ...Verifier) *Chain {
	return &Chain{verifiers: slices.Clip(vs)}
}

// Verify implements Verifier.
func (c *Chain) Verify(token string) (Principal, error) {
	var errs []error
	for _, v := range c.verifiers {
		p, err := v.Verify(token)
		if err == nil {
			return p, nil
		}
		errs = append(errs, err)
	}
	return Principal{}, fmt.Errorf("%w: %w", ErrUnauthenticated, errors.Join(errs...))
}
