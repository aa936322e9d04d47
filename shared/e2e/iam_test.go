package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"
)

// audit stands between one function's binary and the local AWS services and
// records the IAM action each request needs, so the test can hold the
// function's policy in template.yaml to what the code really calls: a
// missing permission (a write the policy forgot) fails here, not in AWS.
type audit struct {
	mu      sync.Mutex
	actions map[string]bool
}

func newAudit() *audit { return &audit{actions: map[string]bool{}} }

// endpoints returns env with every AWS endpoint routed through a recording
// proxy.
func (a *audit) endpoints(t *testing.T, env map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range env {
		out[k] = v
	}
	for _, name := range []string{"DYNAMODB_ENDPOINT", "SQS_ENDPOINT", "S3_ENDPOINT", "SSM_ENDPOINT"} {
		target := env[name]
		if target == "" {
			continue
		}
		u, err := url.Parse(target)
		if err != nil {
			t.Fatal(err)
		}
		proxy := httputil.NewSingleHostReverseProxy(u)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			a.record(name, r, body)
			proxy.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		out[name] = srv.URL
	}
	return out
}

func (a *audit) record(service string, r *http.Request, body []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	target := r.Header.Get("X-Amz-Target")
	_, op, _ := strings.Cut(target, ".")
	switch service {
	case "DYNAMODB_ENDPOINT":
		if op != "TransactWriteItems" {
			a.actions["dynamodb:"+op] = true
			return
		}
		var tx struct{ TransactItems []map[string]json.RawMessage }
		_ = json.Unmarshal(body, &tx)
		for _, it := range tx.TransactItems {
			for kind := range it {
				a.actions["dynamodb:"+map[string]string{"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}[kind]] = true
			}
		}
	case "SQS_ENDPOINT":
		a.actions["sqs:"+strings.TrimSuffix(op, "Batch")] = true
	case "SSM_ENDPOINT":
		a.actions["ssm:"+op] = true
	case "S3_ENDPOINT":
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			a.actions["s3:GetObject"] = true
		case http.MethodPut:
			a.actions["s3:PutObject"] = true
		default:
			a.actions["s3:"+r.Method] = true
		}
	}
}

// policyActions reads the actions template.yaml grants a function.
func policyActions(t *testing.T, logicalID string) []string {
	doc := templateDoc(t)
	var out []string
	var walk func(n *yaml.Node, underAction bool)
	walk = func(n *yaml.Node, underAction bool) {
		if underAction && n.Kind == yaml.ScalarNode {
			out = append(out, n.Value)
		}
		for i := 0; i < len(n.Content); i++ {
			c := n.Content[i]
			if n.Kind == yaml.MappingNode && i%2 == 0 {
				walk(n.Content[i+1], c.Value == "Action")
				i++
				continue
			}
			walk(c, underAction)
		}
	}
	fn := lookup(doc, "Resources", logicalID, "Properties", "Policies")
	if fn == nil {
		t.Fatalf("template has no Policies for %s", logicalID)
	}
	walk(fn, false)
	return out
}

// check fails for every action the function made that its policy lacks.
func (a *audit) check(t *testing.T, logicalID string) {
	t.Helper()
	granted := policyActions(t, logicalID)
	a.mu.Lock()
	defer a.mu.Unlock()
	var used []string
	for act := range a.actions {
		used = append(used, act)
		if !slices.Contains(granted, act) {
			t.Errorf("%s calls %s, which its policy in template.yaml does not grant (it grants %v)", logicalID, act, granted)
		}
	}
	sort.Strings(used)
	if len(used) == 0 {
		t.Errorf("%s made no AWS call through the audit proxy: the check would prove nothing", logicalID)
	}
	t.Logf("%s: %v", logicalID, used)
}

// globalEnv is the value template.yaml's Globals give every function's
// environment variable name ("" when it sets none).
func globalEnv(t testing.TB, name string) string {
	if v := lookup(templateDoc(t), "Globals", "Function", "Environment", "Variables", name); v != nil {
		return v.Value
	}
	return ""
}

// templateDoc is template.yaml, parsed.
func templateDoc(t testing.TB) *yaml.Node { return yamlDoc(t, root+"/template.yaml") }

// yamlDoc is the YAML file at path, parsed.
func yamlDoc(t testing.TB, path string) *yaml.Node {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return &doc
}

// lookup walks a YAML mapping by keys.
func lookup(n *yaml.Node, keys ...string) *yaml.Node {
	for _, k := range keys {
		if n.Kind == yaml.DocumentNode {
			n = n.Content[0]
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	return n
}
