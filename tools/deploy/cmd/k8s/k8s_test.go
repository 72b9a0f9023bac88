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
		// GOMAXPROCS as a literal, not from the CPU request
		`container router: env GOMAXPROCS is not set from resources.requests.cpu (valueFrom.resourceFieldRef`,
		// files the flags name
		`container router: env REDIS_URL_FILE=/run/secrets/redis-url: not under any volumeMount`,
		`container router: env RULES_FILE=/etc/nemo-bridge/rules/rule.yaml: volume rules (ConfigMap rules) holds no "rule.yaml", only [rules.yaml]`,
		// addresses
		`container router: -grpc-addr is set 127.0.0.1:7002 ($GRPC_ADDR): loopback`,
		`container router: -publisher-addr router.nemo-bridge: the Certificates Deployment/router mounts do not name that host`,
		`container router: -publisher-addr nowhere: no Service "nowhere" in the overlay`,
		`container router: -publisher-addr router:9999: Service router has no port 9999`,
		`container router: -grpc-tls-key is not set ($GRPC_TLS_KEY): gRPC beyond loopback needs mutual TLS`,
		`container router: -publisher-addr router.nemo-bridge: to Deployment/router port 7002: none of the 1 NetworkPolicies for router's egress allows it`,
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
		// a workload broken in many ways
		`Deployment/worker: spec.selector app=worker does not match the pod template labels map[app:other]`,
		`Deployment/worker: automountServiceAccountToken is not false`,
		`Deployment/worker: volume cfg: ConfigMap "missing-config" is not in the overlay`,
		`Deployment/worker container Bad_Name: name: a lowercase RFC 1123 label`,
		`Deployment/worker container Bad_Name: image "busybox" has no tag`,
		`Deployment/worker container Bad_Name: env "1BAD": a valid environment variable name`,
		`Deployment/worker container Bad_Name: ports[0].containerPort: must be between 1 and 65535`,
		`Deployment/worker container Bad_Name: ports[0].name "port-name-too-long": must be no more than 15 characters`,
		`Deployment/worker container Bad_Name: livenessProbe.tcpSocket.port: must be between 1 and 65535`,
		`Deployment/worker container Bad_Name: readinessProbe: 0 handlers set`,
		`Deployment/worker container Bad_Name: runAsNonRoot is not true`,
		`Deployment/worker container Bad_Name: securityContext.readOnlyRootFilesystem is not true`,
		`Deployment/worker container Bad_Name: securityContext.capabilities.drop does not include ALL`,
		`Deployment/worker container Bad_Name: seccompProfile is not RuntimeDefault`,
		`Deployment/worker container Bad_Name: no resources.requests.cpu`,
		`Deployment/worker container gw: image "example.invalid/nemo-mqtt-bridge/gateway:1.0" is not nemo-mqtt-bridge/`,
		// monitoring, cert-manager, autoscaling
		`ServiceMonitor/bad: spec.endpoints[0].port "metrics": Service router has no port of that name`,
		`Certificate/bad: spec.issuerRef ClusterIssuer/nope: not in the overlay`,
		`HorizontalPodAutoscaler/bad: spec.scaleTargetRef Deployment/nope: no such object`,
		// network policies
		`namespace "nemo-bridge": no default-deny NetworkPolicy (podSelector {}, the policyType without rules) for Egress`,
		`StatefulSet/overlap: its pods are selected by no NetworkPolicy but the namespace's default deny`,
		// selectors that overlap
		`Deployment/worker: spec.selector app=worker and StatefulSet/overlap's app=other overlap`,
		`StatefulSet/overlap: its pods are under 2 PodDisruptionBudgets (overlap-a, overlap-b)`,
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

// TestStrictDecoding: a duplicate field fails as an unknown one does (the
// YAML goes to checkOverlay directly: kustomize itself refuses duplicate keys).
func TestStrictDecoding(t *testing.T) {
	y := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n  namespace: x\n"
	problems := checkOverlay("raw", []byte(y), &checkEnv{})
	if len(problems) == 0 || !strings.Contains(strings.Join(problems, "\n"), `strict decoding error: yaml: unmarshal errors:`) || !strings.Contains(strings.Join(problems, "\n"), `key "name" already set in map`) {
		t.Errorf("a duplicate field was not reported: %q", problems)
	}
}

// TestGOMAXPROCSCheck: only GOMAXPROCS from the container's own
// requests.cpu with divisor 1 passes (the YAML goes to checkOverlay
// directly, without binaries: only this check's message is looked at).
func TestGOMAXPROCSCheck(t *testing.T) {
	for _, tc := range []struct {
		env  string
		good bool
	}{
		{`{name: GOMAXPROCS, valueFrom: {resourceFieldRef: {resource: requests.cpu, divisor: "1"}}}`, true},
		{`{name: GOMAXPROCS, valueFrom: {resourceFieldRef: {resource: requests.cpu}}}`, true},
		{`{name: GOMAXPROCS, valueFrom: {resourceFieldRef: {containerName: router, resource: requests.cpu}}}`, true},
		{``, false},
		{`{name: GOMAXPROCS, value: "2"}`, false},
		{`{name: GOMAXPROCS, valueFrom: {resourceFieldRef: {resource: limits.cpu}}}`, false},
		{`{name: GOMAXPROCS, valueFrom: {resourceFieldRef: {resource: requests.cpu, divisor: 1m}}}`, false},
		{`{name: GOMAXPROCS, valueFrom: {resourceFieldRef: {containerName: sidecar, resource: requests.cpu}}}`, false},
		{`{name: GOMAXPROCS, valueFrom: {resourceFieldRef: {resource: requests.cpu}}}, {name: GOMAXPROCS, value: "2"}`, false},
	} {
		y := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: router, namespace: x}\nspec:\n  template:\n    spec:\n      containers:\n" +
			"        - name: router\n          image: nemo-mqtt-bridge/router:1\n          env: [" + tc.env + "]\n"
		problems := strings.Join(checkOverlay("raw", []byte(y), &checkEnv{}), "\n")
		if got := strings.Contains(problems, "container router: env GOMAXPROCS is not set from resources.requests.cpu"); got == tc.good {
			t.Errorf("env [%s]: reported %v, want %v:\n%s", tc.env, got, !tc.good, problems)
		}
	}
}
