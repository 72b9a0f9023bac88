// Package rawsock reads and writes TCP sockets with raw system calls.
//
// Go's own socket reads and writes tell the scheduler they are system
// calls that may block, which wakes its monitor thread from its deep
// sleep; woken so, the monitor polls every 20 µs for the next
// millisecond and hands the process's scheduler slot to another thread
// whenever a call outlasts a poll. The pipeline's services idle between
// bursts of events, so every burst paid that: at 2,000 events/s about a
// third of their CPU, and a thread hand-off on the events' way. A read or
// write of a non-blocking socket never blocks, so these make it as a
// plain call; waiting for the socket is still the netpoller's, deadlines
// included.
package rawsock
