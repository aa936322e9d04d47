package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/switchboard/switchboard/shared/devenv"
	"github.com/switchboard/switchboard/shared/localaws"
)

// TestLambdaOnDynamoDBLocal runs main's setup with the environment Lambda
// gives it and the sample envelope in events/api, against DynamoDB Local.
func TestLambdaOnDynamoDBLocal(t *testing.T) {
	db := localaws.DynamoDB(t)
	t.Setenv("TABLE_NAME", localaws.Table(t, db))
	t.Setenv("AGENT_API_TOKEN", devenv.AgentAPIToken)
	t.Setenv("AGENT_API_TOKEN_PARAM", "")
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	h, err := setup(context.Background(), slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("../../events/api/conversations-open.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	proxy := httpadapter.NewV2(h)
	resp, err := proxy.ProxyWithContext(context.Background(), ev)
	if err != nil || resp.StatusCode != http.StatusOK || strings.TrimSpace(resp.Body) != `{"conversations":[]}` {
		t.Errorf("inbox: %v %d %s", err, resp.StatusCode, resp.Body)
	}
	ev.Headers["authorization"] = "Bearer wrong"
	if resp, _ := proxy.ProxyWithContext(context.Background(), ev); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong token: %d", resp.StatusCode)
	}
}

func TestSetupRequiresAgentToken(t *testing.T) {
	t.Setenv("TABLE_NAME", "t-x")
	t.Setenv("API_AUTH", "")
	t.Setenv("AGENT_API_TOKEN", "")
	t.Setenv("AGENT_API_TOKEN_PARAM", "")
	if _, err := setup(context.Background(), slog.Default()); err == nil || !strings.Contains(err.Error(), "AGENT_API_TOKEN") {
		t.Errorf("err = %v, want one naming AGENT_API_TOKEN", err)
	}
}

// TestBehindTheJWTAuthorizer: deployed, the authorizer has checked the
// caller, and the function asks no token of its own.
func TestBehindTheJWTAuthorizer(t *testing.T) {
	t.Setenv("TABLE_NAME", "t-x")
	t.Setenv("API_AUTH", "jwt")
	t.Setenv("AGENT_API_TOKEN", "")
	t.Setenv("AGENT_API_TOKEN_PARAM", "")
	if _, err := setup(context.Background(), slog.Default()); err != nil {
		t.Errorf("setup behind the authorizer: %v", err)
	}
}
