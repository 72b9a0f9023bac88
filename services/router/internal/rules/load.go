package rules

import (
	"cmp"
	"crypto/sha256"
	_ "embed"
	"os"
	"slices"
	"sync"
)

// Load reads and checks a rules file. A file that cannot be read gives the
// error from reading it; a file with problems gives an *Errors naming every
// one of them by file, line and column.
func Load(path string) (*Set, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse reads and checks the rules in data; name stands for the file in
// error messages. Its error is always an *Errors.
func Parse(name string, data []byte) (*Set, error) {
	d := &decoder{file: name}
	var s *Set
	if top := d.document(data); top != nil {
		s = d.set(top)
	}
	if len(d.errs) > 0 {
		slices.SortStableFunc(d.errs, func(a, b *Error) int {
			return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
		})
		return nil, &Errors{List: d.errs}
	}
	s.sum = sha256.Sum256(data)
	return s, nil
}

//go:embed default.yaml
var defaultFile []byte

// Default returns the built-in rules, default.yaml: every event on the
// topic the NEMO plugin gave it, made safe and put under {prefix}, with the
// plugin's QoS and retain flag; a site that replaces the plugin with the
// bridge sees the same topics.
func Default() *Set {
	return defaultSet()
}

var defaultSet = sync.OnceValue(func() *Set {
	s, err := Parse("default.yaml", defaultFile)
	if err != nil {
		panic("rules: the built-in default.yaml is invalid: " + err.Error())
	}
	return s
})
