package pipeline

import (
	"errors"

	"github.com/eclipse/paho.golang/paho"

	"github.com/nemo-mqtt-bridge/bridge/services/publisher/internal/mqttsession"
)

// permanent reports whether no retry can change err: a reason code that
// says the message itself is unacceptable, a message the broker announced
// it cannot take, or a verdict that says so itself (the session's on a
// message after which the broker keeps dropping the connection).
func permanent(err error) bool {
	var nack *mqttsession.NegativeAckError
	if errors.As(err, &nack) {
		return permanentReason(nack.Code)
	}
	var p interface{ Permanent() bool }
	return errors.Is(err, paho.ErrInvalidArguments) || errors.As(err, &p) && p.Permanent()
}

// retryLater reports whether a retry should wait: the broker said no (it
// may be busy), rather than the connection being lost.
func retryLater(err error) bool {
	var nack *mqttsession.NegativeAckError
	return errors.As(err, &nack)
}

// permanentReason lists the MQTT v5 PUBACK/PUBREC codes that say the
// message itself is unacceptable, rather than the broker being busy.
func permanentReason(code byte) bool {
	switch code {
	case 0x87, // not authorized (ACL)
		0x90, // topic name invalid
		0x95, // packet too large
		0x99: // payload format invalid
		return true
	}
	return false
}
