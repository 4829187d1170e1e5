package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/attestation-ledger/attestation-ledger/auth"
	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/internal/datadir"
	"github.com/attestation-ledger/attestation-ledger/internal/errs"
)

// tokenTTL is the lifetime of the tokens the client mints.
const tokenTTL = 2 * time.Hour

// apiClient is the one client of a running server's API that every client
// command uses (demo, bench, export, projections rebuild). It calls as any
// principal with tokens minted from the data dir's key, or with the one
// token given (--token).
type apiClient struct {
	base string
	// servers are the instances of --server (comma-separated): calls go to
	// each in turn, as behind a load balancer.
	servers []string
	turn    atomic.Uint64
	http    *http.Client
	// given is --token; when set, every call uses it.
	given string
	// signer mints tokens; keyDir is where its key was read, for the
	// message of a 401.
	signer *auth.Signer
	keyDir string

	mu     sync.Mutex
	tokens map[auth.Principal]string
}

// addClientFlags declares the flags of commands that talk to a server.
func addClientFlags(cmd *cobra.Command) {
	addSettingFlags(cmd, "server", "token", "data-dir", "keys-dir", "token-lifetimes")
}

// newAPIClient returns a client of --server. Unless --token is set (and
// the command has that flag), tokens are minted with the key of the
// existing data dir: a client command never creates a data dir or a key.
// conns bounds the idle connections kept per host.
func newAPIClient(v *viper.Viper, conns int) (*apiClient, error) {
	c := &apiClient{
		base:   strings.TrimSpace(v.GetString("server")),
		http:   &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: conns}},
		given:  strings.TrimSpace(v.GetString("token")),
		tokens: map[auth.Principal]string{},
	}
	for _, s := range strings.Split(c.base, ",") {
		if s = strings.TrimRight(strings.TrimSpace(s), "/"); s != "" {
			c.servers = append(c.servers, s)
		}
	}
	if len(c.servers) == 0 {
		return nil, errs.New(errs.Invalid, "--server: want the base URL of a running server")
	}
	if c.given != "" {
		return c, nil
	}
	keys, err := existingKeys(v)
	if err != nil {
		return nil, fmt.Errorf("mint a token: %w", err)
	}
	s, err := keys.LoadTokenKey()
	if err != nil {
		return nil, fmt.Errorf("mint a token: %w", err)
	}
	lifetimes, err := auth.ParseLifetimes(v.GetString("token-lifetimes"))
	if err != nil {
		return nil, err
	}
	s.SetLifetimes(lifetimes)
	c.signer, c.keyDir = s, datadir.Abs(keys.Dir)
	return c, nil
}

// existingKeys returns the keys dir of --keys-dir, or of the existing data
// dir of --data-dir (failing, creating nothing, when it does not exist),
// after moving a token key left at the data dir's old place into it.
func existingKeys(v *viper.Viper) (datadir.Keys, error) {
	dirs := datadir.New(v.GetString("data-dir"))
	keys := dirs.KeysDir(v.GetString("keys-dir"))
	if v.GetString("keys-dir") == "" {
		if err := dirs.MustExist(); err != nil {
			return keys, err
		}
	} else if err := keys.MustExist(); err != nil {
		return keys, err
	}
	if _, _, err := dirs.MoveLegacyTokenKey(keys); err != nil {
		return keys, err
	}
	return keys, nil
}

// token returns the token to call as p.
func (c *apiClient) token(p auth.Principal) (string, error) {
	if c.given != "" {
		return c.given, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.tokens[p]; ok {
		return t, nil
	}
	// No longer than the role may have (an admin token lives 1 h).
	t, err := c.signer.Issue(p, min(tokenTTL, c.signer.Lifetimes().Max(p.Role)))
	if err != nil {
		return "", fmt.Errorf("mint a token: %w", err)
	}
	c.tokens[p] = t
	return t, nil
}

// apiError is a call that failed: the server could not be reached, or it
// answered with an error status. Its message is one line.
type apiError struct {
	method, path string
	// status is 0 when the server was not reached.
	status int
	// title and detail are the problem's (or the body's first line).
	title, detail string
	// hint says what to do about it.
	hint string
	err  error
}

func (e *apiError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: ", e.method, e.path)
	if e.status == 0 {
		fmt.Fprintf(&b, "%v", e.err)
	} else {
		fmt.Fprintf(&b, "%d %s", e.status, e.title)
		if e.detail != "" && e.detail != e.title {
			fmt.Fprintf(&b, ": %s", e.detail)
		}
	}
	if e.hint != "" {
		fmt.Fprintf(&b, " (%s)", e.hint)
	}
	return oneLine(b.String())
}

func (e *apiError) Unwrap() error { return e.err }

// short is the error without the path (which holds ids): the key under
// which demo and bench count errors.
func (e *apiError) short() string {
	if e.status == 0 {
		return oneLine(e.Error())
	}
	return fmt.Sprintf("%s: %d %s", e.method, e.status, e.title)
}

// errorKey is the key under which demo and bench count err.
func errorKey(err error) string {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.short()
	}
	return oneLine(err.Error())
}

// oneLine folds s onto one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// fatal reports whether err means that no further call can succeed: the
// server is unreachable or refuses the token.
func fatal(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && (ae.status == 0 || ae.status == http.StatusUnauthorized)
}

// failure builds the apiError of an answer with an error status.
func (c *apiClient) failure(method, path string, status int, body []byte) *apiError {
	e := &apiError{method: method, path: path, status: status, title: http.StatusText(status)}
	var p struct{ Title, Detail string }
	if json.Unmarshal(body, &p) == nil && p.Title != "" {
		e.title, e.detail = p.Title, p.Detail
	} else if first, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n"); first != "" {
		e.detail = first
	}
	e.err = errs.Errorf(kindOfStatus(status), "%d %s", status, e.title)
	if status == http.StatusUnauthorized {
		e.title, e.detail = "from "+c.base, ""
		if c.given != "" {
			e.hint = "the server refused the given --token: expired, or signed by another key than the server's"
		} else {
			e.hint = fmt.Sprintf("the server refused the token minted from the key in %s: is the server using another --data-dir or --keys-dir?", c.keyDir)
		}
	}
	return e
}

// kindOfStatus is the error kind of an HTTP error status.
func kindOfStatus(status int) errs.Kind {
	switch {
	case status == http.StatusUnauthorized:
		return errs.Unauthenticated
	case status == http.StatusForbidden:
		return errs.Forbidden
	case status == http.StatusNotFound:
		return errs.NotFound
	case status == http.StatusConflict:
		return errs.Conflict
	case status == http.StatusTooManyRequests:
		return errs.TooBusy
	case status >= 500:
		return errs.Unavailable
	default:
		return errs.Invalid
	}
}

// send sends one request as p and returns the response whatever its
// status; headers are name, value pairs. An error means the server was not
// reached.
func (c *apiClient) send(ctx context.Context, p auth.Principal, method, path string, body []byte, headers ...string) (*http.Response, error) {
	tok, err := c.token(p)
	if err != nil {
		return nil, err
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	server := c.servers[(c.turn.Add(1)-1)%uint64(len(c.servers))]
	req, err := http.NewRequestWithContext(ctx, method, server+path, rd)
	if err != nil {
		return nil, &apiError{method: method, path: path, err: err}
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		e := &apiError{method: method, path: path, err: errs.Wrap(errs.Unavailable, err)}
		if ctx.Err() == nil {
			e.hint = "is `ledger serve` running at " + server + "? see --server"
		}
		return nil, e
	}
	return resp, nil
}

// call sends one request as p and returns the status and the body; an
// error means the server was not reached.
func (c *apiClient) call(ctx context.Context, p auth.Principal, method, path string, body []byte, headers ...string) (int, []byte, error) {
	resp, err := c.send(ctx, p, method, path, body, headers...)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, &apiError{method: method, path: path, err: fmt.Errorf("read the answer: %w", err)}
	}
	return resp.StatusCode, data, nil
}

// expect is call that fails unless the status is want (any 2xx when want
// is 0).
func (c *apiClient) expect(ctx context.Context, p auth.Principal, want int, method, path string, body []byte, headers ...string) ([]byte, error) {
	status, data, err := c.call(ctx, p, method, path, body, headers...)
	if err != nil {
		return nil, err
	}
	if (want == 0 && status/100 != 2) || (want != 0 && status != want) {
		return nil, c.failure(method, path, status, data)
	}
	return data, nil
}

// get returns the body of a successful GET as p.
func (c *apiClient) get(ctx context.Context, p auth.Principal, path string) ([]byte, error) {
	return c.expect(ctx, p, 0, http.MethodGet, path, nil)
}

// post sends body as JSON as p and decodes a successful answer into out.
func (c *apiClient) post(ctx context.Context, p auth.Principal, path string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	data, err := c.expect(ctx, p, 0, http.MethodPost, path, b)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode the answer: %w", http.MethodPost, path, err)
	}
	return nil
}

// stream sends a request as p and returns the response of a successful
// one, whose body the caller reads and closes.
func (c *apiClient) stream(ctx context.Context, p auth.Principal, method, path string) (*http.Response, error) {
	resp, err := c.send(ctx, p, method, path, nil)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, c.failure(method, path, resp.StatusCode, data)
	}
	return resp, nil
}

// check makes sure the server answers and accepts the client's tokens,
// so that a command fails at once, with one clear line, rather than after
// thousands of failed calls.
func (c *apiClient) check(ctx context.Context) error {
	_, err := c.get(ctx, auth.Principal{Role: domain.RoleAuditor, Subject: "ledger-cli"}, "/v1/ledger/verifier-key")
	return err
}
