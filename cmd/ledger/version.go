package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Build information, set at build time with
//
//	go build -ldflags "-X main.version=1.2.0 -X main.commit=abc1234 -X main.date=2026-11-29T10:00:00Z" ./cmd/ledger
//
// Without -X, commit and date come from the VCS stamp Go embeds (absent
// with -buildvcs=false, or when built outside a checkout): "unknown".
var (
	version = "0.1.0-dev"
	commit  = ""
	date    = ""
)

// buildInfo returns the version, the commit (with "+dirty" for a modified
// tree) and the build date (the commit's time when Go stamped it).
func buildInfo() (v, c, d string) {
	c, d = commit, date
	if bi, ok := debug.ReadBuildInfo(); ok {
		var rev, at string
		dirty := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if c == "" && rev != "" {
			c = rev
			if dirty {
				c += "+dirty"
			}
		}
		if d == "" {
			d = at
		}
	}
	if c == "" {
		c = "unknown"
	}
	if d == "" {
		d = "unknown"
	}
	return version, c, d
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, the commit and the build date",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, c, d := buildInfo()
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "ledger %s (commit %s, built %s)\n", v, c, d)
			return err
		},
	}
}
