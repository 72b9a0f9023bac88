package devstack

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/alicebob/miniredis/v2"
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// startRedis runs an in-process Redis (miniredis). It is for trying the
// bridge out: it keeps everything in memory and is not a production Redis.
func startRedis(addr string) (*miniredis.Miniredis, string, error) {
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr(addr); err != nil {
		return nil, "", fmt.Errorf("embedded Redis on %s: %w", addr, err)
	}
	return m, "redis://" + addr + "/1", nil // database 1, as the NEMO plugin uses
}

// startBroker runs an in-process MQTT v5 broker (mochi-mqtt) that lets
// everyone in. It is for trying the bridge out only.
func startBroker(addr string) (*mqtt.Server, string, error) {
	s := mqtt.New(&mqtt.Options{InlineClient: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := s.AddHook(new(auth.AllowHook), nil); err != nil {
		return nil, "", err
	}
	if err := s.AddListener(listeners.NewTCP(listeners.Config{ID: "tcp", Address: addr})); err != nil {
		return nil, "", fmt.Errorf("embedded MQTT broker on %s: %w", addr, err)
	}
	if err := s.Serve(); err != nil {
		return nil, "", fmt.Errorf("embedded MQTT broker on %s: %w", addr, err)
	}
	return s, "mqtt://" + addr, nil
}
