package store_test

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"gopkg.in/yaml.v3"

	"github.com/switchboard/switchboard/shared/store"
)

// lookup walks a YAML mapping by keys; CloudFormation's short-form tags
// (!Ref, !Sub) stay plain nodes, so the template is read as nodes.
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

func keySchema(n *yaml.Node) string {
	var parts []string
	for _, e := range n.Content {
		parts = append(parts, lookup(e, "AttributeName").Value+":"+lookup(e, "KeyType").Value)
	}
	return strings.Join(parts, ",")
}

// TestTemplateTableMatchesCode keeps template.yaml's table and the one the
// tests and the dev server create (store.TableInput) the same.
func TestTemplateTableMatchesCode(t *testing.T) {
	raw, err := os.ReadFile("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	props := lookup(&doc, "Resources", "Table", "Properties")
	if props == nil {
		t.Fatal("template has no Resources.Table.Properties")
	}
	want := store.TableInput("x")

	var gotAttrs, wantAttrs []string
	for _, a := range lookup(props, "AttributeDefinitions").Content {
		gotAttrs = append(gotAttrs, lookup(a, "AttributeName").Value+":"+lookup(a, "AttributeType").Value)
	}
	for _, a := range want.AttributeDefinitions {
		wantAttrs = append(wantAttrs, aws.ToString(a.AttributeName)+":"+string(a.AttributeType))
	}
	slices.Sort(gotAttrs)
	slices.Sort(wantAttrs)
	if !slices.Equal(gotAttrs, wantAttrs) {
		t.Errorf("attributes: template %v, code %v", gotAttrs, wantAttrs)
	}
	var wantKeys []string
	for _, k := range want.KeySchema {
		wantKeys = append(wantKeys, aws.ToString(k.AttributeName)+":"+string(k.KeyType))
	}
	if got := keySchema(lookup(props, "KeySchema")); got != strings.Join(wantKeys, ",") {
		t.Errorf("key schema: template %s, code %v", got, wantKeys)
	}
	gsis := lookup(props, "GlobalSecondaryIndexes").Content
	if len(gsis) != len(want.GlobalSecondaryIndexes) {
		t.Fatalf("template has %d indexes, code %d", len(gsis), len(want.GlobalSecondaryIndexes))
	}
	for i, g := range want.GlobalSecondaryIndexes {
		var keys []string
		for _, k := range g.KeySchema {
			keys = append(keys, aws.ToString(k.AttributeName)+":"+string(k.KeyType))
		}
		tg := gsis[i]
		got := fmt.Sprint(lookup(tg, "IndexName").Value, " ", keySchema(lookup(tg, "KeySchema")), " ", lookup(tg, "Projection", "ProjectionType").Value)
		exp := fmt.Sprint(aws.ToString(g.IndexName), " ", strings.Join(keys, ","), " ", g.Projection.ProjectionType)
		if got != exp {
			t.Errorf("index %d: template %q, code %q", i, got, exp)
		}
		var attrs []string
		if n := lookup(tg, "Projection", "NonKeyAttributes"); n != nil {
			for _, a := range n.Content {
				attrs = append(attrs, a.Value)
			}
		}
		if !slices.Equal(attrs, g.Projection.NonKeyAttributes) {
			t.Errorf("index %d projects %v in the template, %v in code", i, attrs, g.Projection.NonKeyAttributes)
		}
	}
	if got := lookup(props, "StreamSpecification", "StreamViewType").Value; got != string(want.StreamSpecification.StreamViewType) {
		t.Errorf("stream view: template %s, code %s", got, want.StreamSpecification.StreamViewType)
	}
	if got := lookup(props, "TimeToLiveSpecification", "AttributeName").Value; got != store.TTLAttribute {
		t.Errorf("TTL attribute: template %s, code %s", got, store.TTLAttribute)
	}
	if got := lookup(props, "BillingMode").Value; got != string(want.BillingMode) {
		t.Errorf("billing: template %s, code %s", got, want.BillingMode)
	}
}
