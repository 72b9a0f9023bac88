package tlsdiag

import (
	"crypto/tls"
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
)

// TestLoginRefused covers the CONNACK refusals mosquitto does not give on
// request; the wrong password and the missing user name are tested against
// mosquitto itself (TestMosquitto).
func TestLoginRefused(t *testing.T) {
	target := Target{Addr: "broker.lab:8883", Username: "nemo", ClientID: "nemo-bridge"}
	for _, c := range []struct {
		code   byte
		reason string
		want   string
	}{
		{0x86, "", "The broker refused the user name 'nemo' or its password. Check -mqtt-username (MQTT_USERNAME) and -mqtt-password (MQTT_PASSWORD) against the broker's password file."},
		{0x85, "", "The broker does not accept the client identifier 'nemo-bridge'. Set -mqtt-client-id (MQTT_CLIENT_ID) to another one; up to 23 letters and digits suit every broker."},
		{0x8A, "", "The broker has banned this bridge (client identifier 'nemo-bridge'). Ask whoever runs the broker to lift the ban."},
		{0x84, "", "The broker does not speak MQTT 5, which the bridge uses. Upgrade the broker (mosquitto speaks MQTT 5 since version 1.6)."},
		{0x89, "", "The broker at broker.lab:8883 is not taking this connection now (server busy). The bridge keeps trying; if this lasts, the broker's log says why."},
		{0x9D, "", "The broker at broker.lab:8883 sends its clients elsewhere (server moved). Point -mqtt-url (MQTT_URL) at the broker's new address."},
		{0x9A, "retained will not allowed", `The broker at broker.lab:8883 refused the connection: retain not supported (MQTT reason code 0x9A). The broker's log says why. The broker said: "retained will not allowed".`},
	} {
		err := autopaho.NewConnackError(errors.New("failed to connect to server: "+c.reason), &paho.Connack{
			ReasonCode: c.code,
			Properties: &paho.ConnackProperties{ReasonString: c.reason},
		})
		expect(t, Explain(t.Context(), err, target), c.want, nil)
	}
}

// A connection the broker accepted and closed while the session was being
// resent comes wrapped with the CONNACK's success code: not a refusal.
func TestClosedWhileResending(t *testing.T) {
	// Wrapped as paho does, so that it reads as a hang-up too: TLS is set,
	// yet no probe runs (its address answers nothing here).
	err := autopaho.NewConnackError(fmt.Errorf("session error: failed to retransmit message (519): %w", syscall.EPIPE), &paho.Connack{ReasonCode: 0})
	expect(t, Explain(t.Context(), err, Target{Addr: "127.0.0.1:1", TLS: &tls.Config{}}),
		"The broker at 127.0.0.1:1 accepted the connection but closed it while the bridge was resending the messages it had not yet acknowledged (session error: failed to retransmit message (519): broken pipe). If this repeats, the broker is refusing one of those messages by hanging up: the bridge then sends them one at a time and puts the one the broker will not take in the dead letters.", nil)
}
