package mqttsession

import (
	"context"
	"log/slog"
	"strings"
	"testing"
)

func TestPresenceTopicMustBePublishable(t *testing.T) {
	for _, topic := range []string{"nemo/+/status", "nemo/#", "$SYS/x"} {
		_, err := StartPresence(context.Background(), Config{URL: "mqtt://127.0.0.1:1", ClientID: "x"}, topic, slog.Default())
		if err == nil || !strings.Contains(err.Error(), "presence topic") {
			t.Errorf("%q: got %v", topic, err)
		}
	}
}
