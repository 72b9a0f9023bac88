package relay

import "google.golang.org/protobuf/proto"

// MaxMessageBytes is the most one stream message carries, well under
// gRPC's default 4 MiB receive limit: a batch of large events sent as one
// message would be refused by the next hop, and resent whole, forever.
const MaxMessageBytes = 1 << 20

// SendInParts sends items in order through send, as many messages as it
// takes to keep each one's items under MaxMessageBytes; an item larger
// than that goes alone.
func SendInParts[T proto.Message](items []T, send func([]T) error) error {
	start, size := 0, 0
	for i, it := range items {
		n := proto.Size(it) + 6 // the field's tag and length
		if i > start && size+n > MaxMessageBytes {
			if err := send(items[start:i]); err != nil {
				return err
			}
			start, size = i, 0
		}
		size += n
	}
	if start < len(items) {
		return send(items[start:])
	}
	return nil
}
