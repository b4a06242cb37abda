package metrics_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"

	"github.com/goccy/go-yaml"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/signetassure/signetassure/internal/testenv"
)

// dashboard is what Grafana needs of a dashboard and its panels.
type dashboard struct {
	Title         string `json:"title"`
	UID           string `json:"uid"`
	SchemaVersion int    `json:"schemaVersion"`
	Panels        []struct {
		ID      int    `json:"id"`
		Type    string `json:"type"`
		Title   string `json:"title"`
		GridPos struct {
			W int `json:"w"`
			H int `json:"h"`
		} `json:"gridPos"`
		Targets []struct {
			RefID string `json:"refId"`
			Expr  string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

// grafanaVariables are the dashboard's variables, replaced as Grafana would before the expression is
// parsed.
var grafanaVariables = strings.NewReplacer("$__rate_interval", "5m")

// The Grafana dashboard and the Prometheus alerting rules in deploy/ are valid (the dashboard has a
// title, a uid and panels with targets; the rules have Prometheus's fields and no other, durations and
// annotation templates that parse),
// every expression is PromQL, and every metric, matcher label and grouping label they name is one the
// processes register (the registry after exercising the API, a workflow and the business gauges).
func TestDashboardAndAlertsNameRegisteredMetrics(t *testing.T) {
	root := testenv.RepoRoot()
	var exprs []string // "where: expr"

	raw, err := os.ReadFile(filepath.Join(root, "deploy", "grafana", "signetassure.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	if d.Title == "" || d.UID == "" || d.SchemaVersion == 0 || len(d.Panels) == 0 {
		t.Fatalf("dashboard lacks a title, uid, schemaVersion or panels: %+v", d)
	}
	ids := map[int]bool{}
	for _, p := range d.Panels {
		if p.ID == 0 || ids[p.ID] || p.Type == "" || p.Title == "" || p.GridPos.W == 0 || p.GridPos.H == 0 || len(p.Targets) == 0 {
			t.Errorf("panel %d %q: needs a unique id, a type, a title, a size and targets", p.ID, p.Title)
		}
		ids[p.ID] = true
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			if tg.RefID == "" || refs[tg.RefID] || tg.Expr == "" {
				t.Errorf("panel %q: each target needs a unique refId and an expr", p.Title)
			}
			refs[tg.RefID] = true
			exprs = append(exprs, "panel "+p.Title+": "+grafanaVariables.Replace(tg.Expr))
		}
	}

	p := parser.NewParser(parser.Options{})
	for _, r := range alertRules(t, filepath.Join(root, "deploy", "prometheus", "alerts.yml")) {
		exprs = append(exprs, "alert "+r.Alert+": "+r.Expr)
	}

	registered := registeredLabels(t)
	for _, e := range exprs {
		where, text, _ := strings.Cut(e, ": ")
		expr, err := p.ParseExpr(text)
		if err != nil {
			t.Errorf("%s: %v", where, err)
			continue
		}
		checkNames(t, where, expr, registered)
	}
}

// checkNames reports the metrics expr selects that are not registered, the labels its selectors match
// that those metrics lack, and the labels an aggregation groups by that none of its metrics has.
func checkNames(t *testing.T, where string, expr parser.Expr, registered map[string]map[string]bool) {
	t.Helper()
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.VectorSelector:
			labels, ok := registered[n.Name]
			if !ok {
				t.Errorf("%s: metric %s is not registered", where, n.Name)
				return nil
			}
			for _, m := range n.LabelMatchers {
				if m.Name != model.MetricNameLabel && !labels[m.Name] {
					t.Errorf("%s: %s has no label %s", where, n.Name, m.Name)
				}
			}
		case *parser.AggregateExpr:
			for _, l := range n.Grouping {
				found := false
				parser.Inspect(n.Expr, func(m parser.Node, _ []parser.Node) error {
					if vs, ok := m.(*parser.VectorSelector); ok && registered[vs.Name][l] {
						found = true
					}
					return nil
				})
				if !found {
					t.Errorf("%s: grouped by %s, which none of its metrics has", where, l)
				}
			}
		}
		return nil
	})
}

// registeredLabels maps each series name the exercised registry exposes (a histogram's _bucket, _sum and
// _count) to its label names.
func registeredLabels(t *testing.T) map[string]map[string]bool {
	t.Helper()
	families, err := exercised(t).Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]bool{}
	add := func(name string, labels map[string]bool) {
		if out[name] == nil {
			out[name] = map[string]bool{}
		}
		for l := range labels {
			out[name][l] = true
		}
	}
	for _, f := range families {
		labels := map[string]bool{}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = true
			}
		}
		if f.GetType() != dto.MetricType_HISTOGRAM {
			add(f.GetName(), labels)
			continue
		}
		add(f.GetName()+"_sum", labels)
		add(f.GetName()+"_count", labels)
		labels["le"] = true
		add(f.GetName()+"_bucket", labels)
	}
	return out
}

// alertRule is a Prometheus alerting rule (rule files' format; recording rules are not used here).
type alertRule struct {
	Alert         string            `yaml:"alert"`
	Expr          string            `yaml:"expr"`
	For           string            `yaml:"for"`
	KeepFiringFor string            `yaml:"keep_firing_for"`
	Labels        map[string]string `yaml:"labels"`
	Annotations   map[string]string `yaml:"annotations"`
}

// templateFuncs are the names Prometheus's alert templates may call (prometheus/template), to parse the
// annotations with: parsing needs the names, not what they do.
var templateFuncs = func() template.FuncMap {
	m := template.FuncMap{}
	for _, name := range []string{"query", "first", "label", "value", "strvalue", "args", "reReplaceAll", "safeHtml",
		"match", "title", "toUpper", "toLower", "graphLink", "tableLink", "sortByLabel", "humanize", "humanize1024",
		"humanizeDuration", "humanizePercentage", "humanizeTimestamp", "toTime", "toDuration", "pathPrefix",
		"externalURL", "parseDuration", "now", "urlQueryEscape", "stripPort", "stripDomain"} {
		m[name] = func(...any) any { return nil }
	}
	return m
}()

// templateDefs are the variables Prometheus defines before an alert's template (rulefmt does the same).
const templateDefs = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}"

// alertRules reads a rule file strictly (an unknown field is an error, as for Prometheus) and checks each
// rule has a name, a severity, a summary, durations Prometheus reads and annotations that parse.
func alertRules(t *testing.T, path string) []alertRule {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var file struct {
		Groups []struct {
			Name     string      `yaml:"name"`
			Interval string      `yaml:"interval"`
			Rules    []alertRule `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.NewDecoder(f, yaml.DisallowUnknownField()).Decode(&file); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(file.Groups) == 0 {
		t.Fatalf("%s has no rule groups", path)
	}
	var rules []alertRule
	names := map[string]bool{}
	for _, g := range file.Groups {
		if g.Name == "" || names[g.Name] || len(g.Rules) == 0 {
			t.Errorf("%s: each group needs a unique name and rules", path)
		}
		names[g.Name] = true
		for _, r := range g.Rules {
			if r.Alert == "" || r.Expr == "" || r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("rule %q: an alert needs a name, an expr, a severity label and a summary", r.Alert)
			}
			for _, d := range []string{g.Interval, r.For, r.KeepFiringFor} {
				if _, err := model.ParseDuration(d); d != "" && err != nil {
					t.Errorf("rule %q: %v", r.Alert, err)
				}
			}
			for k, text := range r.Annotations {
				if _, err := template.New(k).Funcs(templateFuncs).Parse(templateDefs + text); err != nil {
					t.Errorf("rule %q: annotation %s: %v", r.Alert, k, err)
				}
			}
			rules = append(rules, r)
		}
	}
	return rules
}
