package config_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
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
	s := config.Params{SSM: config.NewSSMParameters(localaws.Config(), ep), Getenv: func(k string) string { return env[k] }}
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
	many int
}

func (c *countingSSM) GetParameters(ctx context.Context, names []string) (map[string]string, []string, error) {
	c.many++
	return c.ParameterAPI.GetParameters(ctx, names)
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
	counted := &countingSSM{ParameterAPI: config.NewSSMParameters(localaws.Config(), ep)}
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
	if counted.many != 2 {
		t.Errorf("SSM calls: %d GetParameters; want 2", counted.many)
	}
}

// TestSSMParametersAgreeWithTheSDK holds the hand-written reader to the
// SDK's ssm client on moto's SSM: the same values for a SecureString (with
// its padding and newline), a String and a StringList, the same names not
// found, and a clear error (no value in it) when the credentials are refused.
func TestSSMParametersAgreeWithTheSDK(t *testing.T) {
	ep := localaws.Endpoint(t, "SSM_ENDPOINT")
	sdk := ssm.NewFromConfig(localaws.Config(), func(o *ssm.Options) { o.BaseEndpoint = aws.String(ep) })
	lean := config.NewSSMParameters(localaws.Config(), ep)
	ctx := context.Background()
	prefix := "/switchboard/test/" + t.Name() + "/"
	params := map[string]ssmtypes.ParameterType{
		"secure": ssmtypes.ParameterTypeSecureString, "plain": ssmtypes.ParameterTypeString, "list": ssmtypes.ParameterTypeStringList,
	}
	values := map[string]string{"secure": "  whsec_c2VjcmV0\n", "plain": "https://api.example.com", "list": "a,b,c"}
	var names []string
	for n, typ := range params {
		if _, err := sdk.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(prefix + n), Value: aws.String(values[n]),
			Type: typ, Overwrite: aws.Bool(true)}); err != nil {
			t.Fatal(err)
		}
		names = append(names, prefix+n)
	}
	names = append(names, prefix+"absent", "/switchboard/test/also-absent")
	want, err := sdk.GetParameters(ctx, &ssm.GetParametersInput{Names: names, WithDecryption: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	got, invalid, err := lean.GetParameters(ctx, names)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want.Parameters) {
		t.Errorf("values: %d, the SDK %d", len(got), len(want.Parameters))
	}
	for _, p := range want.Parameters {
		if got[aws.ToString(p.Name)] != aws.ToString(p.Value) {
			t.Errorf("%s = %q, the SDK %q", aws.ToString(p.Name), got[aws.ToString(p.Name)], aws.ToString(p.Value))
		}
	}
	slices.Sort(invalid)
	slices.Sort(want.InvalidParameters)
	if !slices.Equal(invalid, want.InvalidParameters) || len(invalid) != 2 {
		t.Errorf("not found: %v, the SDK %v", invalid, want.InvalidParameters)
	}
	// An endpoint that answers an error: the status and code, no value.
	refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Target") != "AmazonSSM.GetParameters" || !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=") {
			t.Errorf("request: target %q, authorization %q", r.Header.Get("X-Amz-Target"), r.Header.Get("Authorization"))
		}
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"__type":"com.amazonaws.ssm#AccessDeniedException","message":"not authorized to perform ssm:GetParameters"}`)
	}))
	defer refuse.Close()
	_, _, err = config.NewSSMParameters(localaws.Config(), refuse.URL).GetParameters(ctx, names[:1])
	if err == nil || !strings.Contains(err.Error(), "AccessDeniedException") || !strings.Contains(err.Error(), "400") {
		t.Errorf("refused: %v", err)
	}
}
