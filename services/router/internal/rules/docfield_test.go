package rules

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
)

// docField reads every field of a state's or a task's doc as the map of
// encoding/json did, and nothing more.
func TestDocFieldReadsAsObjectDid(t *testing.T) {
	at := timestamppb.New(time.Date(2026, 11, 4, 9, 3, 0, 0, time.UTC))
	task := &statusv1.Task{Id: 3, ProblemDescription: `belt "loose", {see} [photo] \ é`, SafetyHazard: true, CreatedAt: at}
	tool, err := records.MarshalTool(&statusv1.Tool{
		Id: 12, Name: "R+D #1 “Zeiss”", InUse: true, User: "José", InUseSince: at, UsageId: 7, Operational: true,
		OpenTasks: []*statusv1.Task{task, {Id: 4}}, LastEvent: "tool_enabled", LastEventAt: at, Sequence: "s:1-0",
		CustomerName: wrapperspb.String("ACME"), CurrentUsageId: wrapperspb.Int32(7),
	})
	if err != nil {
		t.Fatal(err)
	}
	docs := [][]byte{tool, taskDoc(task), []byte(` { "a" : [1, {"b": "}"}] , "a\u0062": null, "c": -1.5e3 , "a": true } `), []byte(`[]`), []byte(``), []byte(`{}`)}
	names := []string{"id", "name", "in_use", "user", "in_use_since", "open_tasks", "customer_name", "current_usage_id", "current_usage_start",
		"sequence", "problem_description", "safety_hazard", "created_at", "a", "ab", "c", "missing", ""}
	for _, doc := range docs {
		m := object(doc)
		for _, name := range names {
			want, wantOK := m[name]
			got, ok := docField(doc, name)
			if ok != wantOK || !cmp.Equal(string(got), string(want)) {
				t.Errorf("docField(%s, %q) = %s, %v; object gives %s, %v", doc, name, got, ok, want, wantOK)
			}
		}
	}
}
