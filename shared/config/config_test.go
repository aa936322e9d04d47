package config_test

import (
	"context"
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
	if c.TableName != "switchboard" || c.PhoneRegion != "US" || c.MaxBody != 65536 || c.AckText == "" || c.Team != "support" {
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
