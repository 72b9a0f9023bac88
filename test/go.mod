module github.com/nemo-mqtt-bridge/bridge/test

go 1.26
