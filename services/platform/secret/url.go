package secret

import (
	"errors"
	"net/url"
	"strings"
)

// errLogin is why a URL whose host, port and path are fine does not parse
// as written: its user name or password has a character that URLs reserve.
var errLogin = errors.New("its user name or password holds a character that a URL reserves: write @ : / ? # % [ ] in them as %40 %3A %2F %3F %23 %25 %5B %5D")

// ParseURL parses a URL that may hold a user name and password, such as
// redis://:password@host:6379/1 or mqtt://user:password@host. Unlike
// url.Parse, its errors never quote the URL nor any part of its user name
// and password, and it refuses a URL that parses only by taking part of an
// unescaped password as the host or path ("redis://:pa/ss@host" reads as
// host "" and path "/ss@host"), so that nothing after it quotes part of the
// password either.
//
// The login is found as everything between "://" and the last "@": the
// URL without it must parse, and to the same host and path as the whole.
func ParseURL(raw string) (*url.URL, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		// Without a scheme, url.Parse takes "user:password@host" for an
		// opaque URL of scheme "user": say nothing of what is there.
		return nil, errors.New("it does not begin with a scheme such as redis:// or mqtt://")
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		u, err := url.Parse(raw)
		if err != nil {
			return nil, unwrap(err) // no password to hide
		}
		return u, nil
	}
	bare, err := url.Parse(scheme + "://" + rest[at+1:])
	if err != nil {
		return nil, unwrap(err) // quotes the host, port or path only
	}
	u, err := url.Parse(raw)
	if err != nil || u.User == nil || u.Host != bare.Host || u.Path != bare.Path || u.RawQuery != bare.RawQuery || u.Fragment != bare.Fragment {
		return nil, errLogin
	}
	return u, nil
}

// unwrap drops url.Error's quoting of the whole URL.
func unwrap(err error) error {
	var bad *url.Error
	if errors.As(err, &bad) {
		return bad.Err
	}
	return err
}
