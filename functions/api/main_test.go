package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/devenv"
	"github.com/switchboard/switchboard/shared/localaws"
	"github.com/switchboard/switchboard/shared/store"
)

// TestLambdaOnDynamoDBLocal runs main's setup with the environment Lambda
// gives it and the sample envelope in events/api, against DynamoDB Local.
func TestLambdaOnDynamoDBLocal(t *testing.T) {
	db := localaws.DynamoDB(t)
	t.Setenv("TABLE_NAME", localaws.Table(t, db))
	t.Setenv("AGENT_API_TOKEN", devenv.AgentAPIToken)
	t.Setenv("AGENT_API_TOKEN_PARAM", "")
	t.Setenv("ROUTING_CONFIG", devenv.Routing)
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
// caller, the function asks no token of its own, and the JWT's email claim
// names the routing document's agent (else its sub): the close on the
// timeline is theirs; a request without claims is refused.
func TestBehindTheJWTAuthorizer(t *testing.T) {
	db := localaws.DynamoDB(t)
	table := localaws.Table(t, db)
	t.Setenv("TABLE_NAME", table)
	t.Setenv("API_AUTH", "jwt")
	t.Setenv("AGENT_API_TOKEN", "")
	t.Setenv("AGENT_API_TOKEN_PARAM", "")
	t.Setenv("ROUTING_CONFIG", `{"defaultTeam":"support","teams":[{"id":"support"}],"agents":[{"id":"ana","email":"ana@example.com","teams":["support"],"sinks":[]}]}`)
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	t.Setenv("COGNITO_DOMAIN", "https://switchboard-test.auth.us-east-1.amazoncognito.com")
	t.Setenv("COGNITO_CLIENT_ID", "client-test")
	t.Setenv("CONSOLE_REDIRECT_URL", "https://signin.example.com/")
	h, err := setup(context.Background(), slog.Default())
	if err != nil {
		t.Fatalf("setup behind the authorizer: %v", err)
	}
	st := store.New(db, table)
	svc := &conversation.Service{Store: st, Team: "support"}
	from, _ := conversation.Normalizer{}.Phone("+14155550123")
	res, err := svc.Ingest(context.Background(), conversation.Inbound{Key: "twilio:SMjwt", Channel: conversation.ChannelSMS, From: from,
		FromAddress: "+14155550123", Body: "hi", Provider: "twilio", ProviderMessageID: "SMjwt"})
	if err != nil {
		t.Fatal(err)
	}
	proxy := httpadapter.NewV2(h)
	patch := func(claims map[string]string) events.APIGatewayV2HTTPResponse {
		ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RawPath: "/api/conversations/" + res.Message.ConversationID,
			Headers: map[string]string{"content-type": "application/json"}, Body: `{"status":"closed"}`,
			RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: "PATCH", Path: "/api/conversations/" + res.Message.ConversationID}}}
		if claims != nil {
			ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
				JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims}}
		}
		resp, err := proxy.ProxyWithContext(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if resp := patch(nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no claims: %d %s", resp.StatusCode, resp.Body)
	}
	if resp := patch(map[string]string{"sub": "0c6f-uuid", "email": "Ana@Example.com"}); resp.StatusCode != http.StatusOK {
		t.Fatalf("close: %d %s", resp.StatusCode, resp.Body)
	}
	c, msgs, err := st.Conversation(context.Background(), res.Message.ConversationID)
	if err != nil || c.Status != conversation.StatusClosed || c.ClosedBy != "ana" || len(msgs) != 2 || msgs[1].Agent != "ana" {
		t.Errorf("after the JWT agent's close: %+v %+v %v", c, msgs, err)
	}
}

// TestConsoleSignInFromTheEnvironment: deployed (API_AUTH=jwt), the
// console the function serves signs in with Cognito's hosted UI as the
// template configures it, and its media come from the media bucket; a
// missing setting stops start-up naming it.
func TestConsoleSignInFromTheEnvironment(t *testing.T) {
	for k, v := range map[string]string{"TABLE_NAME": "switchboard-test", "ROUTING_CONFIG": devenv.Routing, "API_AUTH": "jwt",
		"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "MEDIA_BUCKET": "sb-media", "S3_ENDPOINT": "",
		"COGNITO_DOMAIN": "https://switchboard-1.auth.eu-west-1.amazoncognito.com", "COGNITO_CLIENT_ID": "client-1",
		"CONSOLE_REDIRECT_URL": "https://abc.lambda-url.eu-west-1.on.aws/", "AGENT_API_TOKEN_PARAM": "", "ROUTING_CONFIG_PARAM": ""} {
		t.Setenv(k, v)
	}
	h, err := setup(context.Background(), slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/app/config.json", nil))
	var cfg map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &cfg); err != nil || cfg["auth"] != "cognito" || cfg["clientId"] != "client-1" {
		t.Errorf("config.json: %s", rec.Body)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/app/", nil))
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' blob: https://sb-media.s3.eu-west-1.amazonaws.com;") {
		t.Errorf("CSP %q does not allow the bucket's presigned media", csp)
	}
	t.Setenv("COGNITO_DOMAIN", "")
	if _, err := setup(context.Background(), slog.Default()); err == nil || !strings.Contains(err.Error(), "COGNITO_DOMAIN") {
		t.Errorf("without COGNITO_DOMAIN: %v", err)
	}
}
