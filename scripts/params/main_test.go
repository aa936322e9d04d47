package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/switchboard/switchboard/shared/localaws"
)

// TestWriteThenCheckOnMotoSSM: the secrets of a local file become
// SecureStrings under the prefix, the overrides printed name them, and
// check passes with those overrides and fails naming what is missing —
// never printing a secret.
func TestWriteThenCheckOnMotoSSM(t *testing.T) {
	ep := localaws.Endpoint(t, "SSM_ENDPOINT")
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	t.Setenv("AWS_REGION", "us-east-1")
	api := ssm.NewFromConfig(localaws.Config(), func(o *ssm.Options) { o.BaseEndpoint = aws.String(ep) })
	ctx := context.Background()
	dir := t.TempDir()
	routing := dir + "/routing.json"
	if err := os.WriteFile(routing, []byte(`{"defaultTeam":"support"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := "# secrets for the first deploy\nTWILIO_AUTH_TOKEN=0123456789abcdef0123456789abcdef\nROUTING_CONFIG=@" + routing +
		"\nWECHAT_ENCODING_AES_KEY=abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG\nLINE_CHANNEL_SECRET=s3cr3t-line\n"
	entries, err := ReadEnv(strings.NewReader(env), os.ReadFile)
	if err != nil || len(entries) != 4 || entries[1].Value != `{"defaultTeam":"support"}` {
		t.Fatalf("entries %+v, %v", entries, err)
	}
	prefix := "/switchboard-test/" + time.Now().Format("150405.000000")
	overrides, err := Write(ctx, api, prefix, entries)
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := os.ReadFile("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	named, err := Named(tpl, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range overrides {
		k, _, _ := strings.Cut(o, "=")
		if _, ok := named[k]; !ok {
			t.Errorf("override %s names no template parameter", o)
		}
	}
	// The defaults name parameters this SSM does not have (the Twilio
	// token's, the routing document's): check says which.
	all := strings.Join(overrides, " ")
	if missing, err := Check(ctx, api, mustNamed(t, tpl, all)); err != nil || len(missing) != 0 {
		t.Errorf("after write: missing %v, %v", missing, err)
	}
	missing, err := Check(ctx, api, mustNamed(t, tpl, all+" XConsumerSecretParam=/switchboard-test/nope"))
	if err != nil || len(missing) != 1 || missing[0] != "XConsumerSecretParam (/switchboard-test/nope)" {
		t.Errorf("a missing one: %v, %v", missing, err)
	}
	// Through the command, as a person runs it: no secret in what it prints.
	t.Setenv("SSM_ENDPOINT", ep)
	f := dir + "/deploy.env"
	if err := os.WriteFile(f, []byte(env), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(ctx, []string{"write", "-env", f, "-prefix", prefix}, &out); err != nil {
		t.Fatal(err)
	}
	if err := run(ctx, []string{"check", "-template", "../../template.yaml", "-overrides", all}, &out); err != nil {
		t.Errorf("check: %v", err)
	}
	if err := run(ctx, []string{"check", "-template", "../../template.yaml"}, &out); err == nil || !strings.Contains(err.Error(), "TwilioAuthTokenParam (/switchboard/twilio-auth-token)") {
		t.Errorf("check with the defaults: %v", err)
	}
	for _, secret := range []string{"0123456789abcdef0123456789abcdef", "s3cr3t-line", "abcdefghijklmnop"} {
		if strings.Contains(out.String(), secret) {
			t.Errorf("printed a secret: %s", out.String())
		}
	}
	if _, err := ReadEnv(strings.NewReader("lower=case\n"), os.ReadFile); err == nil {
		t.Error("a lower-case key was accepted")
	}
}

func mustNamed(t *testing.T, tpl []byte, overrides string) map[string]string {
	n, err := Named(tpl, overrides)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
