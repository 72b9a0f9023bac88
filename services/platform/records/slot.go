package records

import (
	"context"
	"strings"

	"github.com/redis/go-redis/v9"
)

// In a Redis Cluster the keys of one command, one Lua script or one
// MULTI must be in one hash slot. A key's slot is the CRC16 of its hash
// tag, the text between its first "{" and the next "}" when that is not
// empty, or else of the whole key. Sibling names a key that shares key's
// slot without renaming key, which NEMO or readers outside the bridge may
// know by its name:
//
//	Sibling("nemo_mqtt_events", ":processing") = "{nemo_mqtt_events}:processing"
//	Sibling("{lab1}events", ":processing")     = "{lab1}events:processing"
//
// "{K}suffix" hashes like a key named exactly K. A key that holds a tag
// already gets suffix appended: the tag still decides. A key with a "}"
// but no tag ("a}b") can have no sibling: Sibling appends suffix then, and
// SameSlot says the two differ (the services refuse such names in a
// Cluster, saying why).
func Sibling(key, suffix string) string {
	if _, ok := hashTag(key); ok || strings.Contains(key, "}") {
		return key + suffix
	}
	return "{" + key + "}" + suffix
}

// ProcessingList is where list mode keeps list's entries until they are
// acknowledged: moved there with BLMOVE, so in list's slot. Versions
// before Cluster support named it list + ":processing" (see CarryOver).
func ProcessingList(list string) string { return Sibling(list, ":processing") }

// hashTag is the part of key that Redis Cluster hashes, when it has a tag.
func hashTag(key string) (string, bool) {
	open := strings.IndexByte(key, '{')
	if open < 0 {
		return "", false
	}
	end := strings.IndexByte(key[open+1:], '}')
	if end <= 0 {
		return "", false
	}
	return key[open+1 : open+1+end], true
}

// Slot is key's hash slot in a Redis Cluster (0 to 16383).
func Slot(key string) int {
	if tag, ok := hashTag(key); ok {
		key = tag
	}
	return int(crc16(key) % 16384)
}

// SameSlot says whether all keys are in one hash slot.
func SameSlot(keys ...string) bool {
	for _, k := range keys[1:] {
		if Slot(k) != Slot(keys[0]) {
			return false
		}
	}
	return true
}

// crc16 is CRC-16/XMODEM (polynomial 0x1021, initial 0), as Redis
// Cluster's key hashing uses.
func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// carryOver moves the old key's value to the new one in one script: a
// rename when new does not exist; otherwise, so that nothing is lost, a
// list's entries are appended at new's oldest end (its right, where list
// mode reads first) in their order, a counter keeps the larger of the two
// (a fence never goes back), and a hash keeps new's fields and gains the
// ones only old had. It returns 0 when old did not exist, 1 for a rename,
// 2 for a merge, -1 for a type it cannot merge (left alone).
var carryOver = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
if redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('RENAME', KEYS[1], KEYS[2])
  return 1
end
local t = redis.call('TYPE', KEYS[1]).ok
if t ~= redis.call('TYPE', KEYS[2]).ok then
  return -1
end
if t == 'list' then
  while redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT') do end
elseif t == 'string' then
  local o, n = tonumber(redis.call('GET', KEYS[1])), tonumber(redis.call('GET', KEYS[2]))
  if not o or not n then
    return -1
  end
  if o > n then
    redis.call('SET', KEYS[2], o)
  end
  redis.call('DEL', KEYS[1])
elseif t == 'hash' then
  local all = redis.call('HGETALL', KEYS[1])
  for i = 1, #all, 2 do
    redis.call('HSETNX', KEYS[2], all[i], all[i + 1])
  end
  redis.call('DEL', KEYS[1])
else
  return -1
end
return 2`)

// Carried says what CarryOver did.
type Carried int

const (
	NothingToCarry Carried = 0  // no old key (or a Cluster, where old names never worked)
	Renamed        Carried = 1  // old renamed to new
	Merged         Carried = 2  // both existed: old merged into new and deleted
	CannotMerge    Carried = -1 // both existed with types that do not merge: old left alone
)

// CarryOver brings a key that an older version of the bridge wrote under
// the name old to its current name new, at start: the processing list of
// list mode (entries in flight), the tool sequences, a lease's fence
// counter. Only a single Redis or Sentinel can hold old names: in a
// Cluster the old ones never worked (their keys were in other slots), and
// nothing is done.
func CarryOver(ctx context.Context, rdb redis.UniversalClient, old, new string) (Carried, error) {
	if _, cluster := rdb.(*redis.ClusterClient); cluster || old == new {
		return NothingToCarry, nil
	}
	n, err := carryOver.Run(ctx, rdb, []string{old, new}).Int()
	return Carried(n), err
}
