package chaos

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// fault is one bad thing that happens to the bridge, with its recovery:
// strike returns once what it broke is back (or was never down).
type fault struct {
	name   string
	strike func(ctx context.Context) error
}

func faultsOf(p *harness.Pipeline, o Options, prod *producer) []fault {
	kill := func(s *harness.Service) fault {
		return fault{"kill -9 " + s.Name, func(context.Context) error {
			s.Kill9()
			time.Sleep(time.Second)
			if err := s.Start(); err != nil {
				return err
			}
			return s.WaitReady(30 * time.Second)
		}}
	}
	return []fault{
		kill(p.Ingest),
		{fmt.Sprintf("broker out of reach for %s", o.BrokerOutage), func(ctx context.Context) error {
			p.BridgeGate.Cut()
			sleep(ctx, o.BrokerOutage)
			p.BridgeGate.Open()
			return nil
		}},
		kill(p.Router),
		{fmt.Sprintf("hostile entries (%d)", len(hostileEntries)), func(context.Context) error {
			prod.slipIn(hostileEntries)
			return nil
		}},
		kill(p.Publisher),
		{fmt.Sprintf("Redis shut down for %s", o.RedisOutage), func(ctx context.Context) error {
			rdb := p.Redis.Client(1)
			// SAVE first: this Redis keeps nothing on disk by itself, and a
			// lab's Redis would not lose the stream on a restart.
			_ = rdb.ShutdownSave(ctx).Err()
			rdb.Close()
			sleep(ctx, o.RedisOutage)
			return p.Redis.Restart()
		}},
	}
}

// hostileEntries are entries a broken or malicious writer could put in the
// stream; none may stop or reorder the good ones.
var hostileEntries = []string{
	`this is not json`,
	`{"payload":"{\"tool_id\":1}","qos":1}`,
	`{"topic":"nemo/tools/1/enabled","payload":42,"qos":1}`,
	`{"topic":"nemo/tools/1/enabled","payload":"{}","qos":7}`,
	`{"topic":"nemo/tools/1/enabled","payload":"{}","qos":1}trailing garbage`,
	`{"topic":"nemo/tools/1/` + "\uffff" + `","payload":"{}","qos":1}`,
	`{"topic":"` + strings.Repeat("a/", 250) + `a","payload":"{}","qos":1}`,
	`{"topic":"nemo/tools/+/#","payload":"{}","qos":1}`,
	`{"topic":"nemo/tools/1/enabled","payload":"{\"tool_id\":99999999999999999999999}","qos":1}`,
	`[1,2,3]`,
	`{"topic":"","payload":"{}","qos":1}`,
	`{"topic":"nemo/tools/1/enabled","payload":"` + strings.Repeat("x", 2<<20) + `","qos":1}`,
}
