package config

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// JSONService calls one operation of an AWS JSON API by hand (SSM's
// GetParameters and EventBridge's PutEvents, JSON 1.1; SES v2's SendEmail,
// REST-JSON): a POST of the request, signed with the SDK's own Signature V4
// signer and credentials.
//
// It exists for the cold start: each SDK client's generated schemas cost
// every function that links it its package init (ssm 1.4 ms and 1.4 MB,
// eventbridge 0.4 ms and 0.3 MB, sesv2 0.7 ms and 0.6 MB,
// GODEBUG=inittrace=1) for a single operation. Each caller keeps the SDK's
// client as its reference in a differential test
// (TestSSMParametersAgreeWithTheSDK, eventsout's
// TestEventBridgeAgreesWithTheSDK, sesmail's TestSendEmailAgreesWithTheSDK).
type JSONService struct {
	// Service is the signing name and, unless Host is set, the endpoint's
	// host prefix ("ssm", "events").
	Service string
	// Host is the endpoint's host prefix when it is not Service (SES v2:
	// "email", signed as "ses").
	Host string
	// Endpoint is the base URL (a local server's), else the region's.
	Endpoint    string
	Region      string
	Credentials aws.CredentialsProvider
	HTTP        *http.Client
}

// NewJSONService is service's caller for cfg's region and credentials, on
// endpoint when set, with a 10 s timeout per round trip.
func NewJSONService(cfg aws.Config, service, endpoint string) JSONService {
	return JSONService{Service: service, Endpoint: endpoint, Region: cfg.Region, Credentials: cfg.Credentials,
		HTTP: &http.Client{Timeout: 10 * time.Second}}
}

// APIError is a refusal: the HTTP status and the error's code and message
// as the service named them (never a request's values).
type APIError struct {
	Status        int
	Code, Message string
}

func (e *APIError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

func (s *JSONService) endpoint() string {
	if s.Endpoint != "" {
		return strings.TrimSuffix(s.Endpoint, "/")
	}
	domain := "amazonaws.com"
	if strings.HasPrefix(s.Region, "cn-") {
		domain = "amazonaws.com.cn"
	}
	host := s.Host
	if host == "" {
		host = s.Service
	}
	return "https://" + host + "." + s.Region + "." + domain
}

// Call sends in (JSON-encoded) as target, e.g. "AmazonSSM.GetParameters",
// and decodes the answer into out. A throttle, a 5xx or a failed round
// trip is tried again twice (after 100 ms, then 400 ms) before it is the
// error; a refusal is an *APIError.
func (s *JSONService) Call(ctx context.Context, target string, in, out any) error {
	return s.send(ctx, "/", target, in, out)
}

// Post is Call for a REST-JSON API (SES v2): in is POSTed to path as
// application/json, with no target.
func (s *JSONService) Post(ctx context.Context, path string, in, out any) error {
	return s.send(ctx, path, "", in, out)
}

func (s *JSONService) send(ctx context.Context, path, target string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	var lastErr error
	for _, wait := range []time.Duration{0, 100 * time.Millisecond, 400 * time.Millisecond} {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		raw, retry, err := s.post(ctx, path, target, body)
		if err == nil {
			if err := json.Unmarshal(raw, out); err != nil {
				return fmt.Errorf("the answer is not JSON: %w", err)
			}
			return nil
		}
		if !retry {
			return err
		}
		lastErr = err
	}
	return lastErr
}

func (s *JSONService) post(ctx context.Context, path, target string, body []byte) ([]byte, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint()+path, bytes.NewReader(body))
	if err != nil {
		return nil, false, err
	}
	if target != "" {
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", target)
	} else {
		req.Header.Set("Content-Type", "application/json")
	}
	if s.Credentials == nil {
		return nil, false, fmt.Errorf("no credentials")
	}
	creds, err := s.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), s.Service, s.Region, time.Now()); err != nil {
		return nil, false, fmt.Errorf("sign: %w", err)
	}
	client := s.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, true, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, true, err
	}
	if resp.StatusCode != http.StatusOK {
		// JSON 1.1: {"__type":"com.amazonaws...#AccessDeniedException",
		// "message":"…"}; REST-JSON: the code in X-Amzn-ErrorType
		// ("MessageRejected:http://…"), {"message":"…"}.
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(raw, &e)
		code := e.Type
		if h := resp.Header.Get("X-Amzn-ErrorType"); h != "" {
			code = h
		}
		code, _, _ = strings.Cut(code[strings.LastIndexByte(code, '#')+1:], ":")
		retry := resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || strings.Contains(code, "Throttl") || code == "TooManyRequestsException"
		return nil, retry, &APIError{Status: resp.StatusCode, Code: code, Message: e.Message}
	}
	return raw, false, nil
}
