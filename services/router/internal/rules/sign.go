package rules

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// signed is the envelope of a signed payload, as the sites that verify
// NEMO's messages read it: the payload as a JSON string, and the
// HMAC-SHA256 of that string's UTF-8 bytes with the shared key, in hex.
type signed struct {
	Payload string `json:"payload"`
	HMAC    string `json:"hmac"`
	Algo    string `json:"algo"`
}

// Sign wraps payload in the signed envelope. A payload that is not valid
// UTF-8 is signed as the string the envelope carries (invalid bytes
// replaced by U+FFFD), so that what a receiver decodes verifies.
func Sign(key, payload []byte) []byte {
	s := strings.ToValidUTF8(string(payload), "\uFFFD")
	out, _ := json.Marshal(signed{Payload: s, HMAC: mac(key, s), Algo: "sha256"})
	return out
}

func mac(key []byte, s string) string {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(s))
	return hex.EncodeToString(h.Sum(nil))
}

// Verify checks a signed envelope with key and returns the payload it
// carries.
func Verify(key, envelope []byte) ([]byte, error) {
	var e signed
	if err := json.Unmarshal(envelope, &e); err != nil {
		return nil, fmt.Errorf("not a signed envelope: %w", err)
	}
	if e.Algo != "sha256" {
		return nil, fmt.Errorf("algo %q: want sha256", e.Algo)
	}
	want, err := hex.DecodeString(e.HMAC)
	if err != nil {
		return nil, errors.New("the hmac is not hex")
	}
	got, _ := hex.DecodeString(mac(key, e.Payload))
	if !hmac.Equal(got, want) {
		return nil, errors.New("the signature does not match the payload")
	}
	return []byte(e.Payload), nil
}
