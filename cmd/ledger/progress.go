package main

import (
	"io"
	"os"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// newProgress returns a progress bar on stderr when it is a terminal, and a
// silent one otherwise (docs/API.md: long work stays quiet when output is not a
// terminal).
func newProgress(total int64, what string) *progressbar.ProgressBar {
	var w io.Writer = io.Discard
	if term.IsTerminal(int(os.Stderr.Fd())) {
		w = os.Stderr
	}
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionThrottle(100_000_000),
		progressbar.OptionClearOnFinish(),
	)
}
