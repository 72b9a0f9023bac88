package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// checkRoot renders every overlay of root/overlays and returns the problems
// of each.
func checkRoot(t *testing.T, root string) map[string][]string {
	t.Helper()
	names, err := overlays(root)
	if err != nil {
		t.Fatal(err)
	}
	secrets, err := documentedSecrets(root)
	if err != nil {
		t.Fatal(err)
	}
	env := &checkEnv{bins: bridgeBinaries(t), secrets: secrets}
	res := map[string][]string{}
	for _, name := range names {
		y, err := render(filepath.Join(root, "overlays", name))
		if err != nil {
			res[name] = []string{"overlay " + name + ": kustomize: " + err.Error()}
			continue
		}
		res[name] = checkOverlay(name, y, env)
	}
	return res
}

// TestOverlays renders each overlay of deploy/k8s and checks every object.
func TestOverlays(t *testing.T) {
	res := checkRoot(t, filepath.Join(repoRoot(t), "deploy", "k8s"))
	for name, problems := range res {
		t.Run(name, func(t *testing.T) {
			for _, p := range problems {
				t.Error(p)
			}
		})
	}
}

// TestChecksFire proves the checks on a fixture: overlays/good passes them
// all, overlays/broken breaks each once.
func TestChecksFire(t *testing.T) {
	res := checkRoot(t, "testdata")
	for _, p := range res["good"] {
		// The fixture runs only the router.
		if !strings.Contains(p, "no container runs nemo-mqtt-bridge/") || strings.HasSuffix(p, "/router") {
			t.Errorf("good fixture: %s", p)
		}
	}
	broken := res["broken"]
	for _, want := range []string{
		// strict decoding: a misspelled field
		`ServiceAccount/router: strict decoding: strict decoding error: unknown field "automountServiceAcountToken"`,
		// a kind the scheme does not know
		`Job/not-in-the-scheme: cannot decode against the API types`,
		// images
		`Deployment/router container router: image "nemo-mqtt-bridge/router:latest" has the tag latest`,
		// probes
		`container router: no livenessProbe`,
		`container router: readinessProbe: 2 handlers set`,
		`container router: startupProbe.httpGet.port "htp": the container has no port of that name`,
		// the binary's flags and env vars
		`container router: flag "-no-such-flag=1": router does not accept it`,
		`container router: env NO_SUCH_ENV: router does not read it`,
		`container router: terminationGracePeriodSeconds 20 is not above the shutdown timeout 20s`,
		// hardening and resources
		`container router: securityContext.allowPrivilegeEscalation is not false`,
		`container router: no resources.limits.memory`,
		// references
		`Secret "undocumented-secret" is neither in the overlay nor in the documented operator-provided Secrets`,
		// Services, PDBs, names, labels
		`Service/Orphan: metadata.name: Invalid value: "Orphan"`,
		`Service/Orphan: spec.selector map[app.kubernetes.io/name:nothing] selects no workload's pods`,
		`Service/router: spec.ports[1].targetPort 9999: no container of Deployment/router has that port`,
		`PodDisruptionBudget/orphan: spec.selector.matchLabels: Invalid value: "bad value!"`,
		`PodDisruptionBudget/orphan: spec.selector map[app.kubernetes.io/name:bad value!] [] selects no workload's pods`,
		// network policies
		`namespace "nemo-bridge": no default-deny NetworkPolicy (podSelector {}, no rules) for ingress=false egress=true`,
	} {
		found := false
		for _, p := range broken {
			if strings.Contains(p, want) {
				found = true
			}
		}
		if !found {
			t.Errorf("broken fixture: no problem reported containing %q", want)
		}
	}
	if t.Failed() {
		t.Logf("reported for broken:\n%s", strings.Join(broken, "\n"))
	}
}
