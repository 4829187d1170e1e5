package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"

	"github.com/spf13/cobra"

	"github.com/attestation-ledger/attestation-ledger/auth"
	"github.com/attestation-ledger/attestation-ledger/domain"
	"github.com/attestation-ledger/attestation-ledger/eventstore/jetstream"
	"github.com/attestation-ledger/attestation-ledger/internal/datadir"
	"github.com/attestation-ledger/attestation-ledger/internal/dirlock"
	"github.com/attestation-ledger/attestation-ledger/projections"
)

func newProjectionsCommand() *cobra.Command {
	p := &cobra.Command{Use: "projections", Short: "Manage the read models"}
	rebuild := &cobra.Command{
		Use:   "rebuild",
		Short: "Rebuild every read model from the log; the running server swaps it in and keeps answering",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			if v.GetBool("offline") {
				return rebuildOffline(ctx, cmd, v.GetString("data-dir"))
			}
			c, err := newAPIClient(v, 2)
			if err != nil {
				return err
			}
			return rebuildOnline(ctx, cmd.OutOrStdout(), c)
		},
	}
	addClientFlags(rebuild)
	rebuild.Flags().Bool("offline", false, "rebuild in the data dir while the service is stopped, instead of asking the running server")
	p.AddCommand(rebuild)
	return p
}

// rebuildOnline asks the running server to rebuild its read models and
// follows its progress.
func rebuildOnline(ctx context.Context, w io.Writer, c *apiClient) error {
	resp, err := c.stream(ctx, auth.Principal{Role: domain.RoleAdmin, Subject: "ledger-cli"}, http.MethodPost, "/v1/admin/projections/rebuild")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	bar := newProgress(-1, "rebuilding read models")
	var line struct {
		Done        bool    `json:"done"`
		Applied     uint64  `json:"applied"`
		Total       uint64  `json:"total"`
		Position    uint64  `json:"position"`
		DeadLetters int64   `json:"deadLetters"`
		Seconds     float64 `json:"seconds"`
		Error       string  `json:"error"`
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			return fmt.Errorf("read progress: %w", err)
		}
		if line.Total > 0 {
			bar.ChangeMax64(int64(line.Total))
		}
		_ = bar.Set64(int64(line.Applied))
		if line.Done {
			break
		}
	}
	_ = bar.Finish()
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read progress: %w", err)
	}
	switch {
	case !line.Done:
		return errors.New("the server ended the rebuild without a result")
	case line.Error != "":
		return fmt.Errorf("rebuild failed: %s", line.Error)
	}
	rate := 0.0
	if line.Seconds > 0 {
		rate = float64(line.Applied) / line.Seconds
	}
	fmt.Fprintf(w, "rebuilt read models: %d events in %.2fs (%.0f events/s), up to position %d, %d dead letters\n",
		line.Applied, line.Seconds, rate, line.Position, line.DeadLetters)
	return nil
}

// rebuildOffline rebuilds the read models of a stopped service straight
// from the data dir's embedded event store.
func rebuildOffline(ctx context.Context, cmd *cobra.Command, dataDir string) error {
	dirs := datadir.New(dataDir)
	if err := dirs.MustExist(); err != nil {
		return err
	}
	if _, err := os.Stat(dirs.Store); err != nil {
		return fmt.Errorf("no event store in the data dir %s: %w", datadir.Abs(dataDir), err)
	}
	lock, err := dirlock.Acquire(dataDir)
	if err != nil {
		return err
	}
	defer lock.Release()
	collectLessOften()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := jetstream.Open(ctx, jetstream.Config{DataDir: dirs.Store, Logger: quiet})
	if err != nil {
		return fmt.Errorf("open the event store (is the service still running?): %w", err)
	}
	defer store.Close()
	rm, err := projections.Open(ctx, projections.Config{Dir: dirs.ReadModels, Store: store, Logger: quiet})
	if err != nil {
		return err
	}
	defer rm.Close()
	bar := newProgress(-1, "rebuilding read models")
	res, err := rm.Rebuild(ctx, func(done, total uint64) {
		bar.ChangeMax64(int64(total))
		_ = bar.Set64(int64(done))
	})
	_ = bar.Finish()
	if err != nil {
		return fmt.Errorf("rebuild failed: %w", err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "rebuilt read models: %d events in %.2fs (%.0f events/s), up to position %d, %d dead letters\n",
		res.Events, res.Duration.Seconds(), float64(res.Events)/max(res.Duration.Seconds(), 1e-9), res.Position, res.DeadLetters)
	return nil
}
