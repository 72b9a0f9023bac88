package rules

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// fieldCondition is one entry of a match's fields: the payload field at
// path exists (or not), or equals one of anyOf.
type fieldCondition struct {
	path   []string
	exists *bool
	anyOf  []scalar
}

// holds is false for every condition when the payload is not a JSON
// object: a plain-text event has no fields to speak of, absent or present.
func (c fieldCondition) holds(in *input) bool {
	if !in.hasFields() {
		return false
	}
	v, ok := in.field(c.path)
	if c.exists != nil {
		// A null value counts as absent: NEMO writes "user_name": null
		// when there is no user.
		present := ok && string(bytes.TrimSpace(v)) != "null"
		return present == *c.exists
	}
	if !ok {
		return false
	}
	for _, want := range c.anyOf {
		if want.equals(v) {
			return true
		}
	}
	return false
}

// scalar is a value written in the rules file, to compare with a payload's.
type scalar struct {
	kind scalarKind
	str  string
	num  float64
	b    bool
}

type scalarKind int

const (
	nullScalar scalarKind = iota
	boolScalar
	numberScalar
	stringScalar
)

// equals compares loosely where NEMO's types are loose: a number matches
// the same number written as a string (tool_id is 12 or "12"), a string
// matches a number or boolean written the same way, and a boolean matches
// "true" or "false" as a string. Objects and arrays equal nothing.
func (s scalar) equals(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	var str string
	isString := len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &str) == nil
	switch s.kind {
	case nullScalar:
		return string(raw) == "null"
	case boolScalar:
		b, ok := scalarBool(raw)
		return (ok && b == s.b) || (isString && str == strconv.FormatBool(s.b))
	case numberScalar:
		text := string(raw)
		if isString {
			text = strings.TrimSpace(str)
		} else if !isJSONNumber(raw) {
			return false
		}
		f, err := strconv.ParseFloat(text, 64)
		return err == nil && f == s.num
	default:
		if isString {
			return str == s.str
		}
		_, isBool := scalarBool(raw)
		return (isBool || isJSONNumber(raw)) && string(raw) == s.str
	}
}

func isJSONNumber(raw []byte) bool {
	return len(raw) > 0 && (raw[0] == '-' || ('0' <= raw[0] && raw[0] <= '9'))
}
