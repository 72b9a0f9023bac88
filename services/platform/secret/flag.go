// Package secret keeps the bridge's passwords and tokens out of process
// lists, logs and error messages.
package secret

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
)

// Var registers -name, with the default value, whose value is a secret (a password, a token, a URL
// that may hold a password), and -name-file, which reads the same setting
// from a file, such as a mounted Kubernetes secret. A value given on the
// command line shows in ps to every user of the machine; the file, like
// the environment variable that envflag reads for either flag, does not.
//
// The file is read when the flag is parsed, without its line ending; an
// empty or unreadable file is refused then. Giving both flags is refused
// once all flags are parsed (envflag calls Check), so that neither silently
// wins over the other.
func Var(fs *flag.FlagSet, p *string, name, value, usage string) {
	*p = value
	s := &setting{p: p, name: name, def: value}
	fs.Var(plain{s}, name, usage+"; prefer -"+name+"-file or the environment, which ps does not show")
	fs.Var(file{s}, name+"-file", "read -"+name+" from this `file` (a mounted secret), so that it shows in no process list")
}

// setting is one secret and where it was given.
type setting struct {
	p         *string
	name, def string
	fromFlag  bool
	fromFile  string // the file's path
}

// plain is -name. Its String is the default, never the secret itself:
// flag shows it in the usage and may quote it.
type plain struct{ s *setting }

func (v plain) String() string {
	if v.s == nil {
		return ""
	}
	return v.s.def
}

func (v plain) Set(value string) error {
	*v.s.p = value
	v.s.fromFlag = true
	return nil
}

// Check refuses the secret given twice, both as -name and -name-file. It
// is not done in Set, because flag quotes the refused value in its error.
func (v plain) Check() error {
	if v.s.fromFlag && v.s.fromFile != "" {
		return fmt.Errorf("-%[1]s and -%[1]s-file (%s) are both given: give one", v.s.name, v.s.fromFile)
	}
	return nil
}

// file is -name-file.
type file struct{ s *setting }

func (v file) String() string {
	if v.s == nil {
		return ""
	}
	return v.s.fromFile
}

func (v file) Set(path string) error {
	value, err := ReadFile(path)
	if err != nil {
		return err
	}
	*v.s.p = value
	v.s.fromFile = path
	return nil
}

// ReadFile reads a secret from path without the line ending an editor or
// `echo` adds. Its errors name the file, never what is in it.
func ReadFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pathErr *os.PathError
		if errors.As(err, &pathErr) {
			err = pathErr.Err
		}
		return "", fmt.Errorf("cannot read %s: %w", path, err)
	}
	value := strings.TrimRight(string(data), "\r\n")
	if value == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return value, nil
}
