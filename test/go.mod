module github.com/nemo-mqtt-bridge/bridge/test

go 1.26.0

require (
	github.com/chromedp/cdproto v0.159.0
	github.com/chromedp/chromedp v0.23.0
	github.com/eclipse/paho.golang v0.23.0
	github.com/nemo-mqtt-bridge/bridge/gen v0.0.0
	github.com/nemo-mqtt-bridge/bridge/services/platform v0.0.0
	github.com/redis/go-redis/v9 v9.23.0
	golang.org/x/mod v0.42.0
	google.golang.org/grpc v1.85.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/gorilla/websocket v1.5.3 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/net v0.61.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.43.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20261019180522-ce908d29299b // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

replace github.com/nemo-mqtt-bridge/bridge/gen => ../gen

replace github.com/nemo-mqtt-bridge/bridge/services/platform => ../services/platform
