// Command ledger is the attestation ledger's one binary: the service, its
// tokens, its demo workload and its maintenance commands (docs/API.md).
package main

import (
	"fmt"
	"os"

	_ "time/tzdata" // business dates are Europe/Paris dates on any machine
)

func main() {
	if err := newRootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "ledger:", err)
		os.Exit(1)
	}
}
