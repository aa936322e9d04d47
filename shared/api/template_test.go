package api_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/switchboard/switchboard/shared/api"
)

// TestTemplateRoutesEveryAPIRoute: deployed, API Gateway's HTTP API only
// reaches the api function on the routes template.yaml gives it, so a
// route the handler serves and the template lacks is a 404 in AWS alone.
func TestTemplateRoutesEveryAPIRoute(t *testing.T) {
	raw, err := os.ReadFile("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	fn, _ := doc["Resources"].(map[string]any)["ApiFunction"].(map[string]any)
	events, _ := fn["Properties"].(map[string]any)["Events"].(map[string]any)
	var routed []string
	for name, e := range events {
		ev := e.(map[string]any)
		if ev["Type"] != "HttpApi" {
			continue
		}
		p := ev["Properties"].(map[string]any)
		if auth, _ := p["Auth"].(map[string]any); auth["Authorizer"] != "AgentJwt" {
			t.Errorf("event %s: /api/* must be behind the AgentJwt authorizer", name)
		}
		routed = append(routed, p["Method"].(string)+" "+p["Path"].(string))
	}
	var served []string
	for _, r := range api.Routes() {
		// Go's {key...} is API Gateway's greedy {key+}.
		served = append(served, strings.ReplaceAll(r, "...}", "+}"))
	}
	slices.Sort(routed)
	slices.Sort(served)
	for _, r := range served {
		if !slices.Contains(routed, r) {
			t.Errorf("the api serves %q and template.yaml does not route it to ApiFunction", r)
		}
	}
	for _, r := range routed {
		if !slices.Contains(served, r) {
			t.Errorf("template.yaml routes %q to ApiFunction, which does not serve it", r)
		}
	}
}
