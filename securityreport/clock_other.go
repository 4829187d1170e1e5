//go:build !linux

package securityreport

import "errors"

// kernelClock: adjtimex(2) is Linux's.
func kernelClock() (*KernelClock, error) {
	return nil, errors.New("the kernel's clock status is read on Linux only")
}
