package tlsdiag

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
)

// unreachable explains a broker the bridge could not reach at all.
func unreachable(err error, t Target) (string, bool) {
	if dns, ok := errors.AsType[*net.DNSError](err); ok {
		if dns.IsNotFound {
			return fmt.Sprintf("The host name '%s' is not known (DNS). Check the host in %s.", dns.Name, option("mqtt-url")), true
		}
		return fmt.Sprintf("The host name '%s' could not be looked up: the DNS server did not answer. Check this machine's network and DNS settings.", dns.Name), true
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("Nothing is listening at %s (connection refused). Check that the broker is running and that %s has the right host and port.", t.Addr, option("mqtt-url")), true
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return fmt.Sprintf("This machine has no route to the broker at %s. Check the network and the host in %s.", t.Addr, option("mqtt-url")), true
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return fmt.Sprintf("The broker at %s did not answer in time. Check that it is running and that no firewall blocks port %s.", t.Addr, port(t.Addr)), true
	}
	return "", false
}

func isTimeout(err error) bool {
	ne, ok := errors.AsType[net.Error](err)
	return ok && ne.Timeout()
}
