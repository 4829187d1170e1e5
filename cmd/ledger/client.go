package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/attestation-ledger/attestation-ledger/auth"
	"github.com/attestation-ledger/attestation-ledger/domain"
)

// apiClient calls a running server as one principal.
type apiClient struct {
	base  string
	token string
	http  *http.Client
}

// addClientFlags declares the flags of commands that talk to a server.
func addClientFlags(cmd *cobra.Command) {
	addSettingFlags(cmd, "server", "token", "data-dir")
}

// newAPIClient returns a client for --server with --token, or a token of
// the given role minted with the data dir's key.
func newAPIClient(v *viper.Viper, role domain.Role, subject string) (*apiClient, error) {
	tok := v.GetString("token")
	if tok == "" {
		s, err := auth.LoadOrCreateKey(v.GetString("data-dir"))
		if err != nil {
			return nil, err
		}
		if tok, err = s.Issue(auth.Principal{Role: role, Subject: subject}, time.Hour); err != nil {
			return nil, err
		}
	}
	return &apiClient{base: strings.TrimRight(v.GetString("server"), "/"), token: tok, http: &http.Client{}}, nil
}

// do sends a request and returns the response, or an error naming the
// problem the server answered.
func (c *apiClient) do(ctx context.Context, method, path string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(msg)))
	}
	return resp, nil
}

// get returns the body of a GET.
func (c *apiClient) get(ctx context.Context, path string) ([]byte, error) {
	resp, err := c.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}
