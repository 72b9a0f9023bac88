// Package envflag lets every flag also be set from the environment, the way
// containers are configured, while a flag on the command line still wins.
package envflag

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

// Name is the environment variable that backs a flag: "redis-url" reads
// REDIS_URL.
func Name(flagName string) string {
	return strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Parse parses args into fs, then fills every flag that was not given on the
// command line from its environment variable. A malformed value names both
// the variable and the flag.
func Parse(fs *flag.FlagSet, args []string) error {
	fs.VisitAll(func(f *flag.Flag) {
		if !strings.Contains(f.Usage, "$"+Name(f.Name)) {
			f.Usage += " [$" + Name(f.Name) + "]"
		}
	})
	if err := fs.Parse(args); err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || given[f.Name] {
			return
		}
		env := Name(f.Name)
		if v, ok := os.LookupEnv(env); ok {
			if setErr := fs.Set(f.Name, v); setErr != nil {
				err = fmt.Errorf("environment variable %s (flag -%s): %w", env, f.Name, setErr)
			}
		}
	})
	return err
}
