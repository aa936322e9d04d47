package webchat_test

import (
	"os"
	"slices"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/switchboard/switchboard/shared/webchat"
)

// TestTemplateRoutesTheChat: deployed, /chat/* reaches the social function
// only on the routes template.yaml gives it, and the socket's $connect is
// behind the visitor-token authorizer.
func TestTemplateRoutesTheChat(t *testing.T) {
	raw, err := os.ReadFile("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Resources map[string]struct {
			Type       string         `yaml:"Type"`
			Properties map[string]any `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var routed []string
	for _, e := range doc.Resources["SocialFunction"].Properties["Events"].(map[string]any) {
		p := e.(map[string]any)["Properties"].(map[string]any)
		if path := p["Path"].(string); len(path) > 6 && path[:6] == "/chat/" {
			routed = append(routed, p["Method"].(string)+" "+path)
		}
	}
	served := webchat.Routes()
	slices.Sort(routed)
	slices.Sort(served)
	if !slices.Equal(routed, served) {
		t.Errorf("template.yaml routes %v to SocialFunction; the chat serves %v", routed, served)
	}
	routes := map[string]map[string]any{}
	for _, r := range doc.Resources {
		if r.Type == "AWS::ApiGatewayV2::Route" {
			routes[r.Properties["RouteKey"].(string)] = r.Properties
		}
	}
	for _, k := range []string{"$connect", "$disconnect", "$default"} {
		if routes[k] == nil {
			t.Errorf("the socket API has no %s route", k)
		}
	}
	if routes["$connect"]["AuthorizationType"] != "CUSTOM" {
		t.Errorf("$connect is not behind the authorizer: %v", routes["$connect"])
	}
}
