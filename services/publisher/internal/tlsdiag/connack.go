package tlsdiag

import (
	"errors"
	"fmt"

	"github.com/eclipse/paho.golang/autopaho"
)

// connackReasons words the CONNACK refusals of MQTT 5 (section 3.2.2.2).
var connackReasons = map[byte]string{
	0x80: "unspecified error",
	0x81: "malformed packet",
	0x82: "protocol error",
	0x83: "implementation specific error",
	0x84: "unsupported protocol version",
	0x85: "client identifier not valid",
	0x86: "bad user name or password",
	0x87: "not authorized",
	0x88: "server unavailable",
	0x89: "server busy",
	0x8A: "banned",
	0x8C: "bad authentication method",
	0x90: "topic name invalid",
	0x95: "packet too large",
	0x97: "quota exceeded",
	0x99: "payload format invalid",
	0x9A: "retain not supported",
	0x9B: "QoS not supported",
	0x9C: "use another server",
	0x9D: "server moved",
	0x9F: "connection rate exceeded",
}

// loginRefused explains a broker that answered the MQTT login with a
// refusal. Mosquitto 2 answers a wrong password with 0x87, not 0x86, so
// both read as a login problem.
func loginRefused(err error, t Target) (string, bool) {
	c, ok := errors.AsType[*autopaho.ConnackError](err)
	if !ok {
		return "", false
	}
	if c.ReasonCode < 0x80 {
		// The broker let the bridge in; paho failed after the CONNACK, while
		// resending what the session holds, and reports it with the
		// CONNACK's success code.
		return fmt.Sprintf("The broker at %s accepted the connection but closed it while the bridge was resending the messages it had not yet acknowledged (%v). If this repeats, the broker is refusing one of those messages by hanging up: the bridge then sends them one at a time and puts the one the broker will not take in the dead letters.", t.Addr, c.Err), true
	}
	msg := connackAdvice(c.ReasonCode, t)
	if c.Reason != "" {
		msg += fmt.Sprintf(" The broker said: %q.", c.Reason)
	}
	return msg, true
}

func connackAdvice(code byte, t Target) string {
	login := fmt.Sprintf("%s and %s", option("mqtt-username"), option("mqtt-password"))
	switch {
	case (code == 0x86 || code == 0x87) && t.Username == "":
		return fmt.Sprintf("The broker does not let the bridge in without a user name. Set %s.", login)
	case code == 0x86:
		return fmt.Sprintf("The broker refused the user name '%s' or its password. Check %s against the broker's password file.", t.Username, login)
	case code == 0x87:
		return fmt.Sprintf("The broker does not let user '%s' in: the password is wrong, the user is unknown, or the user may not connect. Check %s against the broker's password file.", t.Username, login)
	case code == 0x85:
		return fmt.Sprintf("The broker does not accept the client identifier '%s'. Set %s to another one; up to 23 letters and digits suit every broker.", t.ClientID, option("mqtt-client-id"))
	case code == 0x8A:
		return fmt.Sprintf("The broker has banned this bridge (client identifier '%s'). Ask whoever runs the broker to lift the ban.", t.ClientID)
	case code == 0x84:
		return "The broker does not speak MQTT 5, which the bridge uses. Upgrade the broker (mosquitto speaks MQTT 5 since version 1.6)."
	case code == 0x88 || code == 0x89 || code == 0x97 || code == 0x9F:
		return fmt.Sprintf("The broker at %s is not taking this connection now (%s). The bridge keeps trying; if this lasts, the broker's log says why.", t.Addr, connackReasons[code])
	case code == 0x9C || code == 0x9D:
		return fmt.Sprintf("The broker at %s sends its clients elsewhere (%s). Point %s at the broker's new address.", t.Addr, connackReasons[code], option("mqtt-url"))
	}
	reason, ok := connackReasons[code]
	if !ok {
		reason = "an unknown reason"
	}
	return fmt.Sprintf("The broker at %s refused the connection: %s (MQTT reason code 0x%02X). The broker's log says why.", t.Addr, reason, code)
}
