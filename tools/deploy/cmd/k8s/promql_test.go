package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	monv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/yaml"
)

// metricName is a metric name as the services register it.
var metricName = regexp.MustCompile(`"(nemo_[a-z0-9_]+)"`)

// bridgeMetrics are the names of every metric the services register,
// read from their sources: an alert on a name no service exports would
// never fire.
func bridgeMetrics(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	err := filepath.WalkDir(filepath.Join(repoRoot(t), "services"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		for _, m := range metricName.FindAllSubmatch(src, -1) {
			names[string(m[1])] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// ruleProblems parses expr as Prometheus does and names each metric of
// the bridge it reads that no service exports.
func ruleProblems(expr string, exported map[string]bool) []string {
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok || !strings.HasPrefix(vs.Name, "nemo_") {
			return nil
		}
		name := vs.Name
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, cut := strings.CutSuffix(name, suffix); cut && exported[base] {
				name = base
			}
		}
		if !exported[name] {
			problems = append(problems, fmt.Sprintf("reads %s, which no service exports", vs.Name))
		}
		return nil
	})
	return problems
}

// Every alert of every overlay is valid PromQL and reads only metrics the
// services export.
func TestAlertRulesParseAndReadExportedMetrics(t *testing.T) {
	exported := bridgeMetrics(t)
	if len(exported) < 10 {
		t.Fatalf("found only %d metric names in services/: the scan is broken", len(exported))
	}
	root := filepath.Join(repoRoot(t), "deploy", "k8s")
	names, err := overlays(root)
	if err != nil {
		t.Fatal(err)
	}
	rules := 0
	for _, overlay := range names {
		y, err := render(filepath.Join(root, "overlays", overlay))
		if err != nil {
			t.Fatalf("overlay %s: %v", overlay, err)
		}
		for _, doc := range bytes.Split(y, []byte("\n---\n")) {
			if !bytes.Contains(doc, []byte("kind: PrometheusRule")) {
				continue
			}
			var pr monv1.PrometheusRule
			if err := yaml.Unmarshal(doc, &pr); err != nil {
				t.Fatalf("overlay %s: %v", overlay, err)
			}
			for _, g := range pr.Spec.Groups {
				for _, r := range g.Rules {
					rules++
					for _, p := range ruleProblems(r.Expr.String(), exported) {
						t.Errorf("overlay %s: PrometheusRule %s, alert %s: %s", overlay, pr.Name, r.Alert, p)
					}
				}
			}
		}
	}
	if rules == 0 {
		t.Fatal("no alert rule in any overlay: the prod overlay should carry them")
	}
}

// The check fires on a broken expression and on a misspelled metric.
func TestRuleProblemsFire(t *testing.T) {
	exported := map[string]bool{"nemo_publisher_connected": true, "nemo_publisher_publish_seconds": true}
	for expr, want := range map[string]string{
		`max(nemo_publisher_connected) == 0`:                                        "",
		`histogram_quantile(0.99, rate(nemo_publisher_publish_seconds_bucket[5m]))`: "",
		`max(nemo_publisher_conected) == 0`:                                         "reads nemo_publisher_conected, which no service exports",
		`max(nemo_publisher_connected) ==`:                                          "unexpected end of input",
	} {
		got := strings.Join(ruleProblems(expr, exported), "; ")
		if (want == "") != (got == "") || !strings.Contains(got, want) {
			t.Errorf("%s: %q, want %q", expr, got, want)
		}
	}
}
