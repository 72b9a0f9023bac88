module github.com/nemo-mqtt-bridge/bridge/services/router

go 1.26
