package deploy_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/signetassure/signetassure/internal/testenv"
)

// compose is what docker-compose.yml may hold: a field not listed here is refused, so a mistyped key
// (dependson, enviroment) fails the test rather than being ignored by the reader of this test.
type compose struct {
	SignetAssureEnv     map[string]string         `json:"x-signetassure-env"`
	SignetAssureVolumes []string                  `json:"x-signetassure-volumes"`
	Services            map[string]composeService `json:"services"`
	Volumes             map[string]*struct{}      `json:"volumes"`
}

type composeService struct {
	Image       string                      `json:"image"`
	Build       string                      `json:"build"`
	Entrypoint  []string                    `json:"entrypoint"`
	Command     []string                    `json:"command"`
	Environment map[string]string           `json:"environment"`
	Volumes     []string                    `json:"volumes"`
	Ports       []string                    `json:"ports"`
	Restart     string                      `json:"restart"`
	DependsOn   map[string]composeDependsOn `json:"depends_on"`
	Healthcheck *struct {
		Test     []string `json:"test"`
		Interval string   `json:"interval"`
		Retries  int      `json:"retries"`
	} `json:"healthcheck"`
}

type composeDependsOn struct {
	Condition string `json:"condition"`
}

// generatedSecrets are what the secrets service writes (`signetassure secrets init`): set in the
// environment as well, they would win over the generated files.
var generatedSecrets = []string{"PARTNER_CREDENTIAL_KEYS", "AUDIT_SIGNING_KEY", "EVIDENCE_KEY", "EVIDENCE_ENCRYPTION_KEY"}

func readCompose(t *testing.T) compose {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c compose
	if err := yaml.UnmarshalStrict(b, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return c
}

// docker-compose.yml runs Temporal's server image on a schema its admin tools set up, generates the keys,
// migrates and bootstraps before the api and worker start, gives them only variables they read, and
// pins every image.
func TestComposeFile(t *testing.T) {
	c := readCompose(t)
	known := knownVariables(t)
	volumes := map[string]bool{}
	for name := range c.Volumes {
		volumes[name] = true
	}
	for name, s := range c.Services {
		if (s.Image == "") == (s.Build == "") {
			t.Errorf("%s: wants exactly one of image and build", name)
		}
		if s.Image != "" && !pinned(s.Image) {
			t.Errorf("%s: image %q is not pinned to a version", name, s.Image)
		}
		if strings.Contains(s.Image, "auto-setup") {
			t.Errorf("%s: %s is Temporal's deprecated auto-setup image", name, s.Image)
		}
		for dep, d := range s.DependsOn {
			target, ok := c.Services[dep]
			switch {
			case !ok:
				t.Errorf("%s depends on %s, which is no service", name, dep)
			case !slices.Contains([]string{"service_started", "service_healthy", "service_completed_successfully"}, d.Condition):
				t.Errorf("%s depends on %s with condition %q", name, dep, d.Condition)
			case d.Condition == "service_healthy" && target.Healthcheck == nil:
				t.Errorf("%s waits for %s to be healthy, which has no healthcheck", name, dep)
			}
		}
		for _, v := range s.Volumes {
			if source, _, _ := strings.Cut(v, ":"); !strings.HasPrefix(source, ".") && !strings.HasPrefix(source, "/") && !volumes[source] {
				t.Errorf("%s mounts volume %s, which is not declared", name, source)
			}
		}
		if s.Build == "" || len(s.Command) == 0 || s.Command[0] == "sim" || s.Command[0] == "secrets" {
			continue
		}
		// The signetassure commands that read the configuration.
		for v := range s.Environment {
			if !known[v] {
				t.Errorf("%s: %s is no variable of README's configuration table", name, v)
			}
		}
		for _, v := range generatedSecrets {
			if _, set := s.Environment[v]; set {
				t.Errorf("%s: %s is set, so the generated one is never used", name, v)
			}
		}
		dir := s.Environment["SECRETS_DIR"]
		if dir == "" || !slices.Contains(s.Volumes, "secrets:"+dir+":ro") {
			t.Errorf("%s: does not read the generated keys (SECRETS_DIR %q, volumes %v)", name, dir, s.Volumes)
		}
	}

	want := func(service, dep, condition string) {
		if got := c.Services[service].DependsOn[dep].Condition; got != condition {
			t.Errorf("%s waits for %s with %q, want %q", service, dep, got, condition)
		}
	}
	want("temporal", "temporal-schema", "service_completed_successfully")
	want("migrate", "secrets", "service_completed_successfully")
	want("admin-bootstrap", "migrate", "service_completed_successfully")
	for _, s := range []string{"api", "worker"} {
		want(s, "migrate", "service_completed_successfully")
		want(s, "temporal-namespace", "service_completed_successfully")
	}
	want("api", "admin-bootstrap", "service_completed_successfully")
	if got := c.Services["secrets"].Command; !slices.Equal(got, []string{"secrets", "init", c.SignetAssureEnv["SECRETS_DIR"]}) {
		t.Errorf("the secrets service runs %v, not secrets init into SECRETS_DIR", got)
	}
	if !strings.HasPrefix(c.Services["temporal"].Image, "temporalio/server:") ||
		!strings.HasPrefix(c.Services["temporal-schema"].Image, "temporalio/admin-tools:") {
		t.Errorf("temporal is %s and its schema is set up by %s", c.Services["temporal"].Image, c.Services["temporal-schema"].Image)
	}
	if !strings.Contains(strings.Join(c.Services["temporal-schema"].Command, " "), "temporal-sql-tool") {
		t.Error("the temporal-schema service does not run temporal-sql-tool")
	}
}
