package loosejson

import (
	"encoding/json"
	"testing"
	"time"
)

func TestReaders(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		n    int64
		nOK  bool
		tOK  bool
		when time.Time
	}{
		{`12`, 12, true, true, time.Unix(12, 0).UTC()},
		{`"12"`, 12, true, true, time.Unix(12, 0).UTC()},
		{`1760468411.106`, 0, false, true, time.Unix(1760468411, 106e6).UTC()},
		{`"2025-10-14T19:00:11.106Z"`, 0, false, true, time.Date(2025, 10, 14, 19, 0, 11, 106e6, time.UTC)},
		{`"2025-10-14T19:00:11.106"`, 0, false, true, time.Date(2025, 10, 14, 19, 0, 11, 106e6, time.UTC)},
		{`"2025-10-14 19:00:11+02:00"`, 0, false, true, time.Date(2025, 10, 14, 17, 0, 11, 0, time.UTC)},
		{`false`, 0, false, false, time.Time{}},
		{`null`, 0, false, false, time.Time{}},
		{`"abc"`, 0, false, false, time.Time{}},
	} {
		n, ok := Int(json.RawMessage(tc.raw))
		if ok != tc.nOK || n != tc.n {
			t.Errorf("Int(%s) = %d, %v", tc.raw, n, ok)
		}
		when, ok := Time(json.RawMessage(tc.raw))
		if ok != tc.tOK || !when.Equal(tc.when) {
			t.Errorf("Time(%s) = %v, %v; want %v", tc.raw, when, ok, tc.when)
		}
	}
	if b, ok := Bool(json.RawMessage(`"true"`)); !b || !ok {
		t.Error(`Bool("true")`)
	}
	if _, ok := Bool(json.RawMessage(`"maybe"`)); ok {
		t.Error(`Bool("maybe") accepted`)
	}
	if s, ok := String(json.RawMessage(`7`)); s != "7" || !ok {
		t.Errorf("String(7) = %q", s)
	}
}
