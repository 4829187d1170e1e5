package app

import (
	"github.com/attestation-ledger/attestation-ledger/internal/tlsconfig"
)

// loadTLS loads and checks the HTTP API's TLS material, if configured:
// weak material stops the start with one line, before anything opens.
func loadTLS(cfg Config) (*tlsconfig.Server, error) {
	if !cfg.TLS.Enabled() {
		return nil, nil
	}
	s, err := tlsconfig.Load(cfg.TLS, nil)
	if err != nil {
		return nil, err
	}
	leaf := s.Leaf()
	cfg.Logger.Info("TLS configured", "event", "tls.config", "cert", cfg.TLS.Cert, "subject", leaf.Subject.String(),
		"not_after", leaf.NotAfter.UTC(), "client_ca", cfg.TLS.ClientCA, "min_version", "TLS1.2")
	return s, nil
}
