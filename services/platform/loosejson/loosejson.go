// Package loosejson reads JSON values whose type varies in the wild: NEMO's
// events write a tool id as 12 or "12", a time as Unix seconds, an ISO
// string or false. Each reader accepts every form it can make sense of and
// reports whether it could.
package loosejson

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// text returns a JSON string's content, or the raw JSON of any other value.
func text(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.TrimSpace(s)
	}
	return strings.TrimSpace(string(raw))
}

// Int reads 12, "12" or 12.0.
func Int(raw json.RawMessage) (int64, bool) {
	t := text(raw)
	if n, err := strconv.ParseInt(t, 10, 64); err == nil {
		return n, true
	}
	if f, err := strconv.ParseFloat(t, 64); err == nil && f == float64(int64(f)) {
		return int64(f), true
	}
	return 0, false
}

// Bool reads true/false, 1/0 and their quoted forms.
func Bool(raw json.RawMessage) (value, ok bool) {
	b, err := strconv.ParseBool(text(raw))
	return b, err == nil
}

// String reads a string, or the text of a number.
func String(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	if _, err := strconv.ParseFloat(string(raw), 64); err == nil {
		return string(raw), true
	}
	return "", false
}

// Time reads Unix seconds (a number or its text) or ISO 8601 (with or
// without a zone, which then means UTC). false, null and "" mean no time.
func Time(raw json.RawMessage) (time.Time, bool) {
	t := text(raw)
	if when, ok := unixSeconds(t); ok {
		return when, true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999", "2006-01-02 15:04:05.999999Z07:00", "2006-01-02 15:04:05.999999"} {
		if tm, err := time.Parse(layout, t); err == nil {
			return tm.UTC(), true
		}
	}
	return time.Time{}, false
}

// unixSeconds reads "1760468411.106" digit by digit: through a float64 the
// milliseconds would come out as 105.999872.
func unixSeconds(t string) (time.Time, bool) {
	whole, frac, _ := strings.Cut(t, ".")
	secs, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || secs <= 0 || len(frac) > 9 {
		return time.Time{}, false
	}
	var nanos int64
	if frac != "" {
		if nanos, err = strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64); err != nil {
			return time.Time{}, false
		}
	}
	return time.Unix(secs, nanos).UTC(), true
}
