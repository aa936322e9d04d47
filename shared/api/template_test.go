package api_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/switchboard/switchboard/shared/api"
	"github.com/switchboard/switchboard/shared/care"
	"github.com/switchboard/switchboard/shared/console"
)

// TestTemplateRoutesEveryAPIRoute: deployed, API Gateway's HTTP API only
// reaches the api function on the routes template.yaml gives it, so a
// route the handler serves and the template lacks is a 404 in AWS alone.
// Agents' routes are behind the JWT authorizer; the console's page and
// customers' survey links are not.
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
	var routed, pages, public []string
	for name, e := range events {
		ev := e.(map[string]any)
		if ev["Type"] != "HttpApi" {
			continue
		}
		p := ev["Properties"].(map[string]any)
		route := p["Method"].(string) + " " + p["Path"].(string)
		auth, _ := p["Auth"].(map[string]any)
		if slices.Contains(console.Routes(), route) { // the page signs in by itself
			if auth != nil {
				t.Errorf("event %s: the console's page must load without a bearer (it signs in)", name)
			}
			pages = append(pages, route)
			continue
		}
		if slices.Contains(care.Routes(), route) { // a survey link: its signed token is the authority
			if auth != nil {
				t.Errorf("event %s: a customer's survey link must open without a bearer", name)
			}
			public = append(public, route)
			continue
		}
		if auth["Authorizer"] != "AgentJwt" {
			t.Errorf("event %s: /api/* must be behind the AgentJwt authorizer", name)
		}
		routed = append(routed, route)
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
	if slices.Sort(public); !slices.Equal(public, care.Routes()) {
		t.Errorf("template.yaml routes the survey links as %v, want %v", public, care.Routes())
	}
	if slices.Sort(pages); !slices.Equal(pages, console.Routes()) {
		t.Errorf("template.yaml routes the console as %v, want %v", pages, console.Routes())
	}
}
