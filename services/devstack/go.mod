module github.com/nemo-mqtt-bridge/bridge/services/devstack

go 1.26
