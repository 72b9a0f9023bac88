// Package publisheraddr reads -publisher-addr, which the router and the
// gateway are given alike, so that both see the same shards in the same
// order (a tool's shard is its index in this list).
package publisheraddr

import (
	"fmt"
	"strings"
)

// Parse reads shards separated by ";", and within a shard the addresses
// of its publishers (the active one and its standbys) separated by ",".
// An empty shard is refused: skipping it would renumber the shards after
// it.
func Parse(flagValue string) ([][]string, error) {
	var out [][]string
	for i, shard := range strings.Split(flagValue, ";") {
		var addrs []string
		for _, a := range strings.Split(shard, ",") {
			if a = strings.TrimSpace(a); a != "" {
				addrs = append(addrs, a)
			}
		}
		if len(addrs) == 0 {
			return nil, fmt.Errorf("-publisher-addr: shard %d (counting from 0) names no address; give shards as addr[,standby...][;addr[,standby...]...]", i)
		}
		out = append(out, addrs)
	}
	return out, nil
}
