package harness

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// Ports handed out by this test process. A port taken by listening on :0
// and closed is free only until someone binds it, and the servers bind it
// a few milliseconds later: the kernel gave the same port to two services
// of one pipeline that way (the router then failed with "address already
// in use"). So FreePort never hands out a port twice, and takes it below
// the kernel's ephemeral range, where no outgoing connection's source port
// can take it first, neither before a server binds it nor while a stopped
// server waits to start again on it.
var handedOut struct {
	sync.Mutex
	ports map[int]bool
}

// FreePort returns a loopback port nobody listens on now and that this
// process has not handed out before.
func FreePort() (int, error) { return FreePorts(1) }

// FreePorts returns the first of n consecutive loopback ports nobody
// listens on now, none handed out before, and hands them all out: a
// program given a base port takes the next ones too, which FreePort must
// not give another test meanwhile.
func FreePorts(n int) (int, error) {
	low, high := portRange()
	handedOut.Lock()
	defer handedOut.Unlock()
	if handedOut.ports == nil {
		handedOut.ports = map[int]bool{}
	}
	for range 1000 {
		base := low + rand.IntN(high-low-n)
		if !allFree(base, n) {
			continue
		}
		for p := base; p < base+n; p++ {
			handedOut.ports[p] = true
		}
		return base, nil
	}
	return 0, fmt.Errorf("no %d consecutive free ports in %d-%d after 1000 tries", n, low, high)
}

// allFree says whether ports base to base+n-1 are neither handed out nor
// listened on. The caller holds handedOut.
func allFree(base, n int) bool {
	for p := base; p < base+n; p++ {
		if handedOut.ports[p] {
			return false
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			return false
		}
		l.Close()
	}
	return true
}

// portRange is where FreePort looks: from 20000 up to the start of the
// ephemeral range (32768 on most Linux systems).
func portRange() (low, high int) {
	low, high = 20000, 32768
	data, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return low, high
	}
	if f := strings.Fields(string(data)); len(f) == 2 {
		if start, err := strconv.Atoi(f[0]); err == nil && start > low+1000 {
			high = start
		}
	}
	return low, high
}
