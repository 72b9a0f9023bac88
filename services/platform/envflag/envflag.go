// Package envflag lets every flag also be set from the environment, the way
// containers are configured, while a flag on the command line still wins.
package envflag

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// Name is the environment variable that backs a flag: "redis-url" reads
// REDIS_URL.
func Name(flagName string) string {
	return strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// declared matches a variable named in a flag's usage, "[$RULES_FILE]".
var declared = regexp.MustCompile(`\[\$([A-Z][A-Z0-9_]*)\]`)

// variable is the environment variable backing f: the one its usage names
// as "[$VAR]", for a name users already know (such as RULES_FILE for
// -rules), else Name(f.Name).
func variable(f *flag.Flag) string {
	if m := declared.FindStringSubmatch(f.Usage); m != nil {
		return m[1]
	}
	return Name(f.Name)
}

// Checker is a flag value with a rule that holds across flags (a secret
// given both on the command line and in a file); Parse checks it once
// every flag is set.
type Checker interface{ Check() error }

// CommandLineOnly is a flag value that no environment variable sets
// (-version): Parse neither reads nor advertises a variable for it.
type CommandLineOnly interface{ CommandLineOnly() }

func commandLineOnly(f *flag.Flag) bool {
	_, ok := f.Value.(CommandLineOnly)
	return ok
}

// Parse parses args into fs, then fills every flag that was not given on the
// command line from its environment variable (see variable), then runs
// every Checker. A malformed value names both the variable and the flag.
func Parse(fs *flag.FlagSet, args []string) error {
	fs.VisitAll(func(f *flag.Flag) {
		if commandLineOnly(f) {
			return
		}
		if !declared.MatchString(f.Usage) {
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
		if err != nil || given[f.Name] || commandLineOnly(f) {
			return
		}
		env := variable(f)
		if v, ok := os.LookupEnv(env); ok {
			if setErr := fs.Set(f.Name, v); setErr != nil {
				err = fmt.Errorf("environment variable %s (flag -%s): %w", env, f.Name, setErr)
			}
		}
	})
	fs.VisitAll(func(f *flag.Flag) {
		if c, ok := f.Value.(Checker); ok && err == nil {
			err = c.Check()
		}
	})
	return err
}
