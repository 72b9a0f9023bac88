package live

import (
	"encoding/json"
	"strings"

	"google.golang.org/grpc/status"
)

// problem says which question failed and why, in the status server's
// words; code is the gRPC code's name in snake case ("unavailable").
type problem struct {
	About   string `json:"about"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func problemOf(about string, err error) problem {
	st := status.Convert(err)
	return problem{About: about, Code: snake(st.Code().String()), Message: st.Message()}
}

func (p problem) json() []byte {
	doc, _ := json.Marshal(p)
	return doc
}

// snake turns "Unavailable" or "DeadlineExceeded" into "unavailable" and
// "deadline_exceeded".
func snake(name string) string {
	var b strings.Builder
	for i, r := range name {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
