package rules

import (
	_ "embed"
	"sync"
)

//go:embed displays.yaml
var displaysFile []byte

// Displays returns the built-in "displays" profile, displays.yaml: the
// retained messages the ESP32 tool displays read (nemo/esp32/...), to run
// alongside the main rules (see Alongside).
func Displays() *Set {
	return displaysSet()
}

var displaysSet = sync.OnceValue(func() *Set {
	s, err := Parse("displays.yaml", displaysFile)
	if err != nil {
		panic("rules: the built-in displays.yaml is invalid: " + err.Error())
	}
	return s
})
