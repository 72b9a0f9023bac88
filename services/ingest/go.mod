module github.com/nemo-mqtt-bridge/bridge/services/ingest

go 1.26
