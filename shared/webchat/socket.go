package webchat

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Connections records visitors' live sockets (store.Store: items with a
// TTL on the table).
type Connections interface {
	AddConnection(ctx context.Context, visitor, id string, at time.Time) error
	Connections(ctx context.Context, visitor string) ([]string, error)
	RemoveConnection(ctx context.Context, visitor, id string) error
}

// Socket is the deployed socket: API Gateway's WebSocket API calls it as
// the $connect authorizer (a REQUEST authorizer with the token in the
// query string: browsers cannot set a socket's headers) and for the
// $connect, $disconnect and $default routes.
type Socket struct {
	Signer *Signer
	// Origins are a site's allowed origins; Self is always allowed.
	Origins func(site string) []string
	Self    string
	Conns   Connections
	Now     func() time.Time
	Log     *slog.Logger
}

// Handle takes either event: an authorizer request (it has a methodArn)
// or a route's.
func (s *Socket) Handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var probe struct {
		Type      string `json:"type"`
		MethodArn string `json:"methodArn"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, fmt.Errorf("webchat socket: not an API Gateway event: %w", err)
	}
	if probe.MethodArn != "" {
		var req events.APIGatewayCustomAuthorizerRequestTypeRequest
		if err := json.Unmarshal(raw, &req); err != nil {
			return nil, err
		}
		return s.Authorize(ctx, req)
	}
	var req events.APIGatewayWebsocketProxyRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return nil, err
	}
	return s.Route(ctx, req)
}

// ErrUnauthorized is the authorizer's refusal: API Gateway answers the
// socket's opening 401.
var ErrUnauthorized = errors.New("Unauthorized")

// Authorize checks the visitor token (?token=) and the page's origin for
// the token's site; the visitor and site go to the routes in the context.
// A bad token is 401, an origin the site does not allow 403 (an explicit
// deny).
func (s *Socket) Authorize(ctx context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	c, err := s.Signer.Verify(req.QueryStringParameters["token"])
	if err != nil {
		s.log().LogAttrs(ctx, slog.LevelInfo, "chat.connect", slog.String("outcome", "refused"), slog.String("reason", "token"))
		return events.APIGatewayCustomAuthorizerResponse{}, ErrUnauthorized
	}
	effect := "Allow"
	if !allowedOrigin(header(req.Headers, "Origin"), s.Self, s.Origins(c.Site)) {
		effect = "Deny"
		s.log().LogAttrs(ctx, slog.LevelInfo, "chat.connect", slog.String("outcome", "refused"), slog.String("reason", "origin"), slog.String("site", c.Site))
	}
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID: c.Subject,
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{Version: "2012-10-17", Statement: []events.IAMPolicyStatement{
			{Action: []string{"execute-api:Invoke"}, Effect: effect, Resource: []string{req.MethodArn}}}},
		Context: map[string]any{"visitor": c.Subject, "site": c.Site},
	}, nil
}

func header(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// Route serves $connect (the connection recorded for the authorizer's
// visitor), $disconnect (forgotten) and $default (the widget's pings and
// typing: they keep the connection from its 10-minute idle limit).
func (s *Socket) Route(ctx context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	rc := req.RequestContext
	ok := events.APIGatewayProxyResponse{StatusCode: http.StatusOK}
	switch rc.RouteKey {
	case "$connect":
		visitor := authorizerValue(rc.Authorizer, "visitor")
		if visitor == "" {
			return events.APIGatewayProxyResponse{StatusCode: http.StatusUnauthorized}, nil
		}
		if err := s.Conns.AddConnection(ctx, visitor, rc.ConnectionID, s.now()); err != nil {
			return events.APIGatewayProxyResponse{}, err // 500: the browser retries
		}
		s.log().LogAttrs(ctx, slog.LevelInfo, "chat.connect", slog.String("outcome", "connected"))
		return ok, nil
	case "$disconnect":
		if err := s.Conns.RemoveConnection(ctx, "", rc.ConnectionID); err != nil {
			return events.APIGatewayProxyResponse{}, err
		}
		s.log().LogAttrs(ctx, slog.LevelInfo, "chat.disconnect", slog.Int64("code", rc.DisconnectStatusCode))
		return ok, nil
	default:
		if len(req.Body) > MaxFrame {
			return events.APIGatewayProxyResponse{StatusCode: http.StatusRequestEntityTooLarge}, nil
		}
		return ok, nil
	}
}

func authorizerValue(a any, key string) string {
	m, _ := a.(map[string]any)
	v, _ := m[key].(string)
	return v
}

func (s *Socket) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Socket) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

// Management pushes frames through API Gateway's @connections API: POST
// $endpoint/@connections/{id}, SigV4-signed for execute-api. aws-sdk-go-v2's
// apigatewaymanagementapi client is not served to this build, so this is
// the SDK's own v4 signer around one plain request (TestManagementPush
// checks the signature as the service would, by signing again). A 410
// (GoneException) removes that connection, and only that one.
type Management struct {
	// Endpoint is https://{api-id}.execute-api.{region}.amazonaws.com/{stage}
	// (APIGW_MANAGEMENT_ENDPOINT, else CHAT_WS_URL with https).
	Endpoint    string
	Region      string
	Credentials aws.CredentialsProvider
	Client      *http.Client
	Conns       Connections
	Log         *slog.Logger
}

// FromEnv is the deployed functions' pusher: @connections at
// APIGW_MANAGEMENT_ENDPOINT, else CHAT_WS_URL's https form, signed with
// the function's own credentials; nil when neither is set.
func FromEnv(getenv func(string) string, awsCfg aws.Config, conns Connections, client *http.Client, log *slog.Logger) Pusher {
	ep := getenv("APIGW_MANAGEMENT_ENDPOINT")
	if ep == "" {
		ep = ManagementEndpoint(getenv("CHAT_WS_URL"))
	}
	if ep == "" {
		return nil
	}
	return &Management{Endpoint: ep, Region: awsCfg.Region, Credentials: awsCfg.Credentials, Client: client, Conns: conns, Log: log}
}

// ManagementEndpoint is the @connections base of a WebSocket API's URL
// (wss://… → https://…).
func ManagementEndpoint(socketURL string) string {
	u, err := url.Parse(socketURL)
	if err != nil || u.Host == "" {
		return ""
	}
	u.Scheme = map[string]string{"ws": "http"}[u.Scheme]
	if u.Scheme == "" {
		u.Scheme = "https"
	}
	u.RawQuery = ""
	return strings.TrimSuffix(u.String(), "/")
}

// Push implements Pusher. It fails (for the job to be retried) only when
// a connection could not be reached for a reason of ours or API
// Gateway's (a 5xx, a 429, a network error) and none took the frame.
func (m *Management) Push(ctx context.Context, visitor string, frame []byte) (int, error) {
	ids, err := m.Conns.Connections(ctx, visitor)
	if err != nil {
		return 0, err
	}
	var errs []error
	n := 0
	for _, id := range ids {
		status, err := m.post(ctx, id, frame)
		switch {
		case err == nil && status/100 == 2:
			n++
		case err == nil && status == http.StatusGone:
			if err := m.Conns.RemoveConnection(ctx, visitor, id); err != nil {
				errs = append(errs, err)
			}
		case err == nil && status != http.StatusTooManyRequests && status < 500:
			// A 4xx of ours (403: the policy, 400): not retried, said.
			m.log().LogAttrs(ctx, slog.LevelError, "chat.push", slog.String("outcome", "refused"), slog.Int("status", status))
		default:
			if err == nil {
				err = fmt.Errorf("@connections answered %d", status)
			}
			errs = append(errs, err)
		}
	}
	if n == 0 && len(errs) > 0 {
		return 0, fmt.Errorf("webchat push: %w", errors.Join(errs...))
	}
	return n, nil
}

func (m *Management) post(ctx context.Context, id string, frame []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.Endpoint+"/@connections/"+url.PathEscape(id), bytes.NewReader(frame))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	creds, err := m.Credentials.Retrieve(ctx)
	if err != nil {
		return 0, fmt.Errorf("credentials: %w", err)
	}
	sum := sha256.Sum256(frame)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "execute-api", m.Region, time.Now()); err != nil {
		return 0, fmt.Errorf("sign: %w", err)
	}
	client := m.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	return resp.StatusCode, nil
}

func (m *Management) log() *slog.Logger {
	if m.Log == nil {
		return slog.Default()
	}
	return m.Log
}
