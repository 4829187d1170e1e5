package main

import (
	"io"
	"os"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// newProgress returns a progress bar on stderr when it is a terminal, and a
// silent one otherwise (docs/API.md: long work stays quiet when output is not
// a terminal). The spinner of an unknown total moves on updates only: the
// library's ticking goroutine reads the bar's state without its lock.
func newProgress(total int64, what string) *progressbar.ProgressBar {
	var w io.Writer = io.Discard
	visible := term.IsTerminal(int(os.Stderr.Fd()))
	if visible {
		w = os.Stderr
	}
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetVisibility(visible),
		progressbar.OptionSetSpinnerChangeInterval(0),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionThrottle(100_000_000),
		progressbar.OptionClearOnFinish(),
	)
}
