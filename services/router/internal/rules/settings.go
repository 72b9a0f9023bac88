package rules

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Settings are the router's own settings that rules read: how displays
// show times and names, and the key that signs payloads.
type Settings struct {
	// DisplayLocation is the time zone of "format: display" times; nil
	// is UTC.
	DisplayLocation *time.Location
	// DisplayNameLength is the longest user name {person: …} writes;
	// 0 is DefaultDisplayNameLength.
	DisplayNameLength int
	// DisplayTimeLayout is how "format: display" writes a time, as a Go
	// time layout; empty is DefaultDisplayTimeLayout.
	DisplayTimeLayout string
	// DisplayUTF8 writes the texts of the messages for the screens (those
	// of a file with "screens: true") as they are. Off, the default, they
	// are written in ASCII (see ASCII), which is all the screens' fonts
	// show, and a text cut short ends in "..." instead of "…". It names
	// the exception so that the zero Settings write ASCII, as the router
	// does unless told otherwise.
	DisplayUTF8 bool
	// SigningKey signs the payloads of publishes with "sign: true" (and
	// those without "sign" when SignAll is on). Empty: no signing, and a
	// rules file asking for it is refused.
	SigningKey []byte
	SignAll    bool
}

// DefaultDisplayNameLength fits a name on the usual tool display.
const DefaultDisplayNameLength = 13

func (st *Settings) location() *time.Location {
	if st == nil || st.DisplayLocation == nil {
		return time.UTC
	}
	return st.DisplayLocation
}

func (st *Settings) timeLayout() string {
	if st == nil || st.DisplayTimeLayout == "" {
		return DefaultDisplayTimeLayout
	}
	return st.DisplayTimeLayout
}

// ascii says whether the texts of screen messages are written in ASCII.
func (st *Settings) ascii() bool {
	return st == nil || !st.DisplayUTF8
}

func (st *Settings) nameLength() int {
	if st == nil || st.DisplayNameLength <= 0 {
		return DefaultDisplayNameLength
	}
	return st.DisplayNameLength
}

// signs says whether a publish's payload is signed.
func (st *Settings) signs(sign *bool) bool {
	if st == nil || len(st.SigningKey) == 0 {
		return false
	}
	if sign != nil {
		return *sign
	}
	return st.SignAll
}

// WithSettings returns the rules with the router's settings, those of the
// sets run alongside included. It refuses rules that ask to sign
// ("sign: true") when there is no key, naming each such publish. The
// Version changes with the settings (not with the key itself).
func (s *Set) WithSettings(st Settings) (*Set, error) {
	if len(st.SigningKey) == 0 {
		var errs []*Error
		for _, x := range s.all() {
			for _, r := range x.rules {
				for _, p := range r.publish {
					if p.sign != nil && *p.sign {
						e := *p.signAt
						e.Msg = "sign: true, but the router has no signing key (give -signing-key-file or SIGNING_KEY)"
						errs = append(errs, &e)
					}
				}
			}
		}
		if len(errs) > 0 {
			return nil, &Errors{List: errs}
		}
	}
	c := *s
	c.settings = &st
	c.extra = make([]*Set, len(s.extra))
	for i, x := range s.extra {
		xc := *x
		xc.settings = &st
		c.extra[i] = &xc
	}
	// Default settings keep the version of the file, as the built-in
	// rules are reported.
	var extra []byte
	if loc := st.location(); loc != time.UTC {
		extra = fmt.Appendf(extra, "\x00tz=%s", loc)
	}
	if l := st.timeLayout(); l != DefaultDisplayTimeLayout {
		extra = fmt.Appendf(extra, "\x00time=%s", l)
	}
	if n := st.nameLength(); n != DefaultDisplayNameLength {
		extra = fmt.Appendf(extra, "\x00names=%d", n)
	}
	if !st.ascii() {
		extra = append(extra, "\x00screens=utf8"...)
	}
	if len(st.SigningKey) > 0 {
		extra = fmt.Appendf(extra, "\x00signing=on\x00signall=%s", strconv.FormatBool(st.SignAll))
	}
	if extra != nil {
		c.sum = sha256.Sum256(append(s.sum[:], extra...))
	}
	return &c, nil
}

// Alongside returns the rules with extra run beside them: every event
// goes through both, each with its own first-match order, and the
// messages of extra come after. The built-in displays profile runs so.
func (s *Set) Alongside(extra *Set) *Set {
	c := *s
	c.extra = append(append([]*Set(nil), s.extra...), extra)
	c.sum = sha256.Sum256(append(append(s.sum[:], "\x00alongside="...), extra.sum[:]...))
	return &c
}

// all is s and the sets run alongside it.
func (s *Set) all() []*Set {
	return append([]*Set{s}, s.extra...)
}

// ErrNoKey is the error of -sign-all without a key.
var ErrNoKey = errors.New("signing needs a key: give -signing-key-file or SIGNING_KEY")
