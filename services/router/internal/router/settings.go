package router

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"time"
	_ "time/tzdata" // time zones also where the system has no zoneinfo

	"github.com/nemo-mqtt-bridge/bridge/services/router/internal/rules"
)

// rulesSettings reads the display and signing settings. Its errors never
// hold the key.
func (o Options) rulesSettings() (rules.Settings, error) {
	var st rules.Settings
	loc, err := time.LoadLocation(o.DisplayTimezone)
	if err != nil || o.DisplayTimezone == "" || o.DisplayTimezone == "Local" {
		return st, fmt.Errorf("-display-timezone %q is not a time zone: give an IANA name such as UTC, Europe/Paris or America/Los_Angeles", o.DisplayTimezone)
	}
	st.DisplayLocation = loc
	if o.DisplayNameLength < 1 {
		return st, fmt.Errorf("-display-name-length %d: want at least 1", o.DisplayNameLength)
	}
	st.DisplayNameLength = o.DisplayNameLength
	if err := checkTimeLayout(o.DisplayTimeFormat); err != nil {
		return st, err
	}
	st.DisplayTimeLayout = o.DisplayTimeFormat
	st.DisplayUTF8 = !o.DisplayASCII
	key, err := o.signingKey()
	if err != nil {
		return st, err
	}
	st.SigningKey, st.SignAll = key, o.SignAll
	if o.SignAll && len(key) == 0 {
		return st, errors.New("-sign-all: there is no signing key (give -signing-key-file or SIGNING_KEY)")
	}
	return st, nil
}

// signingKey reads the key from -signing-key-file (without the line end
// an editor adds), else from SIGNING_KEY; nil when neither is given.
func (o Options) signingKey() ([]byte, error) {
	if o.SigningKeyFile != "" {
		data, err := os.ReadFile(o.SigningKeyFile)
		if err != nil {
			return nil, fmt.Errorf("-signing-key-file: %w", err)
		}
		key := bytes.TrimRight(data, "\r\n")
		if len(key) == 0 {
			return nil, fmt.Errorf("-signing-key-file %s is empty", o.SigningKeyFile)
		}
		return key, nil
	}
	if key := os.Getenv("SIGNING_KEY"); key != "" {
		return []byte(key), nil
	}
	return nil, nil
}

// checkTimeLayout refuses a layout that writes no part of the time: a
// strftime format such as "%H:%M" would otherwise reach every screen as
// it is.
func checkTimeLayout(layout string) error {
	probe := time.Date(2001, 11, 23, 19, 45, 0, 0, time.UTC)
	if layout == "" || probe.Format(layout) == layout {
		return fmt.Errorf("-display-time-format %q writes no time: give a Go time layout, which writes the reference time Mon Jan 2 15:04:05 2006 as it should look, e.g. \"Jan 02, 03:04 PM\"", layout)
	}
	return nil
}
