package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/shared/config"
	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/devenv"
	"github.com/switchboard/switchboard/shared/lambdatest"
	"github.com/switchboard/switchboard/shared/localaws"
	"github.com/switchboard/switchboard/shared/store"
)

// TestEnvVarsRunTheFunctions is what `sam local invoke --env-vars` would do
// with the file, as far as this machine allows (no sam CLI, no Docker): the
// file sets only variables the template declares for each function (sam
// ignores the others), every SSM parameter it names exists in moto, and
// the messaging and api binaries, started with exactly those variables (the
// host name pointed back at loopback), store the sample SMS in the dev table
// and list it.
func TestEnvVarsRunTheFunctions(t *testing.T) {
	localaws.DynamoDB(t) // the local services, or a skip (a failure under the test command)
	var buf bytes.Buffer
	if err := run(context.Background(), "../../template.yaml", "127.0.0.1", &buf); err != nil {
		t.Fatal(err)
	}
	var file map[string]map[string]string
	if err := json.Unmarshal(buf.Bytes(), &file); err != nil {
		t.Fatal(err)
	}
	declared, err := Variables("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(file) != len(declared) || len(file) < 10 {
		t.Fatalf("%d functions in the file, %d in the template", len(file), len(declared))
	}
	ctx := context.Background()
	c := config.Common{AWSRegion: "us-east-1", SSMEndpoint: os.Getenv("SSM_ENDPOINT")}
	awsCfg, err := config.AWS(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	sm := config.SSM(awsCfg, c)
	for fn, env := range file {
		for k, v := range env {
			if !slices.Contains(declared[fn], k) {
				t.Errorf("%s: %s is not declared in the template: sam local would ignore it", fn, k)
			}
			if strings.HasSuffix(k, "_PARAM") && v != "" {
				got, invalid, err := sm.GetParameters(ctx, []string{v})
				if err != nil || len(invalid) > 0 || len(got) != 1 {
					t.Errorf("%s: %s=%s does not exist in SSM: %v %v", fn, k, v, err, invalid)
				}
			}
		}
		if env["TABLE_NAME"] != devenv.TableName || env["DYNAMODB_ENDPOINT"] == "" {
			t.Errorf("%s: table %q at %q", fn, env["TABLE_NAME"], env["DYNAMODB_ENDPOINT"])
		}
	}
	bins := lambdatest.Build(t, "../..", lambdatest.NativeArch(), t.TempDir(), "./functions/messaging", "./functions/api")
	creds := map[string]string{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
	withCreds := func(env map[string]string) map[string]string {
		for k, v := range creds {
			env[k] = v
		}
		return env
	}
	messaging := lambdatest.Start(t, bins["messaging"], withCreds(file["MessagingFunction"]))
	sample, err := os.ReadFile("../../events/twilio/sms-inbound.json")
	if err != nil {
		t.Fatal(err)
	}
	out, err := messaging.Invoke(ctx, sample)
	if err != nil || !strings.Contains(string(out), `"statusCode":200`) {
		t.Fatalf("messaging: %s %v\n%s", out, err, messaging.Output())
	}
	db := localaws.DynamoDB(t)
	st := store.New(db, devenv.TableName)
	route, err := st.Route(ctx, conversation.Identity{Kind: conversation.KindPhone, Address: "+14155550123"}) // the sample's From
	if err != nil || route.ConversationID == "" {
		t.Fatalf("the sample SMS is not in %s: %+v %v", devenv.TableName, route, err)
	}
	api := lambdatest.Start(t, bins["api"], withCreds(file["ApiFunction"]))
	listed, err := api.Invoke(ctx, mustRead(t, "../../events/api/conversations-open.json"))
	if err != nil || !strings.Contains(string(listed), route.ConversationID) {
		t.Errorf("api: %.300s %v\n%s", listed, err, api.Output())
	}
}

func mustRead(t *testing.T, path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
