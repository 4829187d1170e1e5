package securityreport

import "time"

// processStart is when this process loaded the package: the reference of
// the monotonic vs wall clock comparison.
var processStart = time.Now()

// Clock is the host clock's status as far as it can be checked from the
// process, and what could not be.
type Clock struct {
	// NowUTC is the wall clock when the report was built.
	NowUTC time.Time `json:"nowUtc"`
	// ProcessStart is when the process started (wall clock, UTC).
	ProcessStart time.Time `json:"processStart"`
	// WallStepSeconds is how far the wall clock moved apart from the
	// monotonic clock since the process started: steps and slews of the
	// wall clock (an NTP correction, an operator's date command). Near 0
	// on a quiet host.
	WallStepSeconds float64 `json:"wallStepSeconds"`
	// Kernel is the kernel's time-keeping status (adjtimex), nil where it
	// cannot be read.
	Kernel *KernelClock `json:"kernel,omitempty"`
	// KernelError is why Kernel is nil.
	KernelError string `json:"kernelError,omitempty"`
	// EntriesInOrder is true when every entry of the period has a time no
	// earlier than the entry before it; OutOfOrder counts the others and
	// MaxBackstepMs is the largest step back (entries of several
	// instances, or queued before publishing, can step back a little).
	EntriesInOrder bool    `json:"entriesInOrder"`
	OutOfOrder     int     `json:"outOfOrder"`
	MaxBackstepMs  float64 `json:"maxBackstepMs"`
	// NotChecked lists what the report does not verify about time.
	NotChecked []string `json:"notChecked"`
}

// KernelClock is what adjtimex(2) says of the system clock.
type KernelClock struct {
	// Synchronized is false when the kernel flags the clock as
	// unsynchronized (STA_UNSYNC, or the TIME_ERROR state): no time
	// daemon has disciplined it recently.
	Synchronized bool `json:"synchronized"`
	// State is adjtimex's return: "ok", "error", "ins", "del", "oop",
	// "wait", or the number.
	State string `json:"state"`
	// MaxErrorMicros and EstErrorMicros are the kernel's maximum and
	// estimated error of the clock, in microseconds.
	MaxErrorMicros int64 `json:"maxErrorMicros"`
	EstErrorMicros int64 `json:"estErrorMicros"`
}

// wallTolerance is the wall-vs-monotonic drift beyond which the report
// raises a finding.
const wallTolerance = time.Second

// orderTolerance is the step back between consecutive entries beyond
// which the report raises a finding: entries are queued up to a batch
// before being published, and instances' clocks differ a little.
const orderTolerance = 5 * time.Second

func clockStatus(now time.Time, a *analysis) Clock {
	t := time.Now()
	mono := t.Sub(processStart)
	wall := t.Round(0).Sub(processStart.Round(0))
	c := Clock{
		NowUTC: now.UTC(), ProcessStart: processStart.UTC().Round(0), WallStepSeconds: (wall - mono).Seconds(),
		EntriesInOrder: a.outOfOrder == 0, OutOfOrder: a.outOfOrder, MaxBackstepMs: float64(a.maxBackstep) / float64(time.Millisecond),
		NotChecked: []string{
			"which time source disciplines the clock (NTP or PTP server, its stratum and authenticity): ask the host's time daemon (chronyc tracking, timedatectl)",
			"the offset to a reference clock: the report has no trusted time source to compare with",
			"the clocks of the other instances, beyond the order of the entries they recorded",
			"wall clock steps before this process started",
		},
	}
	k, err := kernelClock()
	if err != nil {
		c.KernelError = err.Error()
	} else {
		c.Kernel = k
	}
	return c
}
