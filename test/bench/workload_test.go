package main

import (
	"strings"
	"testing"
	"time"
)

func TestPayloadIsPaddedToAboutTheSizeAskedFor(t *testing.T) {
	w := workload{payloadBytes: 1024}
	if n := len(w.payload(12, 345, time.Now().UnixNano(), 0)); n < 1020 || n > 1030 {
		t.Errorf("payload of %d bytes, want about 1024", n)
	}
	small := workload{}.payload(12, 345, 1, 0)
	if strings.Contains(string(small), "pad") {
		t.Errorf("unpadded payload has a pad: %s", small)
	}
}
