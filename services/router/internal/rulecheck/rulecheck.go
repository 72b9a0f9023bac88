// Package rulecheck is "router check FILE...": it checks rules files the
// way the router loads them, without starting it, for CI and for an admin
// about to roll out an edit.
package rulecheck

import (
	"fmt"
	"io"

	"github.com/nemo-mqtt-bridge/bridge/services/router/internal/rules"
)

// Run checks every file, reports each on out when it is good or every
// mistake on errOut (one per line, file:line:col: message), and returns
// the exit code: 0 when all are good, 1 when one is not, 2 without files.
func Run(files []string, out, errOut io.Writer) int {
	if len(files) == 0 {
		fmt.Fprintln(errOut, "usage: router check FILE...")
		return 2
	}
	code := 0
	for _, f := range files {
		s, err := rules.Load(f)
		if err != nil {
			// An *rules.Errors names the file on each line; a read error
			// names it too.
			fmt.Fprintln(errOut, err)
			code = 1
			continue
		}
		fmt.Fprintf(out, "%s: ok (version %s, %d rules)\n", f, s.Version(), len(s.Names()))
	}
	return code
}
