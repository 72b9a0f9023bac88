package main

// The checks of a rendered overlay. k8s.io/kubernetes's own validation
// package (pkg/apis/core/validation) is not importable as a Go module (its
// go.mod replaces every k8s.io/* module with a relative path), so the value
// checks below call the apimachinery rules that validation is built from:
// k8s.io/apimachinery/pkg/api/validation (object metadata),
// k8s.io/apimachinery/pkg/apis/meta/v1/validation (labels, selectors) and
// k8s.io/apimachinery/pkg/util/validation (names, ports, env var names).

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	monv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsyaml "sigs.k8s.io/yaml"
)

// checkEnv is what the checks compare the manifests with.
type checkEnv struct {
	bins    map[string]*binary  // the bridge's services and what each accepts
	secrets map[string][]string // operator-provided Secrets (README.md / SECRETS.md) and their keys
}

type object struct {
	kind, ns, name string
	obj            runtime.Object
}

// workload is a Deployment, StatefulSet or DaemonSet.
type workload struct {
	object
	selector *metav1.LabelSelector
	tmpl     corev1.PodTemplateSpec
}

type checker struct {
	overlay  string
	env      *checkEnv
	problems []string

	objects   []object
	workloads []workload
	has       map[string]bool            // "Kind/ns/name" of every object
	bridge    map[string]int             // service -> containers running its image
	keys      map[string]map[string]bool // "Secret/ns/name" or "ConfigMap/ns/name" -> its keys
}

func (c *checker) addf(o object, container, format string, args ...any) {
	where := o.kind + "/" + o.name
	if o.ns != "" {
		where = o.ns + "/" + where
	}
	if container != "" {
		where += " container " + container
	}
	c.problems = append(c.problems, fmt.Sprintf("overlay %s: %s: %s", c.overlay, where, fmt.Sprintf(format, args...)))
}

func (c *checker) errs(o object, container string, errs field.ErrorList) {
	for _, e := range errs {
		c.addf(o, container, "%v", e)
	}
}

func key(kind, ns, name string) string { return kind + "/" + ns + "/" + name }

var clusterScoped = map[string]bool{
	"Namespace": true, "ClusterRole": true, "ClusterRoleBinding": true, "ClusterIssuer": true,
	"PersistentVolume": true,
}

// checkOverlay decodes and checks the rendered YAML of one overlay and
// returns one line per problem, each naming the overlay, the object, the
// container where there is one, and what is wrong.
func checkOverlay(overlay string, rendered []byte, env *checkEnv) []string {
	c := &checker{overlay: overlay, env: env, has: map[string]bool{}, bridge: map[string]int{}, keys: map[string]map[string]bool{}}
	s, err := newScheme()
	if err != nil {
		return []string{err.Error()}
	}
	ser := strictSerializer(s)
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(rendered)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			c.problems = append(c.problems, fmt.Sprintf("overlay %s: reading the rendered YAML: %v", overlay, err))
			break
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		var id struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		_ = sigsyaml.Unmarshal(doc, &id)
		o := object{kind: id.Kind, ns: id.Metadata.Namespace, name: id.Metadata.Name}
		obj, _, err := ser.Decode(doc, nil, nil)
		if err != nil {
			if !runtime.IsStrictDecodingError(err) || obj == nil {
				// Includes a kind the scheme does not know: no silent pass.
				c.addf(o, "", "cannot decode against the API types: %v", err)
				continue
			}
			// Unknown or duplicate fields: the API server would refuse
			// the object (kubectl's default --validate=strict); the rest
			// of it is still checked.
			c.addf(o, "", "strict decoding: %v", err)
		}
		o.obj = obj
		c.objects = append(c.objects, o)
		c.has[key(o.kind, o.ns, o.name)] = true
	}
	for _, o := range c.objects {
		c.checkMeta(o)
		switch v := o.obj.(type) {
		case *appsv1.Deployment:
			c.workloads = append(c.workloads, workload{o, v.Spec.Selector, v.Spec.Template})
		case *appsv1.StatefulSet:
			c.workloads = append(c.workloads, workload{o, v.Spec.Selector, v.Spec.Template})
		case *appsv1.DaemonSet:
			c.workloads = append(c.workloads, workload{o, v.Spec.Selector, v.Spec.Template})
		case *cmv1.Certificate:
			// cert-manager creates the Secret a Certificate names.
			c.has[key("Secret", o.ns, v.Spec.SecretName)] = true
			c.keys[key("Secret", o.ns, v.Spec.SecretName)] = map[string]bool{"tls.crt": true, "tls.key": true, "ca.crt": true}
		case *corev1.Secret:
			ks := map[string]bool{}
			for k := range v.Data {
				ks[k] = true
			}
			for k := range v.StringData {
				ks[k] = true
			}
			c.keys[key("Secret", o.ns, o.name)] = ks
		case *corev1.ConfigMap:
			ks := map[string]bool{}
			for k := range v.Data {
				ks[k] = true
			}
			for k := range v.BinaryData {
				ks[k] = true
			}
			c.keys[key("ConfigMap", o.ns, o.name)] = ks
		}
	}
	for _, w := range c.workloads {
		c.checkWorkload(w)
	}
	c.checkShards()
	c.checkSites()
	nsWithPods := map[string]bool{}
	for _, w := range c.workloads {
		nsWithPods[w.ns] = true
	}
	denyIn, denyOut := map[string]bool{}, map[string]bool{}
	for _, o := range c.objects {
		switch v := o.obj.(type) {
		case *appsv1.StatefulSet:
			if v.Spec.ServiceName != "" && !c.has[key("Service", o.ns, v.Spec.ServiceName)] {
				c.addf(o, "", "spec.serviceName %q: no such Service", v.Spec.ServiceName)
			}
		case *corev1.Service:
			c.checkService(o, v)
		case *policyv1.PodDisruptionBudget:
			c.errs(o, "", metav1validation.ValidateLabelSelector(v.Spec.Selector, metav1validation.LabelSelectorValidationOptions{}, field.NewPath("spec", "selector")))
			if len(c.selected(o.ns, v.Spec.Selector)) == 0 {
				c.addf(o, "", "spec.selector %s selects no workload's pods", fmtSelector(v.Spec.Selector))
			}
		case *networkingv1.NetworkPolicy:
			c.checkNetworkPolicy(o, v)
			in, out := isDefaultDeny(v)
			denyIn[o.ns] = denyIn[o.ns] || in
			denyOut[o.ns] = denyOut[o.ns] || out
		case *autoscalingv2.HorizontalPodAutoscaler:
			ref := v.Spec.ScaleTargetRef
			if !c.has[key(ref.Kind, o.ns, ref.Name)] {
				c.addf(o, "", "spec.scaleTargetRef %s/%s: no such object", ref.Kind, ref.Name)
			}
		case *monv1.ServiceMonitor:
			c.checkServiceMonitor(o, v)
		case *cmv1.Certificate:
			c.checkCertificate(o, v)
		case *rbacv1.RoleBinding:
			for _, s := range v.Subjects {
				if s.Kind == "ServiceAccount" && !c.has[key("ServiceAccount", orNs(s.Namespace, o.ns), s.Name)] {
					c.addf(o, "", "subject ServiceAccount %s: no such ServiceAccount", s.Name)
				}
			}
		}
	}
	c.checkSelection(denyIn, denyOut)
	// Every overlay runs the whole bridge; this also keeps the checks of
	// the bridge's containers from passing on an overlay with none.
	for _, svc := range services {
		if c.bridge[svc] == 0 {
			c.problems = append(c.problems, fmt.Sprintf("overlay %s: no container runs nemo-mqtt-bridge/%s", overlay, svc))
		}
	}
	nss := make([]string, 0, len(nsWithPods))
	for ns := range nsWithPods {
		nss = append(nss, ns)
	}
	sort.Strings(nss)
	for _, ns := range nss {
		var missing []string
		if !denyIn[ns] {
			missing = append(missing, "Ingress")
		}
		if !denyOut[ns] {
			missing = append(missing, "Egress")
		}
		if len(missing) > 0 {
			c.problems = append(c.problems, fmt.Sprintf("overlay %s: namespace %q: no default-deny NetworkPolicy (podSelector {}, the policyType without rules) for %s",
				overlay, ns, strings.Join(missing, " and ")))
		}
	}
	return c.problems
}

// checkSelection: no two workloads' selectors overlap (each controller
// would take the other's pods as its own), no pod is under two
// PodDisruptionBudgets (the eviction API refuses to evict it, so a drain
// stalls on it), and in a namespace with a default deny every pod is
// selected by some other NetworkPolicy (else nothing reaches it and it
// reaches nothing, not even DNS).
func (c *checker) checkSelection(denyIn, denyOut map[string]bool) {
	for i, w := range c.workloads {
		for _, x := range c.workloads[i+1:] {
			if w.ns == x.ns && (selects(w.selector, x.tmpl.Labels) || selects(x.selector, w.tmpl.Labels)) {
				c.addf(w.object, "", "spec.selector %s and %s/%s's %s overlap: each would take the other's pods as its own (give each its own app.kubernetes.io/name)",
					fmtSelector(w.selector), x.kind, x.name, fmtSelector(x.selector))
			}
		}
		var pdbs, policies []string
		for _, o := range c.objects {
			if o.ns != w.ns {
				continue
			}
			switch v := o.obj.(type) {
			case *policyv1.PodDisruptionBudget:
				if v.Spec.Selector != nil && selects(v.Spec.Selector, w.tmpl.Labels) {
					pdbs = append(pdbs, o.name)
				}
			case *networkingv1.NetworkPolicy:
				if in, out := isDefaultDeny(v); !in && !out && selects(&v.Spec.PodSelector, w.tmpl.Labels) {
					policies = append(policies, o.name)
				}
			}
		}
		if len(pdbs) > 1 {
			c.addf(w.object, "", "its pods are under %d PodDisruptionBudgets (%s): the eviction API refuses to evict such a pod, so a drain stalls on it", len(pdbs), strings.Join(pdbs, ", "))
		}
		if (denyIn[w.ns] || denyOut[w.ns]) && len(policies) == 0 {
			c.addf(w.object, "", "its pods are selected by no NetworkPolicy but the namespace's default deny: nothing reaches them and they reach nothing")
		}
	}
}

// fmtSelector is metav1.FormatLabelSelector, which says only "<error>" for
// a selector it cannot parse.
func fmtSelector(s *metav1.LabelSelector) string {
	if f := metav1.FormatLabelSelector(s); f != "<error>" {
		return f
	}
	return fmt.Sprintf("%v %v", s.MatchLabels, s.MatchExpressions)
}

func orNs(ns, def string) string {
	if ns != "" {
		return ns
	}
	return def
}

// checkMeta applies the API server's metadata rules: the name (a DNS-1035
// label for a Service, DNS-1123 label for a Namespace, DNS-1123 subdomain
// otherwise), the namespace (required on a namespaced kind: an overlay that
// leaves it out deploys into whatever namespace kubectl's context names),
// label keys and values, annotation keys and size.
func (c *checker) checkMeta(o object) {
	acc, err := metaAccessor(o.obj)
	if err != nil {
		c.addf(o, "", "%v", err)
		return
	}
	nameFn := apivalidation.NameIsDNSSubdomain
	switch o.kind {
	case "Service":
		nameFn = apivalidation.NameIsDNS1035Label
	case "Namespace":
		nameFn = apivalidation.ValidateNamespaceName
	}
	c.errs(o, "", apivalidation.ValidateObjectMetaAccessor(acc, !clusterScoped[o.kind], nameFn, field.NewPath("metadata")))
}

func metaAccessor(obj runtime.Object) (metav1.Object, error) {
	m, ok := obj.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("%T has no object metadata", obj)
	}
	return m, nil
}

// selected returns the workloads in ns whose pod template labels sel matches.
func (c *checker) selected(ns string, sel *metav1.LabelSelector) []workload {
	if sel == nil {
		return nil
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil || s.Empty() {
		return nil
	}
	var ws []workload
	for _, w := range c.workloads {
		if w.ns == ns && s.Matches(labels.Set(w.tmpl.Labels)) {
			ws = append(ws, w)
		}
	}
	return ws
}

func (c *checker) checkWorkload(w workload) {
	o := w.object
	p := field.NewPath("spec")
	c.errs(o, "", metav1validation.ValidateLabelSelector(w.selector, metav1validation.LabelSelectorValidationOptions{}, p.Child("selector")))
	c.errs(o, "", metav1validation.ValidateLabels(w.tmpl.Labels, p.Child("template", "metadata", "labels")))
	if sel, err := metav1.LabelSelectorAsSelector(w.selector); err != nil || w.selector == nil || sel.Empty() {
		c.addf(o, "", "spec.selector is empty or invalid")
	} else if !sel.Matches(labels.Set(w.tmpl.Labels)) {
		c.addf(o, "", "spec.selector %s does not match the pod template labels %v", fmtSelector(w.selector), w.tmpl.Labels)
	}
	spec := &w.tmpl.Spec
	// automountServiceAccountToken: false on the pod, or left unset on the
	// pod and false on its ServiceAccount.
	if a := spec.AutomountServiceAccountToken; a == nil || *a {
		saFalse := false
		for _, x := range c.objects {
			if sa, ok := x.obj.(*corev1.ServiceAccount); ok && x.ns == o.ns && sa.Name == orNs(spec.ServiceAccountName, "default") {
				saFalse = sa.AutomountServiceAccountToken != nil && !*sa.AutomountServiceAccountToken
			}
		}
		if a != nil || !saFalse {
			c.addf(o, "", "automountServiceAccountToken is not false")
		}
	}
	if n := spec.ServiceAccountName; n != "" && !c.has[key("ServiceAccount", o.ns, n)] {
		c.addf(o, "", "serviceAccountName %q: no such ServiceAccount in the overlay", n)
	}
	psc := spec.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	for _, v := range spec.Volumes {
		switch {
		case v.Secret != nil:
			c.needSecret(o, "", v.Secret.SecretName, "volume "+v.Name)
		case v.ConfigMap != nil:
			c.needConfigMap(o, "", v.ConfigMap.Name, "volume "+v.Name)
		case v.Projected != nil:
			for _, src := range v.Projected.Sources {
				if src.Secret != nil {
					c.needSecret(o, "", src.Secret.Name, "projected volume "+v.Name)
				}
				if src.ConfigMap != nil {
					c.needConfigMap(o, "", src.ConfigMap.Name, "projected volume "+v.Name)
				}
			}
		}
	}
	for _, s := range spec.ImagePullSecrets {
		c.needSecret(o, "", s.Name, "imagePullSecrets")
	}
	for _, ct := range spec.InitContainers {
		c.checkContainer(w, psc, ct, false)
	}
	for _, ct := range spec.Containers {
		c.checkContainer(w, psc, ct, true)
	}
}

func (c *checker) needSecret(o object, container, name, where string) {
	if _, documented := c.env.secrets[name]; !c.has[key("Secret", o.ns, name)] && !documented {
		c.addf(o, container, "%s: Secret %q is neither in the overlay nor in the documented operator-provided Secrets", where, name)
	}
}

func (c *checker) needConfigMap(o object, container, name, where string) {
	if !c.has[key("ConfigMap", o.ns, name)] {
		c.addf(o, container, "%s: ConfigMap %q is not in the overlay", where, name)
	}
}

var (
	// What `make images` writes: nemo-mqtt-bridge/<service>:<tag>.
	bridgeImage = regexp.MustCompile(`^nemo-mqtt-bridge/(ingest|router|publisher|gateway):([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$`)
	expansion   = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)`)
)

func (c *checker) checkContainer(w workload, psc *corev1.PodSecurityContext, ct corev1.Container, regular bool) {
	o, n := w.object, ct.Name
	for _, e := range validation.IsDNS1123Label(ct.Name) {
		c.addf(o, n, "name: %s", e)
	}
	// Image: a tag, not latest.
	img := ct.Image
	if i := strings.Index(img, "@"); i >= 0 {
		img = img[:i] // a digest pins it; the tag rules still apply to what is left
	}
	tag := ""
	if i := strings.LastIndex(img, ":"); i > strings.LastIndex(img, "/") {
		tag = img[i+1:]
	}
	switch {
	case ct.Image == "":
		c.addf(o, n, "no image")
	case tag == "" && !strings.Contains(ct.Image, "@"):
		c.addf(o, n, "image %q has no tag", ct.Image)
	case tag == "latest":
		c.addf(o, n, "image %q has the tag latest", ct.Image)
	}
	svc := ""
	if m := bridgeImage.FindStringSubmatch(ct.Image); m != nil {
		svc = m[1]
	} else if strings.Contains(ct.Image, "nemo-mqtt-bridge") || slices.Contains(services, ct.Name) {
		c.addf(o, n, "image %q is not nemo-mqtt-bridge/<ingest|router|publisher|gateway>:<tag> as `make images` writes", ct.Image)
		if slices.Contains(services, ct.Name) {
			svc = ct.Name
		}
	}
	// Ports.
	for i, p := range ct.Ports {
		for _, e := range validation.IsValidPortNum(int(p.ContainerPort)) {
			c.addf(o, n, "ports[%d].containerPort: %s", i, e)
		}
		if p.Name != "" {
			for _, e := range validation.IsValidPortName(p.Name) {
				c.addf(o, n, "ports[%d].name %q: %s", i, p.Name, e)
			}
		}
	}
	// Environment and the Secrets and ConfigMaps it refers to.
	for _, e := range ct.Env {
		for _, msg := range validation.IsEnvVarName(e.Name) {
			c.addf(o, n, "env %q: %s", e.Name, msg)
		}
		if e.ValueFrom == nil {
			c.checkPath(w, ct, "env "+e.Name, e.Value, strings.HasSuffix(e.Name, "_FILE"))
		}
		if vf := e.ValueFrom; vf != nil {
			if vf.SecretKeyRef != nil {
				c.needSecret(o, n, vf.SecretKeyRef.Name, "env "+e.Name)
			}
			if vf.ConfigMapKeyRef != nil {
				c.needConfigMap(o, n, vf.ConfigMapKeyRef.Name, "env "+e.Name)
			}
		}
	}
	for _, ef := range ct.EnvFrom {
		if ef.SecretRef != nil {
			c.needSecret(o, n, ef.SecretRef.Name, "envFrom")
		}
		if ef.ConfigMapRef != nil {
			c.needConfigMap(o, n, ef.ConfigMapRef.Name, "envFrom")
		}
	}
	// Resources: requests, and a memory limit at least the request (the
	// API server's rule).
	if _, ok := ct.Resources.Limits[corev1.ResourceMemory]; !ok {
		c.addf(o, n, "no resources.limits.memory")
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := ct.Resources.Requests[r]; !ok {
			c.addf(o, n, "no resources.requests.%s", r)
		}
	}
	if req, ok := ct.Resources.Requests[corev1.ResourceMemory]; ok {
		if lim, ok := ct.Resources.Limits[corev1.ResourceMemory]; ok && req.Cmp(lim) > 0 {
			c.addf(o, n, "resources.requests.memory %s above the limit %s", req.String(), lim.String())
		}
	}
	c.checkSecurityContext(o, psc, ct)
	if regular {
		if ct.ReadinessProbe == nil {
			c.addf(o, n, "no readinessProbe")
		}
		if ct.LivenessProbe == nil {
			c.addf(o, n, "no livenessProbe")
		}
		for name, p := range map[string]*corev1.Probe{"readinessProbe": ct.ReadinessProbe, "livenessProbe": ct.LivenessProbe, "startupProbe": ct.StartupProbe} {
			if p != nil {
				c.checkProbe(o, ct, name, p)
			}
		}
	}
	if svc != "" {
		c.bridge[svc]++
		c.checkBridgeConfig(w, ct, svc)
		c.checkGOMAXPROCS(o, ct)
	}
}

// checkGOMAXPROCS: a bridge container takes GOMAXPROCS from its own CPU
// request (the Downward API, divisor 1). The manifests set no CPU limit, on
// purpose (no CFS throttling), and without one Go schedules on every core
// of the node; the request is what the scheduler guarantees.
func (c *checker) checkGOMAXPROCS(o object, ct corev1.Container) {
	var last *corev1.EnvVar // of duplicates, the last one wins
	for i := range ct.Env {
		if ct.Env[i].Name == "GOMAXPROCS" {
			last = &ct.Env[i]
		}
	}
	if last != nil && last.ValueFrom != nil {
		if r := last.ValueFrom.ResourceFieldRef; r != nil && r.Resource == "requests.cpu" &&
			(r.ContainerName == "" || r.ContainerName == ct.Name) &&
			(r.Divisor.IsZero() || r.Divisor.Cmp(resource.MustParse("1")) == 0) {
			return
		}
	}
	c.addf(o, ct.Name, "env GOMAXPROCS is not set from resources.requests.cpu (valueFrom.resourceFieldRef, divisor 1): without a CPU limit Go schedules on every core of the node")
}

// checkPath: a value that is an absolute path under a volumeMount of a
// Secret or ConfigMap must name a file that volume holds (a key, or an
// item's path); one that names a file (the services' *_FILE variables and
// -*-file flags) must be under some volumeMount, since the root filesystem
// is read-only and the images hold no such file.
func (c *checker) checkPath(w workload, ct corev1.Container, where, value string, isFile bool) {
	if !strings.HasPrefix(value, "/") {
		return
	}
	var mount *corev1.VolumeMount
	for i, m := range ct.VolumeMounts {
		mp := strings.TrimSuffix(m.MountPath, "/")
		if (value == mp || strings.HasPrefix(value, mp+"/")) && (mount == nil || len(mp) > len(strings.TrimSuffix(mount.MountPath, "/"))) {
			mount = &ct.VolumeMounts[i]
		}
	}
	if mount == nil {
		if isFile {
			c.addf(w.object, ct.Name, "%s=%s: not under any volumeMount", where, value)
		}
		return
	}
	rel := strings.TrimPrefix(strings.TrimPrefix(value, strings.TrimSuffix(mount.MountPath, "/")), "/")
	if rel == "" || mount.SubPath != "" || mount.SubPathExpr != "" {
		return
	}
	var vol *corev1.Volume
	for i := range w.tmpl.Spec.Volumes {
		if w.tmpl.Spec.Volumes[i].Name == mount.Name {
			vol = &w.tmpl.Spec.Volumes[i]
		}
	}
	if vol == nil {
		c.addf(w.object, ct.Name, "volumeMount %s: no volume of that name", mount.Name)
		return
	}
	files, what, known := c.volumeFiles(w.ns, *vol)
	if known && !files[rel] {
		have := make([]string, 0, len(files))
		for f := range files {
			have = append(have, f)
		}
		sort.Strings(have)
		c.addf(w.object, ct.Name, "%s=%s: volume %s (%s) holds no %q, only %v", where, value, vol.Name, what, rel, have)
	}
}

// volumeFiles: the files a Secret, ConfigMap or projected volume holds,
// when the overlay (or the documented Secrets' keys) tells.
func (c *checker) volumeFiles(ns string, v corev1.Volume) (files map[string]bool, what string, known bool) {
	source := func(kind, name string, items []corev1.KeyToPath) (map[string]bool, bool) {
		fs := map[string]bool{}
		if len(items) > 0 {
			for _, it := range items {
				fs[it.Path] = true
			}
			return fs, true
		}
		if ks, ok := c.keys[key(kind, ns, name)]; ok {
			return ks, true
		}
		if kind == "Secret" && len(c.env.secrets[name]) > 0 {
			for _, k := range c.env.secrets[name] {
				fs[k] = true
			}
			return fs, true
		}
		return nil, false
	}
	switch {
	case v.Secret != nil:
		fs, ok := source("Secret", v.Secret.SecretName, v.Secret.Items)
		return fs, "Secret " + v.Secret.SecretName, ok
	case v.ConfigMap != nil:
		fs, ok := source("ConfigMap", v.ConfigMap.Name, v.ConfigMap.Items)
		return fs, "ConfigMap " + v.ConfigMap.Name, ok
	case v.Projected != nil:
		all := map[string]bool{}
		for _, src := range v.Projected.Sources {
			var fs map[string]bool
			var ok bool
			switch {
			case src.Secret != nil:
				fs, ok = source("Secret", src.Secret.Name, src.Secret.Items)
			case src.ConfigMap != nil:
				fs, ok = source("ConfigMap", src.ConfigMap.Name, src.ConfigMap.Items)
			}
			if !ok {
				return nil, "", false
			}
			for f := range fs {
				all[f] = true
			}
		}
		return all, "projected", true
	}
	return nil, "", false
}

func (c *checker) checkSecurityContext(o object, psc *corev1.PodSecurityContext, ct corev1.Container) {
	n := ct.Name
	sc := ct.SecurityContext
	if sc == nil {
		sc = &corev1.SecurityContext{}
	}
	nonRoot := psc.RunAsNonRoot
	if sc.RunAsNonRoot != nil {
		nonRoot = sc.RunAsNonRoot
	}
	if nonRoot == nil || !*nonRoot {
		c.addf(o, n, "runAsNonRoot is not true (pod or container securityContext)")
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		c.addf(o, n, "securityContext.readOnlyRootFilesystem is not true")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		c.addf(o, n, "securityContext.allowPrivilegeEscalation is not false")
	}
	if sc.Privileged != nil && *sc.Privileged {
		c.addf(o, n, "securityContext.privileged is true")
	}
	if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		c.addf(o, n, "securityContext.capabilities.drop does not include ALL")
	}
	seccomp := psc.SeccompProfile
	if sc.SeccompProfile != nil {
		seccomp = sc.SeccompProfile
	}
	if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
		c.addf(o, n, "seccompProfile is not RuntimeDefault (pod or container securityContext)")
	}
}

// checkProbe: exactly one handler, as the API server requires, and a port
// that is valid and, when named, a port of this container (beyond the API
// server: the kubelet would fail the probe).
func (c *checker) checkProbe(o object, ct corev1.Container, name string, p *corev1.Probe) {
	n := ct.Name
	h := p.ProbeHandler
	count := 0
	for _, set := range []bool{h.Exec != nil, h.HTTPGet != nil, h.TCPSocket != nil, h.GRPC != nil} {
		if set {
			count++
		}
	}
	if count != 1 {
		c.addf(o, n, "%s: %d handlers set, exactly one of exec, httpGet, tcpSocket, grpc must be", name, count)
	}
	port := func(what string, v intstr.IntOrString) {
		if v.Type == intstr.String {
			for _, e := range validation.IsValidPortName(v.StrVal) {
				c.addf(o, n, "%s.%s.port %q: %s", name, what, v.StrVal, e)
			}
			if !slices.ContainsFunc(ct.Ports, func(cp corev1.ContainerPort) bool { return cp.Name == v.StrVal }) {
				c.addf(o, n, "%s.%s.port %q: the container has no port of that name", name, what, v.StrVal)
			}
			return
		}
		for _, e := range validation.IsValidPortNum(v.IntValue()) {
			c.addf(o, n, "%s.%s.port: %s", name, what, e)
		}
	}
	if h.HTTPGet != nil {
		port("httpGet", h.HTTPGet.Port)
	}
	if h.TCPSocket != nil {
		port("tcpSocket", h.TCPSocket.Port)
	}
	if h.GRPC != nil {
		for _, e := range validation.IsValidPortNum(int(h.GRPC.Port)) {
			c.addf(o, n, "%s.grpc.port: %s", name, e)
		}
	}
}

// goRuntimeEnv: variables the Go runtime reads in every service, which no
// -h lists.
var goRuntimeEnv = map[string]bool{"GOMAXPROCS": true, "GOMEMLIMIT": true, "GOGC": true, "GODEBUG": true}

// checkBridgeConfig: every flag in command/args and every env var is one the
// service's binary accepts (its -h) or the Go runtime reads, and the pod's
// grace period outlasts the shutdown timeout the container sets (or the
// binary's default).
func (c *checker) checkBridgeConfig(w workload, ct corev1.Container, svc string) {
	o, n := w.object, ct.Name
	b := c.env.bins[svc]
	if b == nil {
		c.addf(o, n, "no binary information for service %s", svc)
		return
	}
	args := ct.Args
	if len(ct.Command) > 0 {
		args = append(slices.Clone(ct.Command[1:]), ct.Args...)
	}
	// Env vars referred to as $(NAME) in command, args or another env value
	// are used by Kubernetes' expansion, not by the binary.
	expanded := map[string]bool{}
	for _, s := range append(slices.Clone(ct.Command), ct.Args...) {
		for _, m := range expansion.FindAllStringSubmatch(s, -1) {
			expanded[m[1]] = true
		}
	}
	for _, e := range ct.Env {
		for _, m := range expansion.FindAllStringSubmatch(e.Value, -1) {
			expanded[m[1]] = true
		}
	}
	// set: the values each flag is given, by args or by its env twin.
	set := map[string][]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" || a == "--" {
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		takesValue, ok := b.flags[name]
		if !ok {
			c.addf(o, n, "flag %q: %s does not accept it (see %s -h)", a, svc, svc)
			continue
		}
		if takesValue && !hasVal && i+1 < len(args) {
			i++
			val, hasVal = args[i], true
		}
		if hasVal {
			c.checkPath(w, ct, "flag -"+name, val, strings.HasSuffix(name, "-file"))
			set[name] = append(set[name], val)
		}
	}
	for _, e := range ct.Env {
		if !b.envs[e.Name] && !expanded[e.Name] && !goRuntimeEnv[e.Name] {
			c.addf(o, n, "env %s: %s does not read it (see %s -h)", e.Name, svc, svc)
		}
		if f, ok := b.envFlag[e.Name]; ok {
			if e.ValueFrom != nil {
				set[f] = append(set[f], "") // set, value unknown here
				if f == "shutdown-timeout" {
					c.addf(o, n, "env SHUTDOWN_TIMEOUT comes from valueFrom: cannot compare it with terminationGracePeriodSeconds")
				}
				continue
			}
			set[f] = append(set[f], e.Value)
		}
	}
	for _, ef := range ct.EnvFrom {
		c.addf(o, n, "envFrom (prefix %q): the variable names cannot be checked against %s -h", ef.Prefix, svc)
	}
	c.checkAddrs(w, ct, svc, b, set)
	// gRPC beyond loopback: mutual TLS (the three files), never
	// -grpc-insecure; the listen address is checked by checkAddrs.
	if _, ok := b.flags["grpc-insecure"]; ok {
		for _, v := range set["grpc-insecure"] {
			if v != "false" && v != "0" {
				c.addf(o, n, "-grpc-insecure is set (%q): gRPC without TLS", v)
			}
		}
		for _, f := range []string{"grpc-tls-cert", "grpc-tls-key", "grpc-tls-ca"} {
			if _, ok := b.flags[f]; ok && len(set[f]) == 0 {
				c.addf(o, n, "-%s is not set (%s): gRPC beyond loopback needs mutual TLS", f, svcEnvHint(b, f))
			}
		}
	}
	var shutdown []string
	for _, v := range set["shutdown-timeout"] {
		if v != "" {
			shutdown = append(shutdown, v)
		}
	}
	if len(set["shutdown-timeout"]) == 0 {
		if d, ok := b.defaults["shutdown-timeout"]; ok {
			shutdown = append(shutdown, d)
		}
	}
	grace := int64(corev1.DefaultTerminationGracePeriodSeconds) // the API server's default
	if g := w.tmpl.Spec.TerminationGracePeriodSeconds; g != nil {
		grace = *g
	}
	for _, s := range shutdown {
		d, err := time.ParseDuration(s)
		if err != nil {
			c.addf(o, n, "shutdown timeout %q: %v", s, err)
			continue
		}
		if time.Duration(grace)*time.Second <= d {
			c.addf(o, n, "terminationGracePeriodSeconds %d is not above the shutdown timeout %s", grace, d)
		}
	}
}

// checkAddrs: every -*-addr flag, as set or by default. A listen address
// (-grpc-addr, -http-addr) must not be loopback: the probes, Prometheus and
// the other services come from outside the pod. A peer address (-router-addr
// and so on) must name a Service of the overlay, or a StatefulSet pod
// (<name>-<ordinal>.<service>), on one of its ports, and be among the
// dnsNames of the Certificate whose Secret that peer mounts (mutual TLS).
// A list is separated by "," (and, for -publisher-addr's shards, by ";").
func (c *checker) checkAddrs(w workload, ct corev1.Container, svc string, b *binary, set map[string][]string) {
	names := make([]string, 0, len(b.flags))
	for f := range b.flags {
		if strings.HasSuffix(f, "-addr") {
			names = append(names, f)
		}
	}
	sort.Strings(names)
	for _, f := range names {
		vals, isSet := set[f]
		if !isSet {
			vals = []string{b.defaults[f]}
		}
		for _, v := range vals {
			for _, addr := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' }) {
				addr = strings.TrimSpace(addr)
				if _, after, named := strings.Cut(addr, "="); named {
					addr = after // the gateway's "site=addr" (-ingest-addr)
				}
				if addr == "" {
					continue
				}
				host, port, err := net.SplitHostPort(addr)
				if err != nil {
					c.addf(w.object, ct.Name, "-%s %q: %v", f, addr, err)
					continue
				}
				if host == "localhost" || (net.ParseIP(host) != nil && net.ParseIP(host).IsLoopback()) {
					how := "set"
					if !isSet {
						how = "by default"
					}
					c.addf(w.object, ct.Name, "-%s is %s %s (%s): loopback, which nothing outside the pod reaches", f, how, addr, svcEnvHint(b, f))
					continue
				}
				if host == "" || f == "grpc-addr" || f == "http-addr" {
					continue
				}
				c.checkPeer(w, ct, f, host, port)
			}
		}
	}
}

func svcEnvHint(b *binary, flag string) string {
	for e, f := range b.envFlag {
		if f == flag {
			return "$" + e
		}
	}
	return "no env twin"
}

func (c *checker) checkPeer(w workload, ct corev1.Container, flag, host, port string) {
	o, n := w.object, ct.Name
	labelsOf := strings.Split(strings.TrimSuffix(strings.TrimSuffix(host, ".cluster.local"), ".svc"), ".")
	// <service>[.<ns>] or <pod>.<service>[.<ns>]; anything longer is outside.
	var svcName, pod string
	switch {
	case c.has[key("Service", w.ns, labelsOf[0])] && (len(labelsOf) == 1 || (len(labelsOf) == 2 && labelsOf[1] == w.ns)):
		svcName = labelsOf[0]
	case len(labelsOf) >= 2 && c.has[key("Service", w.ns, labelsOf[1])] && (len(labelsOf) == 2 || (len(labelsOf) == 3 && labelsOf[2] == w.ns)):
		svcName, pod = labelsOf[1], labelsOf[0]
	case len(labelsOf) <= 2:
		c.addf(o, n, "-%s %s: no Service %q in the overlay", flag, host, labelsOf[len(labelsOf)-1])
		return
	default:
		return // outside the cluster, or another namespace: not checked
	}
	var svcObj *corev1.Service
	for _, x := range c.objects {
		if s, ok := x.obj.(*corev1.Service); ok && x.ns == w.ns && x.name == svcName {
			svcObj = s
		}
	}
	// The workloads behind the address.
	var targets []workload
	if pod != "" {
		for _, t := range c.workloads {
			ss, ok := t.obj.(*appsv1.StatefulSet)
			if !ok || t.ns != w.ns || ss.Spec.ServiceName != svcName || !strings.HasPrefix(pod, t.name+"-") {
				continue
			}
			ord, err := strconv.Atoi(strings.TrimPrefix(pod, t.name+"-"))
			replicas := int32(1)
			if ss.Spec.Replicas != nil {
				replicas = *ss.Spec.Replicas
			}
			if err != nil || ord < 0 || int32(ord) >= replicas {
				c.addf(o, n, "-%s %s: StatefulSet %s has %d replicas, no pod %s", flag, host, t.name, replicas, pod)
			}
			targets = append(targets, t)
		}
		if len(targets) == 0 {
			c.addf(o, n, "-%s %s: no StatefulSet with serviceName %s makes a pod %s", flag, host, svcName, pod)
			return
		}
	} else {
		targets = c.selected(w.ns, &metav1.LabelSelector{MatchLabels: svcObj.Spec.Selector})
	}
	// The port: one of the Service's (or, for a pod address, the pod's).
	p, _ := strconv.Atoi(port)
	ok := slices.ContainsFunc(svcObj.Spec.Ports, func(sp corev1.ServicePort) bool { return int(sp.Port) == p })
	if pod != "" {
		for _, t := range targets {
			for _, tc := range t.tmpl.Spec.Containers {
				ok = ok || slices.ContainsFunc(tc.Ports, func(cp corev1.ContainerPort) bool { return int(cp.ContainerPort) == p })
			}
		}
	}
	if !ok {
		c.addf(o, n, "-%s %s:%s: Service %s has no port %s", flag, host, port, svcName, port)
	}
	// The NetworkPolicies must let the connection out of this pod and into
	// the peer's. A Service port is translated to its targetPort.
	targetPort := p
	if pod == "" {
		for _, sp := range svcObj.Spec.Ports {
			if int(sp.Port) == p {
				targetPort = resolvePort(sp.TargetPort, int(sp.Port), targets)
			}
		}
	}
	for _, t := range targets {
		if why := c.npBlocks(w, t, targetPort); why != "" {
			c.addf(o, n, "-%s %s: to %s/%s port %d: %s", flag, host, t.kind, t.name, targetPort, why)
		}
	}
	// Mutual TLS: the peer's certificate must name the host dialled.
	for _, t := range targets {
		var certs []*cmv1.Certificate
		for _, v := range t.tmpl.Spec.Volumes {
			if v.Secret == nil {
				continue
			}
			for _, x := range c.objects {
				if crt, isCrt := x.obj.(*cmv1.Certificate); isCrt && x.ns == t.ns && crt.Spec.SecretName == v.Secret.SecretName {
					certs = append(certs, crt)
				}
			}
		}
		if len(certs) == 0 {
			continue // no cert-manager certificate mounted: TLS not checked
		}
		if !slices.ContainsFunc(certs, func(crt *cmv1.Certificate) bool { return slices.Contains(crt.Spec.DNSNames, host) }) {
			names := []string{}
			for _, crt := range certs {
				names = append(names, crt.Name+"="+strings.Join(crt.Spec.DNSNames, ","))
			}
			c.addf(o, n, "-%s %s: the Certificates %s/%s mounts do not name that host (%s)", flag, host, t.kind, t.name, strings.Join(names, "; "))
		}
	}
}

// resolvePort: a Service's targetPort as a number (a name is looked up in
// the target pods' containers).
func resolvePort(tp intstr.IntOrString, port int, targets []workload) int {
	if tp.Type == intstr.Int {
		if tp.IntVal == 0 {
			return port
		}
		return int(tp.IntVal)
	}
	for _, t := range targets {
		for _, ct := range t.tmpl.Spec.Containers {
			for _, cp := range ct.Ports {
				if cp.Name == tp.StrVal {
					return int(cp.ContainerPort)
				}
			}
		}
	}
	return 0
}

// npBlocks says why the overlay's NetworkPolicies refuse TCP from the pods
// of src to the pods of dst on port, or "" when they let it through: the
// egress of src is allowed when no policy selects src for Egress or one of
// those has a rule for dst and the port; the same for the ingress of dst.
// Peers by podSelector in the policy's namespace, or by namespaceSelector on
// kubernetes.io/metadata.name; ipBlock peers are not evaluated (they do not
// match a pod here).
func (c *checker) npBlocks(src, dst workload, port int) string {
	var egressPolicies, ingressPolicies int
	egressOK, ingressOK := false, false
	for _, x := range c.objects {
		np, ok := x.obj.(*networkingv1.NetworkPolicy)
		if !ok {
			continue
		}
		types := np.Spec.PolicyTypes
		if len(types) == 0 {
			types = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
			if len(np.Spec.Egress) > 0 {
				types = append(types, networkingv1.PolicyTypeEgress)
			}
		}
		if x.ns == src.ns && selects(&np.Spec.PodSelector, src.tmpl.Labels) && slices.Contains(types, networkingv1.PolicyTypeEgress) {
			egressPolicies++
			for _, r := range np.Spec.Egress {
				if peersMatch(r.To, x.ns, dst) && portsMatch(r.Ports, port, dst) {
					egressOK = true
				}
			}
		}
		if x.ns == dst.ns && selects(&np.Spec.PodSelector, dst.tmpl.Labels) && slices.Contains(types, networkingv1.PolicyTypeIngress) {
			ingressPolicies++
			for _, r := range np.Spec.Ingress {
				if peersMatch(r.From, x.ns, src) && portsMatch(r.Ports, port, dst) {
					ingressOK = true
				}
			}
		}
	}
	var why []string
	if egressPolicies > 0 && !egressOK {
		why = append(why, fmt.Sprintf("none of the %d NetworkPolicies for %s's egress allows it", egressPolicies, src.name))
	}
	if ingressPolicies > 0 && !ingressOK {
		why = append(why, fmt.Sprintf("none of the %d NetworkPolicies for %s's ingress allows it", ingressPolicies, dst.name))
	}
	return strings.Join(why, "; ")
}

func selects(sel *metav1.LabelSelector, l map[string]string) bool {
	s, err := metav1.LabelSelectorAsSelector(sel)
	return err == nil && s.Matches(labels.Set(l))
}

func peersMatch(peers []networkingv1.NetworkPolicyPeer, policyNs string, w workload) bool {
	if len(peers) == 0 {
		return true // no peers: any
	}
	for _, p := range peers {
		if p.PodSelector == nil && p.NamespaceSelector == nil {
			continue // an ipBlock
		}
		nsOK := w.ns == policyNs
		if p.NamespaceSelector != nil {
			nsOK = selects(p.NamespaceSelector, map[string]string{"kubernetes.io/metadata.name": w.ns})
		}
		podOK := p.PodSelector == nil || selects(p.PodSelector, w.tmpl.Labels)
		if nsOK && podOK {
			return true
		}
	}
	return false
}

// portsMatch: a rule's ports (none: all) hold port, by number or by the
// name of a port of dst's containers.
func portsMatch(ports []networkingv1.NetworkPolicyPort, port int, dst workload) bool {
	if len(ports) == 0 {
		return true
	}
	for _, p := range ports {
		if p.Protocol != nil && *p.Protocol != corev1.ProtocolTCP {
			continue
		}
		if p.Port == nil {
			return true
		}
		if p.Port.Type == intstr.String {
			if resolvePort(*p.Port, 0, []workload{dst}) == port {
				return true
			}
			continue
		}
		lo, hi := int(p.Port.IntVal), int(p.Port.IntVal)
		if p.EndPort != nil {
			hi = int(*p.EndPort)
		}
		if port >= lo && port <= hi {
			return true
		}
	}
	return false
}

func (c *checker) checkService(o object, s *corev1.Service) {
	p := field.NewPath("spec")
	c.errs(o, "", metav1validation.ValidateLabels(s.Spec.Selector, p.Child("selector")))
	if s.Spec.Type == corev1.ServiceTypeExternalName {
		return
	}
	ws := c.selected(o.ns, &metav1.LabelSelector{MatchLabels: s.Spec.Selector})
	if len(ws) == 0 {
		c.addf(o, "", "spec.selector %v selects no workload's pods", s.Spec.Selector)
	}
	for i, sp := range s.Spec.Ports {
		pp := p.Child("ports").Index(i)
		for _, e := range validation.IsValidPortNum(int(sp.Port)) {
			c.addf(o, "", "%s.port: %s", pp, e)
		}
		if sp.Name != "" {
			for _, e := range validation.IsDNS1123Label(sp.Name) {
				c.addf(o, "", "%s.name %q: %s", pp, sp.Name, e)
			}
		}
		tp := sp.TargetPort
		if tp.Type == intstr.Int && tp.IntVal == 0 {
			tp = intstr.FromInt32(sp.Port) // the API server's default
		}
		if tp.Type == intstr.String {
			for _, e := range validation.IsValidPortName(tp.StrVal) {
				c.addf(o, "", "%s.targetPort %q: %s", pp, tp.StrVal, e)
			}
		} else {
			for _, e := range validation.IsValidPortNum(tp.IntValue()) {
				c.addf(o, "", "%s.targetPort: %s", pp, e)
			}
		}
		for _, w := range ws {
			found := false
			for _, ct := range w.tmpl.Spec.Containers {
				for _, cp := range ct.Ports {
					if (tp.Type == intstr.String && cp.Name == tp.StrVal) || (tp.Type == intstr.Int && cp.ContainerPort == tp.IntVal) {
						found = true
					}
				}
			}
			if !found {
				c.addf(o, "", "%s.targetPort %s: no container of %s/%s has that port", pp, tp.String(), w.kind, w.name)
			}
		}
	}
}

func (c *checker) checkNetworkPolicy(o object, np *networkingv1.NetworkPolicy) {
	p := field.NewPath("spec")
	opts := metav1validation.LabelSelectorValidationOptions{}
	c.errs(o, "", metav1validation.ValidateLabelSelector(&np.Spec.PodSelector, opts, p.Child("podSelector")))
	peers := func(path *field.Path, ps []networkingv1.NetworkPolicyPeer) {
		for i, peer := range ps {
			c.errs(o, "", metav1validation.ValidateLabelSelector(peer.PodSelector, opts, path.Index(i).Child("podSelector")))
			c.errs(o, "", metav1validation.ValidateLabelSelector(peer.NamespaceSelector, opts, path.Index(i).Child("namespaceSelector")))
		}
	}
	ports := func(path *field.Path, ps []networkingv1.NetworkPolicyPort) {
		for i, pt := range ps {
			if pt.Port == nil {
				continue
			}
			if pt.Port.Type == intstr.String {
				for _, e := range validation.IsValidPortName(pt.Port.StrVal) {
					c.addf(o, "", "%s.port %q: %s", path.Index(i), pt.Port.StrVal, e)
				}
			} else {
				for _, e := range validation.IsValidPortNum(pt.Port.IntValue()) {
					c.addf(o, "", "%s.port: %s", path.Index(i), e)
				}
			}
		}
	}
	for i, r := range np.Spec.Ingress {
		peers(p.Child("ingress").Index(i).Child("from"), r.From)
		ports(p.Child("ingress").Index(i).Child("ports"), r.Ports)
	}
	for i, r := range np.Spec.Egress {
		peers(p.Child("egress").Index(i).Child("to"), r.To)
		ports(p.Child("egress").Index(i).Child("ports"), r.Ports)
	}
}

// isDefaultDeny: a policy for every pod of its namespace (podSelector {})
// with a direction in policyTypes and no rule for it. Without policyTypes
// the API server sets Ingress, plus Egress when there are egress rules.
func isDefaultDeny(np *networkingv1.NetworkPolicy) (in, out bool) {
	sel := np.Spec.PodSelector
	if len(sel.MatchLabels) != 0 || len(sel.MatchExpressions) != 0 {
		return false, false
	}
	types := np.Spec.PolicyTypes
	if len(types) == 0 {
		types = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
	}
	in = slices.Contains(types, networkingv1.PolicyTypeIngress) && len(np.Spec.Ingress) == 0
	out = slices.Contains(types, networkingv1.PolicyTypeEgress) && len(np.Spec.Egress) == 0
	return in, out
}

func (c *checker) checkServiceMonitor(o object, sm *monv1.ServiceMonitor) {
	c.errs(o, "", metav1validation.ValidateLabelSelector(&sm.Spec.Selector, metav1validation.LabelSelectorValidationOptions{}, field.NewPath("spec", "selector")))
	sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
	if err != nil {
		return
	}
	var svcs []*corev1.Service
	for _, x := range c.objects {
		s, ok := x.obj.(*corev1.Service)
		if !ok {
			continue
		}
		inNs := x.ns == o.ns
		if ns := sm.Spec.NamespaceSelector; ns.Any || len(ns.MatchNames) > 0 {
			inNs = ns.Any || slices.Contains(ns.MatchNames, x.ns)
		}
		if inNs && sel.Matches(labels.Set(s.Labels)) {
			svcs = append(svcs, s)
		}
	}
	if len(svcs) == 0 {
		c.addf(o, "", "spec.selector %s selects no Service", fmtSelector(&sm.Spec.Selector))
	}
	for i, ep := range sm.Spec.Endpoints {
		if ep.Port == "" {
			continue
		}
		for _, s := range svcs {
			if !slices.ContainsFunc(s.Spec.Ports, func(sp corev1.ServicePort) bool { return sp.Name == ep.Port }) {
				c.addf(o, "", "spec.endpoints[%d].port %q: Service %s has no port of that name", i, ep.Port, s.Name)
			}
		}
	}
}

func (c *checker) checkCertificate(o object, crt *cmv1.Certificate) {
	for _, e := range validation.IsDNS1123Subdomain(crt.Spec.SecretName) {
		c.addf(o, "", "spec.secretName %q: %s", crt.Spec.SecretName, e)
	}
	for _, d := range crt.Spec.DNSNames {
		if errs := validation.IsDNS1123Subdomain(strings.TrimPrefix(d, "*.")); len(errs) > 0 {
			c.addf(o, "", "spec.dnsNames %q: %s", d, strings.Join(errs, "; "))
		}
	}
	ref := crt.Spec.IssuerRef
	kind := orNs(ref.Kind, "Issuer")
	if ref.Group == "" || ref.Group == "cert-manager.io" {
		ns := o.ns
		if kind == "ClusterIssuer" {
			ns = ""
		}
		if !c.has[key(kind, ns, ref.Name)] {
			c.addf(o, "", "spec.issuerRef %s/%s: not in the overlay", kind, ref.Name)
		}
	}
}
