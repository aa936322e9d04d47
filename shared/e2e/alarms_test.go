package e2e

import (
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestEveryFunctionAndQueueIsAlarmed: DevOps hears of a failing or
// throttled function and of a queue that backs up or fills with dead
// letters: each function in template.yaml has an Errors and a Throttles
// alarm in infra/alarms.yaml, and each queue an alarm on its depth or age
// (the nested stack's parameters map the names across).
func TestEveryFunctionAndQueueIsAlarmed(t *testing.T) {
	tpl, alarms := yamlDoc(t, root+"/template.yaml"), yamlDoc(t, root+"/infra/alarms.yaml")
	resources := lookup(tpl, "Resources")
	var functions, queues []string
	for i := 0; i+1 < len(resources.Content); i += 2 {
		switch lookup(resources.Content[i+1], "Type").Value {
		case "AWS::Serverless::Function":
			functions = append(functions, resources.Content[i].Value)
		case "AWS::SQS::Queue":
			queues = append(queues, resources.Content[i].Value)
		}
	}
	// The nested stack's parameters: alarm parameter → template resource.
	params := lookup(resources, "Alarms", "Properties", "Parameters")
	resourceOf := map[string]string{}
	for i := 0; i+1 < len(params.Content); i += 2 {
		v := params.Content[i+1]
		resourceOf[params.Content[i].Value], _, _ = strings.Cut(v.Value, ".") // !Ref X, !GetAtt X.QueueName
	}
	covered := map[string]bool{} // "resource metric"
	ar := lookup(alarms, "Resources")
	for i := 0; i+1 < len(ar.Content); i += 2 {
		props := lookup(ar.Content[i+1], "Properties")
		if props == nil || lookup(ar.Content[i+1], "Type").Value != "AWS::CloudWatch::Alarm" {
			continue
		}
		dims := lookup(props, "Dimensions")
		if dims == nil {
			continue
		}
		for _, d := range dims.Content {
			if v := lookup(d, "Value"); v != nil && v.Tag == "!Ref" {
				covered[resourceOf[v.Value]+" "+lookup(props, "MetricName").Value] = true
				covered[resourceOf[v.Value]] = true
			}
		}
	}
	if len(functions) < 9 || len(queues) < 6 {
		t.Fatalf("read %d functions and %d queues from template.yaml", len(functions), len(queues))
	}
	for _, f := range functions {
		for _, metric := range []string{"Errors", "Throttles"} {
			if !covered[f+" "+metric] {
				t.Errorf("function %s has no %s alarm in infra/alarms.yaml", f, metric)
			}
		}
	}
	for _, q := range queues {
		if !covered[q] {
			t.Errorf("queue %s has no alarm in infra/alarms.yaml", q)
		}
	}
}

// TestParametersFailAtDeploy: every parameter is described, and every SSM
// name parameter (*Param) has an AllowedPattern, so a secret pasted where
// its parameter's name belongs fails at deploy, not at the first request.
func TestParametersFailAtDeploy(t *testing.T) {
	raw, err := os.ReadFile("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var n yaml.Node
	if err := yaml.Unmarshal(raw, &n); err != nil {
		t.Fatal(err)
	}
	params := lookup(&n, "Parameters")
	for i := 0; i+1 < len(params.Content); i += 2 {
		name, p := params.Content[i].Value, params.Content[i+1]
		if d := lookup(p, "Description"); d == nil || strings.TrimSpace(d.Value) == "" {
			t.Errorf("parameter %s has no Description", name)
		}
		if strings.HasSuffix(name, "Param") {
			ap := lookup(p, "AllowedPattern")
			if ap == nil || !strings.HasPrefix(ap.Value, "^") || !strings.Contains(ap.Value, "/") {
				t.Errorf("parameter %s has no AllowedPattern for an SSM name", name)
			}
		}
	}
}
