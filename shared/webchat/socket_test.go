package webchat_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/golang-jwt/jwt/v5"

	"github.com/switchboard/switchboard/shared/localaws"
	"github.com/switchboard/switchboard/shared/store"
	"github.com/switchboard/switchboard/shared/webchat"
)

const corpus = "../../../shared/corpus/webchat/"

func fixture(t *testing.T, name string) json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(corpus + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newSocket(t *testing.T) (*webchat.Socket, *store.Store, *webchat.Signer) {
	db := localaws.DynamoDB(t)
	st := store.New(db, localaws.Table(t, db))
	signer, err := webchat.NewSigner(signingKey)
	if err != nil {
		t.Fatal(err)
	}
	origins := func(site string) []string {
		for _, s := range sites {
			if s.ID == site {
				return s.Origins
			}
		}
		return nil
	}
	return &webchat.Socket{Signer: signer, Origins: origins, Self: self, Conns: st, Log: slog.New(slog.DiscardHandler)}, st, signer
}

func authorizerEvent(token, origin string) json.RawMessage {
	b, _ := json.Marshal(map[string]any{
		"type": "REQUEST", "methodArn": "arn:aws:execute-api:ap-northeast-1:123456789012:dl7ptocha9/prod/$connect",
		"headers":               map[string]string{"Origin": origin, "Host": "dl7ptocha9.execute-api.ap-northeast-1.amazonaws.com"},
		"queryStringParameters": map[string]string{"token": token},
		"requestContext":        map[string]any{"routeKey": "$connect", "eventType": "CONNECT", "connectionId": "R1kmxc2VNjMCFIA="},
	})
	return b
}

// TestSocketLambda runs the deployed socket's events: the authorizer on
// good, forged and cross-origin tokens, then $connect, a $default frame and
// the real $disconnect of the corpus (aws-lambda-go's capture), on
// DynamoDB Local.
func TestSocketLambda(t *testing.T) {
	sock, st, signer := newSocket(t)
	ctx := context.Background()
	token, _, _ := signer.Issue(webchat.Claims{Site: "shop", RegisteredClaims: registered("visitor:shop:v1")})

	out, err := sock.Handle(ctx, authorizerEvent(token, "https://shop.example"))
	if err != nil {
		t.Fatal(err)
	}
	auth := out.(events.APIGatewayCustomAuthorizerResponse)
	if auth.PolicyDocument.Statement[0].Effect != "Allow" || auth.Context["visitor"] != "visitor:shop:v1" {
		t.Fatalf("authorizer: %+v", auth)
	}
	if _, err := sock.Handle(ctx, authorizerEvent(token[:len(token)-3]+"xyz", "https://shop.example")); !errors.Is(err, webchat.ErrUnauthorized) {
		t.Errorf("forged token at $connect: %v, want Unauthorized (401)", err)
	}
	if _, err := sock.Handle(ctx, authorizerEvent("", "")); !errors.Is(err, webchat.ErrUnauthorized) {
		t.Errorf("no token at $connect: %v, want Unauthorized", err)
	}
	out, _ = sock.Handle(ctx, authorizerEvent(token, "https://evil.example"))
	if out.(events.APIGatewayCustomAuthorizerResponse).PolicyDocument.Statement[0].Effect != "Deny" {
		t.Errorf("another origin at $connect: %+v, want Deny (403)", out)
	}

	// $connect: the corpus's disconnect capture turned into its connect,
	// with the authorizer's context as API Gateway passes it.
	var connect map[string]any
	_ = json.Unmarshal(fixture(t, "aws-lambda-go-apigw-websocket-request-disconnect.json"), &connect)
	rc := connect["requestContext"].(map[string]any)
	rc["routeKey"], rc["eventType"] = "$connect", "CONNECT"
	delete(rc, "disconnectStatusCode")
	rc["authorizer"] = auth.Context
	raw, _ := json.Marshal(connect)
	if out, err := sock.Handle(ctx, raw); err != nil || out.(events.APIGatewayProxyResponse).StatusCode != 200 {
		t.Fatalf("$connect: %v %v", out, err)
	}
	if ids, _ := st.Connections(ctx, "visitor:shop:v1"); !slices.Equal(ids, []string{"R1kmxc2VNjMCFIA="}) {
		t.Fatalf("connections after $connect: %v", ids)
	}
	// Without the authorizer's context (a route misconfigured): refused.
	delete(rc, "authorizer")
	raw, _ = json.Marshal(connect)
	if out, _ := sock.Handle(ctx, raw); out.(events.APIGatewayProxyResponse).StatusCode != 401 {
		t.Errorf("$connect without an authorizer: %v, want 401", out)
	}
	// A frame on $default (the corpus's send-message capture): answered, nothing stored.
	if out, err := sock.Handle(ctx, fixture(t, "aws-lambda-go-apigw-websocket-request-send-message.json")); err != nil || out.(events.APIGatewayProxyResponse).StatusCode != 200 {
		t.Errorf("$default: %v %v", out, err)
	}
	// The corpus's $disconnect (code 1001) forgets the connection.
	if out, err := sock.Handle(ctx, fixture(t, "aws-lambda-go-apigw-websocket-request-disconnect.json")); err != nil || out.(events.APIGatewayProxyResponse).StatusCode != 200 {
		t.Fatalf("$disconnect: %v %v", out, err)
	}
	if ids, _ := st.Connections(ctx, "visitor:shop:v1"); len(ids) != 0 {
		t.Fatalf("connections after $disconnect: %v", ids)
	}
	// A second $disconnect of it (best-effort delivery may repeat): no error.
	if _, err := sock.Handle(ctx, fixture(t, "aws-lambda-go-apigw-websocket-request-disconnect.json")); err != nil {
		t.Errorf("repeated $disconnect: %v", err)
	}
}

// TestManagementPush: a visitor with three sockets, one gone: the
// @connections stand-in checks each request's SigV4 signature by signing
// it again, answers 410 for the gone one, and the push removes exactly
// that connection (the AWS sample's bug removed the sender's).
func TestManagementPush(t *testing.T) {
	_, st, _ := newSocket(t)
	ctx := context.Background()
	creds := credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "")
	var mu sync.Mutex
	got := map[string]string{}
	standIn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		id, ok := strings.CutPrefix(r.URL.Path, "/prod/@connections/")
		if r.Method != http.MethodPost || !ok {
			http.Error(w, "not @connections", http.StatusNotFound)
			return
		}
		if !validSignature(r, body, creds) {
			http.Error(w, `{"message":"The request signature we calculated does not match"}`, http.StatusForbidden)
			return
		}
		if id == "gone=" {
			http.Error(w, `{"message":"GoneException"}`, http.StatusGone)
			return
		}
		mu.Lock()
		got[id] = string(body)
		mu.Unlock()
	}))
	defer standIn.Close()
	now := time.Now()
	for _, id := range []string{"live1=", "gone=", "live2="} {
		if err := st.AddConnection(ctx, "visitor:shop:v2", id, now); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.AddConnection(ctx, "visitor:shop:other", "theirs=", now); err != nil {
		t.Fatal(err)
	}
	m := &webchat.Management{Endpoint: standIn.URL + "/prod", Region: "ap-northeast-1", Credentials: creds, Conns: st, Log: slog.New(slog.DiscardHandler)}
	frame := webchat.Frame(webchat.FrameMessage, map[string]string{"id": "msg_1", "body": "hello"})
	n, err := m.Push(ctx, "visitor:shop:v2", frame)
	if err != nil || n != 2 {
		t.Fatalf("push: %d, %v; want 2 delivered", n, err)
	}
	if len(got) != 2 || got["live1="] != string(frame) || got["live2="] != string(frame) {
		t.Fatalf("stand-in got %v", got)
	}
	ids, _ := st.Connections(ctx, "visitor:shop:v2")
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"live1=", "live2="}) {
		t.Fatalf("after the 410: %v, want the two live ones", ids)
	}
	if ids, _ := st.Connections(ctx, "visitor:shop:other"); len(ids) != 1 {
		t.Fatalf("another visitor's connection: %v", ids)
	}
	// A wrong key is refused by the stand-in: not delivered, not removed.
	bad := &webchat.Management{Endpoint: standIn.URL + "/prod", Region: "ap-northeast-1", Conns: st,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "wrong", ""), Log: slog.New(slog.DiscardHandler)}
	if n, _ := bad.Push(ctx, "visitor:shop:v2", frame); n != 0 {
		t.Errorf("a badly signed push delivered %d", n)
	}
	if ids, _ := st.Connections(ctx, "visitor:shop:v2"); len(ids) != 2 {
		t.Errorf("a refused push removed connections: %v", ids)
	}
	// API Gateway down: the push fails, so the send job is retried.
	standIn.Close()
	if _, err := m.Push(ctx, "visitor:shop:v2", frame); err == nil {
		t.Error("a push nobody answered reported success")
	}
	if got := webchat.ManagementEndpoint("wss://abc123.execute-api.eu-west-1.amazonaws.com/chat"); got != "https://abc123.execute-api.eu-west-1.amazonaws.com/chat" {
		t.Errorf("ManagementEndpoint = %s", got)
	}
}

// validSignature signs the request again, as execute-api would, with the
// time it names, and compares.
func validSignature(r *http.Request, body []byte, creds aws.CredentialsProvider) bool {
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil || !strings.Contains(r.Header.Get("Authorization"), "/ap-northeast-1/execute-api/aws4_request") {
		return false
	}
	c, _ := creds.Retrieve(context.Background())
	again, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.EscapedPath(), strings.NewReader(string(body)))
	again.Header.Set("Content-Type", r.Header.Get("Content-Type"))
	sum := sha256hex(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), c, again, sum, "execute-api", "ap-northeast-1", at); err != nil {
		return false
	}
	return again.Header.Get("Authorization") == r.Header.Get("Authorization")
}

func registered(sub string) jwt.RegisteredClaims { return jwt.RegisteredClaims{Subject: sub} }

func sha256hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
