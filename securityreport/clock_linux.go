package securityreport

import (
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"
)

// kernelClock reads the kernel's clock status with adjtimex(2) in read
// mode (no privilege needed, nothing changed).
func kernelClock() (*KernelClock, error) {
	var tx unix.Timex
	state, err := unix.Adjtimex(&tx)
	if err != nil {
		return nil, fmt.Errorf("adjtimex: %w", err)
	}
	names := map[int]string{unix.TIME_OK: "ok", unix.TIME_INS: "ins", unix.TIME_DEL: "del", unix.TIME_OOP: "oop", unix.TIME_WAIT: "wait", unix.TIME_ERROR: "error"}
	name, ok := names[state]
	if !ok {
		name = strconv.Itoa(state)
	}
	return &KernelClock{
		Synchronized:   state != unix.TIME_ERROR && tx.Status&unix.STA_UNSYNC == 0,
		State:          name,
		MaxErrorMicros: int64(tx.Maxerror),
		EstErrorMicros: int64(tx.Esterror),
	}, nil
}
