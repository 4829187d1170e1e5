package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"

	"github.com/spf13/cobra"

	"github.com/attestation-ledger/attestation-ledger/domain"
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
			c, err := newAPIClient(v, domain.RoleAdmin, "ledger-cli")
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			resp, err := c.do(ctx, http.MethodPost, "/v1/admin/projections/rebuild", nil)
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
			fmt.Fprintf(cmd.OutOrStdout(), "rebuilt read models: %d events in %.2fs (%.0f events/s), up to position %d, %d dead letters\n",
				line.Applied, line.Seconds, rate, line.Position, line.DeadLetters)
			return nil
		},
	}
	addClientFlags(rebuild)
	p.AddCommand(rebuild)
	return p
}
