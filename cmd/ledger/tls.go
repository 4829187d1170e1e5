package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/attestation-ledger/attestation-ledger/internal/tlsconfig"
)

// reloadTLSOnHangup reloads the TLS certificate, key and client CA (with
// its CRLs) on each SIGHUP until ctx ends or the returned stop is called.
// A reload that fails keeps the material in use and logs why.
func reloadTLSOnHangup(ctx context.Context, s *tlsconfig.Server, log *slog.Logger) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-done:
				return
			case <-hup:
				if err := s.Reload(); err != nil {
					log.Error("TLS reload failed; serving the previous certificate", "event", "tls.reload", "err", err)
					continue
				}
				log.Info("TLS material reloaded", "event", "tls.reload", "subject", s.Leaf().Subject.String(), "not_after", s.Leaf().NotAfter.UTC())
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		close(done)
	}
}
