package deploy_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	"github.com/signetassure/signetassure/api"
	"github.com/signetassure/signetassure/store"
	"github.com/signetassure/signetassure/workflows"
)

// kustomization is the part of kustomize's Kustomization the manifests use.
type kustomization struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Labels     []struct {
		Pairs map[string]string `json:"pairs"`
	} `json:"labels"`
	Resources []string `json:"resources"`
	Images    []struct {
		Name   string `json:"name"`
		NewTag string `json:"newTag"`
	} `json:"images"`
}

// manifests are deploy/kubernetes's objects, each decoded strictly into its Kubernetes API type.
type manifests struct {
	kustomization kustomization
	deployments   []*appsv1.Deployment
	services      []*corev1.Service
	jobs          []*batchv1.Job
	configMaps    []*corev1.ConfigMap
	secrets       []*corev1.Secret
	pdbs          []*policyv1.PodDisruptionBudget
}

const kubernetesDir = "kubernetes"

// decodeStrict decodes one document into into, refusing any field its type does not have.
func decodeStrict(doc []byte, into any) error { return yaml.UnmarshalStrict(doc, into) }

// readManifests reads every file the kustomization lists, splitting multi-document files; a kind this
// test does not know is refused, as is a file present but not listed.
func readManifests(t *testing.T) manifests {
	t.Helper()
	var m manifests
	b, err := os.ReadFile(filepath.Join(kubernetesDir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := decodeStrict(b, &m.kustomization); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	if m.kustomization.Kind != "Kustomization" || m.kustomization.APIVersion != "kustomize.config.k8s.io/v1beta1" {
		t.Fatalf("kustomization.yaml is a %s %s", m.kustomization.APIVersion, m.kustomization.Kind)
	}
	files, err := filepath.Glob(filepath.Join(kubernetesDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if base := filepath.Base(f); base != "kustomization.yaml" && !slices.Contains(m.kustomization.Resources, base) {
			t.Errorf("%s is not listed in kustomization.yaml's resources", base)
		}
	}
	for _, name := range m.kustomization.Resources {
		b, err := os.ReadFile(filepath.Join(kubernetesDir, name))
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range splitDocuments(b) {
			if err := m.add(doc); err != nil {
				t.Errorf("%s, document %d: %v", name, i+1, err)
			}
		}
	}
	return m
}

// splitDocuments splits a multi-document YAML file at its "---" lines, leaving out empty documents.
func splitDocuments(b []byte) [][]byte {
	var docs [][]byte
	for _, doc := range bytes.Split(append([]byte("\n"), b...), []byte("\n---")) {
		if len(bytes.TrimSpace(stripComments(doc))) > 0 {
			docs = append(docs, doc)
		}
	}
	return docs
}

func stripComments(doc []byte) []byte {
	var out [][]byte
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			out = append(out, line)
		}
	}
	return bytes.Join(out, []byte("\n"))
}

// add decodes doc by its apiVersion and kind into the typed object.
func (m *manifests) add(doc []byte) error {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return err
	}
	var into any
	switch tm.APIVersion + " " + tm.Kind {
	case "apps/v1 Deployment":
		d := new(appsv1.Deployment)
		m.deployments, into = append(m.deployments, d), d
	case "v1 Service":
		s := new(corev1.Service)
		m.services, into = append(m.services, s), s
	case "batch/v1 Job":
		j := new(batchv1.Job)
		m.jobs, into = append(m.jobs, j), j
	case "v1 ConfigMap":
		c := new(corev1.ConfigMap)
		m.configMaps, into = append(m.configMaps, c), c
	case "v1 Secret":
		s := new(corev1.Secret)
		m.secrets, into = append(m.secrets, s), s
	case "policy/v1 PodDisruptionBudget":
		p := new(policyv1.PodDisruptionBudget)
		m.pdbs, into = append(m.pdbs, p), p
	default:
		return fmt.Errorf("kind %q of %q is not one this test knows", tm.Kind, tm.APIVersion)
	}
	return decodeStrict(doc, into)
}

func (m manifests) deployment(t *testing.T, component string) *appsv1.Deployment {
	t.Helper()
	for _, d := range m.deployments {
		if d.Spec.Template.Labels["app.kubernetes.io/component"] == component {
			return d
		}
	}
	t.Fatalf("no Deployment of the %s", component)
	return nil
}

// The manifests decode strictly into the Kubernetes API types, and describe what the binary needs: each
// variable one the api and worker read, probes on paths they serve at the ports they listen on, an
// image pinned, resources, a locked-down security context, a PodDisruptionBudget each, a Service for
// the API's pods alone, and a worker given longer to stop than the longest activity heartbeat.
func TestKubernetesManifests(t *testing.T) {
	m := readManifests(t)
	if t.Failed() {
		t.FailNow()
	}
	known := knownVariables(t)
	config := map[string]string{} // every variable the ConfigMaps and Secrets give
	sources := map[string]bool{}
	for _, c := range m.configMaps {
		sources["ConfigMap "+c.Name] = true
		for k, v := range c.Data {
			config[k] = v
		}
	}
	for _, s := range m.secrets {
		sources["Secret "+s.Name] = true
		if len(s.Data) > 0 {
			t.Errorf("Secret %s: a template names its keys in stringData, with placeholders, never data", s.Name)
		}
		for k, v := range s.StringData {
			config[k] = v
		}
	}
	for k := range config {
		if !known[k] {
			t.Errorf("%s is no variable of README's configuration table", k)
		}
	}

	image := m.kustomization.Images[0].Name
	pods := map[string]*corev1.PodSpec{}
	for _, d := range m.deployments {
		pods["Deployment "+d.Name] = &d.Spec.Template.Spec
		if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
			t.Errorf("Deployment %s: fewer than 2 replicas", d.Name)
		}
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			t.Errorf("Deployment %s: its selector does not match its pods (%v)", d.Name, err)
		}
	}
	for _, j := range m.jobs {
		pods["Job "+j.Name] = &j.Spec.Template.Spec
	}
	for name, pod := range pods {
		if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot {
			t.Errorf("%s: not runAsNonRoot", name)
		}
		for _, c := range pod.Containers {
			where := name + " container " + c.Name
			if !pinned(c.Image) || !strings.HasPrefix(c.Image, image+":") {
				t.Errorf("%s: image %q is not %s pinned to a version", where, c.Image, image)
			}
			sc := c.SecurityContext
			if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil ||
				*sc.AllowPrivilegeEscalation || sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
				t.Errorf("%s: wants readOnlyRootFilesystem, no privilege escalation and every capability dropped", where)
			}
			if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
				t.Errorf("%s: wants CPU and memory requests and a memory limit", where)
			}
			for _, e := range c.Env {
				if !known[e.Name] {
					t.Errorf("%s: %s is no variable of README's configuration table", where, e.Name)
				}
			}
			for _, from := range c.EnvFrom {
				ref := ""
				switch {
				case from.ConfigMapRef != nil:
					ref = "ConfigMap " + from.ConfigMapRef.Name
				case from.SecretRef != nil:
					ref = "Secret " + from.SecretRef.Name
				}
				if !sources[ref] || from.Prefix != "" {
					t.Errorf("%s: envFrom %q is none of the manifests' ConfigMaps and Secrets, as they are", where, ref)
				}
			}
		}
	}

	// Probes: on /healthz and /readyz, which the process answers, at the port it listens on.
	serves := servedPaths(t)
	for component, addrVar := range map[string]string{"api": "HTTP_ADDR", "worker": "HEALTH_ADDR"} {
		d := m.deployment(t, component)
		c := d.Spec.Template.Spec.Containers[0]
		_, port, _ := strings.Cut(config[addrVar], ":")
		for kind, p := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
			want := map[string]string{"readiness": "/readyz", "liveness": "/healthz"}[kind]
			if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != want || !serves[want] {
				t.Errorf("%s: wants a %s probe on %s", component, kind, want)
				continue
			}
			if got := containerPort(c, p.HTTPGet.Port.String()); fmt.Sprint(got) != port {
				t.Errorf("%s: %s probe on port %s (%d), but %s is %q", component, kind, p.HTTPGet.Port.String(), got, addrVar, config[addrVar])
			}
		}
		var pdbs []string
		for _, pdb := range m.pdbs {
			sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
			if err == nil && sel.Matches(labels.Set(d.Spec.Template.Labels)) {
				pdbs = append(pdbs, pdb.Name)
				if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() != 1 {
					t.Errorf("PodDisruptionBudget %s: minAvailable is not 1", pdb.Name)
				}
			}
		}
		if len(pdbs) != 1 {
			t.Errorf("%s: %d PodDisruptionBudgets cover its pods (%v), want 1", component, len(pdbs), pdbs)
		}
	}

	// The Service reaches the API's pods, and only them, on their port.
	api, worker := m.deployment(t, "api"), m.deployment(t, "worker")
	if len(m.services) != 1 {
		t.Fatalf("%d Services, want the API's", len(m.services))
	}
	svc := m.services[0]
	sel := labels.SelectorFromSet(svc.Spec.Selector)
	if len(svc.Spec.Selector) == 0 || !sel.Matches(labels.Set(api.Spec.Template.Labels)) || sel.Matches(labels.Set(worker.Spec.Template.Labels)) {
		t.Errorf("Service %s selects %v: want the API's pods alone", svc.Name, svc.Spec.Selector)
	}
	for _, p := range svc.Spec.Ports {
		if containerPort(api.Spec.Template.Spec.Containers[0], p.TargetPort.String()) == 0 {
			t.Errorf("Service %s: target port %s is none of the API's", svc.Name, p.TargetPort.String())
		}
	}

	// A worker stopping is given longer than the longest heartbeat timeout, which following the access
	// control system's events stretches to three of its poll intervals.
	longest := workflows.LongestHeartbeat
	if v := config["ACS_EVENT_POLL_INTERVAL"]; v != "" {
		every, err := time.ParseDuration(v)
		if err != nil {
			t.Fatal(err)
		}
		longest = max(longest, 3*every)
	}
	var grace time.Duration
	if g := worker.Spec.Template.Spec.TerminationGracePeriodSeconds; g != nil {
		grace = time.Duration(*g) * time.Second
	}
	if grace <= longest {
		t.Errorf("worker: terminationGracePeriodSeconds is %s, want more than the longest heartbeat timeout %s", grace, longest)
	}
	if len(m.jobs) != 1 || m.jobs[0].Spec.Template.Spec.Containers[0].Args[0] != "migrate" {
		t.Errorf("want one Job, the migrations")
	}
}

// containerPort is the number of the container's port named or numbered p; 0 if it has none.
func containerPort(c corev1.Container, p string) int32 {
	for _, cp := range c.Ports {
		if cp.Name == p || fmt.Sprint(cp.ContainerPort) == p {
			return cp.ContainerPort
		}
	}
	return 0
}

// servedPaths are the probe paths the health handler answers (the API's and the worker's): anything
// but 404, with nothing behind it reachable (an unready answer is an answer).
func servedPaths(t *testing.T) map[string]bool {
	t.Helper()
	st, err := store.Open(context.Background(), "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tc, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	srv := httptest.NewServer(api.HealthHandler(st, tc))
	defer srv.Close()
	served := map[string]bool{}
	for _, path := range []string{"/healthz", "/readyz"} {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		served[path] = res.StatusCode != http.StatusNotFound
	}
	return served
}
