package rules

import (
	"errors"
	"fmt"
	"strings"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
)

// Cause says why Apply refused an event: a message over its max_bytes, or
// else a topic the rules wrote that cannot be published (the only other
// way a rule fails on an event).
func Cause(err error) bridgev1.Cause {
	if tooBig := (*tooBigError)(nil); errors.As(err, &tooBig) {
		return bridgev1.Cause_CAUSE_MESSAGE_TOO_LARGE
	}
	return bridgev1.Cause_CAUSE_INVALID_TOPIC
}

// Error is one problem in a rules file, at the place that causes it.
type Error struct {
	File string
	// Line and Column count from 1. Column is 0 when only the line is
	// known: the YAML parser reports lines, not columns, for syntax
	// errors, and for some of them the line where the enclosing block
	// starts rather than the line at fault.
	Line, Column int
	// Path names the setting, for example "rules[2].publish[0].qos";
	// empty for problems with the file as a whole.
	Path string
	Msg  string
}

// Error reads "rules.yaml:12:7: rules[2].publish[0].qos: 3 is not a valid
// QoS (want 0, 1 or 2)", the form editors and CI logs link to the place.
func (e *Error) Error() string {
	where := fmt.Sprintf("%s:%d:%d", e.File, e.Line, e.Column)
	if e.Column == 0 {
		where = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Path == "" {
		return where + ": " + e.Msg
	}
	return where + ": " + e.Path + ": " + e.Msg
}

// Errors is every problem found in one rules file, in file order, so that
// one edit can fix them all.
type Errors struct {
	List []*Error
}

func (e *Errors) Error() string {
	lines := make([]string, len(e.List))
	for i, err := range e.List {
		lines[i] = err.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As reach each *Error.
func (e *Errors) Unwrap() []error {
	errs := make([]error, len(e.List))
	for i, err := range e.List {
		errs[i] = err
	}
	return errs
}
