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

// JSONService calls one operation of an AWS JSON 1.1 API (SSM's
// GetParameters, EventBridge's PutEvents) by hand: a POST of the request
// with X-Amz-Target, signed with the SDK's own Signature V4 signer and
// credentials.
//
// It exists for the cold start: each SDK client's generated schemas cost
// every function that links it its package init (ssm 1.4 ms and 1.4 MB,
// eventbridge 0.4 ms and 0.3 MB, GODEBUG=inittrace=1) for a single
// operation. Each caller keeps the SDK's client as its reference in a
// differential test on moto (TestSSMParametersAgreeWithTheSDK,
// eventsout's TestEventBridgeAgreesWithTheSDK).
type JSONService struct {
	// Service is the signing name and the endpoint's host prefix ("ssm",
	// "events").
	Service string
	// Endpoint is the base URL (a local server's), else the region's.
	Endpoint    string
	Region      string
	Credentials aws.CredentialsProvider
	HTTP        *http.Client
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
	return "https://" + s.Service + "." + s.Region + "." + domain
}

// Call sends in (JSON-encoded) as target, e.g. "AmazonSSM.GetParameters",
// and decodes the answer into out. A throttle, a 5xx or a failed round
// trip is tried again twice (after 100 ms, then 400 ms) before it is the
// error; a refusal is an *APIError.
func (s *JSONService) Call(ctx context.Context, target string, in, out any) error {
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
		raw, retry, err := s.post(ctx, target, body)
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

func (s *JSONService) post(ctx context.Context, target string, body []byte) ([]byte, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint()+"/", bytes.NewReader(body))
	if err != nil {
		return nil, false, err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", target)
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
		// {"__type":"com.amazonaws...#AccessDeniedException","message":"…"}
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(raw, &e)
		code := e.Type[strings.LastIndexByte(e.Type, '#')+1:]
		retry := resp.StatusCode >= 500 || strings.Contains(code, "Throttl")
		return nil, retry, &APIError{Status: resp.StatusCode, Code: code, Message: e.Message}
	}
	return raw, false, nil
}
