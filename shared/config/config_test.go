package config_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/switchboard/switchboard/shared/config"
	"github.com/switchboard/switchboard/shared/localaws"
)

func TestMissingRequiredSettingIsNamed(t *testing.T) {
	t.Setenv("TABLE_NAME", "")
	var c config.Messaging
	err := config.Load(&c)
	if err == nil || !strings.Contains(err.Error(), "TABLE_NAME") {
		t.Fatalf("err = %v, want one naming TABLE_NAME", err)
	}
	t.Setenv("TABLE_NAME", "switchboard")
	if err := config.Load(&c); err != nil {
		t.Fatal(err)
	}
	if c.TableName != "switchboard" || c.PhoneRegion != "US" || c.MaxBody != 65536 || c.Team != "support" {
		t.Errorf("loaded %+v", c)
	}
}

func TestSecretFromEnvironment(t *testing.T) {
	env := map[string]string{"TWILIO_AUTH_TOKEN": "tok"}
	s := config.Params{Getenv: func(k string) string { return env[k] }}
	if v, err := s.Get(context.Background(), "TWILIO_AUTH_TOKEN", true); err != nil || v != "tok" {
		t.Errorf("Get = %q, %v", v, err)
	}
	_, err := s.Get(context.Background(), "META_APP_SECRET", true)
	if err == nil || !strings.Contains(err.Error(), "META_APP_SECRET_PARAM") {
		t.Errorf("missing secret: %v", err)
	}
	if v, err := s.Get(context.Background(), "META_APP_SECRET", false); err != nil || v != "" {
		t.Errorf("optional secret: %q, %v", v, err)
	}
}

// TestSecretFromSSM reads a SecureString from moto's SSM.
func TestSecretFromSSM(t *testing.T) {
	ep := localaws.Endpoint(t, "SSM_ENDPOINT")
	client := ssm.NewFromConfig(localaws.Config(), func(o *ssm.Options) { o.BaseEndpoint = aws.String(ep) })
	ctx := context.Background()
	name := "/switchboard/test/" + strings.ReplaceAll(t.Name(), "/", "-") + "/twilio-auth-token"
	_, err := client.PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String(name), Value: aws.String("from-ssm"), Type: ssmtypes.ParameterTypeSecureString, Overwrite: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"TWILIO_AUTH_TOKEN_PARAM": name, "TWILIO_AUTH_TOKEN": "ignored when _PARAM is set"}
	s := config.Params{SSM: client, Getenv: func(k string) string { return env[k] }}
	if v, err := s.Get(ctx, "TWILIO_AUTH_TOKEN", true); err != nil || v != "from-ssm" {
		t.Errorf("Get = %q, %v", v, err)
	}
	env["TWILIO_AUTH_TOKEN_PARAM"] = "/switchboard/test/missing"
	if _, err := s.Get(ctx, "TWILIO_AUTH_TOKEN", true); err == nil || strings.Contains(err.Error(), "from-ssm") {
		t.Errorf("missing parameter: %v", err)
	}
}

// countingSSM counts the SSM calls made.
type countingSSM struct {
	config.ParameterAPI
	one, many int
}

func (c *countingSSM) GetParameter(ctx context.Context, in *ssm.GetParameterInput, o ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	c.one++
	return c.ParameterAPI.GetParameter(ctx, in, o...)
}

func (c *countingSSM) GetParameters(ctx context.Context, in *ssm.GetParametersInput, o ...func(*ssm.Options)) (*ssm.GetParametersOutput, error) {
	c.many++
	return c.ParameterAPI.GetParameters(ctx, in, o...)
}

// TestSecretsInOneCall: a cold start reads all of a function's parameters
// with one GetParameters call (on moto's SSM), however many it asks for; a
// parameter that does not exist is an error naming it, without its value
// anywhere.
func TestSecretsInOneCall(t *testing.T) {
	ep := localaws.Endpoint(t, "SSM_ENDPOINT")
	client := ssm.NewFromConfig(localaws.Config(), func(o *ssm.Options) { o.BaseEndpoint = aws.String(ep) })
	ctx := context.Background()
	prefix := "/switchboard/test/" + t.Name() + "/"
	env := map[string]string{"MISSING_PARAM": prefix + "missing", "UNRELATED": "x"}
	for i, name := range []string{"TWILIO_AUTH_TOKEN", "META_APP_SECRET", "TELEGRAM_BOT_TOKEN", "LINE_CHANNEL_TOKEN", "X_ACCESS_TOKEN",
		"WECHAT_APP_SECRET", "META_ACCESS_TOKEN", "NOTIFY_WEBHOOK_SECRET", "PUBLIC_BASE_URL", "ROUTING_CONFIG", "AGENT_API_TOKEN"} {
		if _, err := client.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(prefix + name), Value: aws.String(fmt.Sprint("value-", i)),
			Type: ssmtypes.ParameterTypeSecureString, Overwrite: aws.Bool(true)}); err != nil {
			t.Fatal(err)
		}
		env[name+"_PARAM"] = prefix + name
	}
	counted := &countingSSM{ParameterAPI: client}
	s := config.NewParams(counted)
	s.Getenv = func(k string) string { return env[k] }
	s.Environ = func() []string {
		var out []string
		for k, v := range env {
			out = append(out, k+"="+v)
		}
		return out
	}
	for i, name := range []string{"TWILIO_AUTH_TOKEN", "META_APP_SECRET", "TELEGRAM_BOT_TOKEN", "LINE_CHANNEL_TOKEN", "X_ACCESS_TOKEN",
		"WECHAT_APP_SECRET", "META_ACCESS_TOKEN", "NOTIFY_WEBHOOK_SECRET", "PUBLIC_BASE_URL", "ROUTING_CONFIG", "AGENT_API_TOKEN"} {
		if v, err := s.Get(ctx, name, true); err != nil || v != fmt.Sprint("value-", i) {
			t.Errorf("%s = %q, %v", name, v, err)
		}
	}
	if _, err := s.Get(ctx, "MISSING", false); err == nil || !strings.Contains(err.Error(), prefix+"missing") {
		t.Errorf("missing parameter: %v", err)
	}
	// 12 names: two GetParameters calls of at most 10, then nothing more.
	if counted.many != 2 || counted.one != 0 {
		t.Errorf("SSM calls: %d GetParameters, %d GetParameter; want 2 and 0", counted.many, counted.one)
	}
}
