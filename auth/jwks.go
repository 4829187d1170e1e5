package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
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
	// the background by keyfunc. It must be https://, except on a
	// loopback host (127.0.0.0/8, ::1, localhost), for tests and a local
	// sidecar.
	URL string
	// Issuer is required: the only accepted iss claim.
	Issuer string
	// Audience is required: the aud claim must contain it (without it,
	// a token the issuer made for any other service would be accepted).
	Audience string
	// MinRefreshInterval is optional: a token naming a key id the set
	// does not hold refreshes the set at most once per this interval
	// (default 10 s), so a key the issuer has just rotated in is accepted
	// within it, however many unknown key ids garbage tokens name. The
	// set is also refreshed every hour.
	MinRefreshInterval time.Duration
	// Logger is optional: where failed refreshes of the set are logged
	// (slog.Default by default).
	Logger *slog.Logger
}

// DefaultJWKSMinRefresh is the default JWKSConfig.MinRefreshInterval.
const DefaultJWKSMinRefresh = 10 * time.Second

// jwksTypes are the accepted typ headers of an external token (compared
// case-insensitively): a plain JWT, or an OAuth 2.0 access token (RFC
// 9068). An ID token or a logout token of the same issuer carries
// another, or none, and is refused.
var jwksTypes = []string{"JWT", "at+jwt", "application/at+jwt"}

// Validate reports every missing or unsafe setting.
func (c JWKSConfig) Validate() error {
	var errs []error
	if c.URL == "" {
		errs = append(errs, errors.New("jwks: URL is required"))
	} else if err := checkJWKSURL(c.URL); err != nil {
		errs = append(errs, err)
	}
	if c.Issuer == "" {
		errs = append(errs, errors.New("jwks: Issuer is required (tokens of any issuer would be accepted)"))
	}
	if c.Audience == "" {
		errs = append(errs, errors.New("jwks: Audience is required (--jwt-audience: tokens the issuer made for any other service would be accepted)"))
	}
	if c.MinRefreshInterval < 0 {
		errs = append(errs, errors.New("jwks: MinRefreshInterval must not be negative"))
	}
	return errors.Join(errs...)
}

// checkJWKSURL refuses a JWK Set URL that is not https, unless its host is
// a loopback one: keys fetched in clear text could be replaced on the way.
func checkJWKSURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("jwks: URL %q: %w", raw, err)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
			return nil
		}
		return fmt.Errorf("jwks: URL %q: must be https:// (http:// only on a loopback host)", raw)
	}
	return fmt.Errorf("jwks: URL %q: must be https://", raw)
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
	if cfg.MinRefreshInterval == 0 {
		cfg.MinRefreshInterval = DefaultJWKSMinRefresh
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{cfg.URL}, keyfunc.Override{
		Client: &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			return checkJWKSURL(req.URL.String())
		}},
		HTTPTimeout: 10 * time.Second,
		RefreshErrorHandlerFunc: func(u string) func(ctx context.Context, err error) {
			return func(ctx context.Context, err error) {
				log.WarnContext(ctx, "jwks: cannot refresh the key set", "url", u, "err", err)
			}
		},
		RefreshInterval: time.Hour,
		// One refresh per interval for unknown key ids; a request that
		// finds it used is refused at once rather than made to wait.
		RefreshUnknownKID: rate.NewLimiter(rate.Every(cfg.MinRefreshInterval), 1),
		RateLimitWaitMax:  time.Millisecond,
	})
	if err != nil {
		return nil, fmt.Errorf("jwks %s: %w", cfg.URL, err)
	}
	return &JWKSVerifier{cfg: cfg, kf: kf, now: time.Now}, nil
}

// Verify implements Verifier: the token's typ must be JWT or at+jwt, its
// iss the issuer, its aud contain the audience, its exp present and its
// iat (if any) not in the future; time claims must be JSON numbers.
func (v *JWKSVerifier) Verify(token string) (Principal, error) {
	if err := checkUnverified(token, jwksTypes...); err != nil {
		return Principal{}, err
	}
	var c claims
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(jwksAlgorithms),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(v.cfg.Issuer),
		jwt.WithAudience(v.cfg.Audience),
		jwt.WithTimeFunc(v.now),
		jwt.WithLeeway(leeway),
	}
	if _, err := jwt.ParseWithClaims(token, &c, v.kf.Keyfunc, opts...); err != nil {
		return Principal{}, fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	p, err := ValidatePrincipal(c.Role, c.Subject)
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	p.TokenID = c.ID
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
