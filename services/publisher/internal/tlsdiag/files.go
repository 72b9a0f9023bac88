package tlsdiag

import (
	"errors"
	"fmt"
	"io/fs"
)

// unreadableFile explains a CA, certificate or key file the bridge cannot
// read, naming the option that points at it.
func unreadableFile(err error, t Target) (string, bool) {
	pe, ok := errors.AsType[*fs.PathError](err)
	if !ok {
		return "", false
	}
	what, flag := "The file "+pe.Path, ""
	switch pe.Path {
	case t.CAFile:
		what, flag = "The CA file "+pe.Path, "mqtt-ca-file"
	case t.CertFile:
		what, flag = "The client certificate file "+pe.Path, "mqtt-cert-file"
	case t.KeyFile:
		what, flag = "The client key file "+pe.Path, "mqtt-key-file"
	}
	switch {
	case errors.Is(err, fs.ErrNotExist) && flag != "":
		return fmt.Sprintf("%s does not exist. Check %s.", what, option(flag)), true
	case errors.Is(err, fs.ErrNotExist):
		return what + " does not exist.", true
	case errors.Is(err, fs.ErrPermission):
		return fmt.Sprintf("%s may not be read by the user the bridge runs as. Let that user read it.", what), true
	}
	return "", false
}
