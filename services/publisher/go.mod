module github.com/nemo-mqtt-bridge/bridge/services/publisher

go 1.26
