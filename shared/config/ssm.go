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

// SSMParameters reads SSM parameters with the one call a function makes at
// a cold start, GetParameters (decrypted), signed with the SDK's own
// Signature V4 signer and its credentials.
//
// It is hand-written, not the SDK's ssm client, for the cold start: that
// client's generated schemas cost every function about 1.4 ms and 1.4 MB
// (7 900 allocations) at init (GODEBUG=inittrace=1), for one request. The
// SDK's client stays the reference: TestSSMParametersAgreeWithTheSDK reads
// the same parameters both ways on moto's SSM.
type SSMParameters struct {
	// Endpoint is SSM's base URL (SSM_ENDPOINT), else the region's.
	Endpoint    string
	Region      string
	Credentials aws.CredentialsProvider
	HTTP        *http.Client
}

// NewSSMParameters is the reader for cfg's region and credentials, on
// endpoint when set.
func NewSSMParameters(cfg aws.Config, endpoint string) *SSMParameters {
	return &SSMParameters{Endpoint: endpoint, Region: cfg.Region, Credentials: cfg.Credentials, HTTP: &http.Client{Timeout: 10 * time.Second}}
}

func (s *SSMParameters) endpoint() string {
	if s.Endpoint != "" {
		return strings.TrimSuffix(s.Endpoint, "/")
	}
	domain := "amazonaws.com"
	if strings.HasPrefix(s.Region, "cn-") {
		domain = "amazonaws.com.cn"
	}
	return "https://ssm." + s.Region + "." + domain
}

// GetParameters implements ParameterAPI: the values of names (at most 10),
// decrypted, and the names SSM says do not exist. A throttle or a 5xx is
// tried again twice (100 ms, then 400 ms) before it is an error.
func (s *SSMParameters) GetParameters(ctx context.Context, names []string) (map[string]string, []string, error) {
	body, err := json.Marshal(struct {
		Names          []string
		WithDecryption bool
	}{names, true})
	if err != nil {
		return nil, nil, err
	}
	var lastErr error
	for _, wait := range []time.Duration{0, 100 * time.Millisecond, 400 * time.Millisecond} {
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-time.After(wait):
		}
		values, invalid, retry, err := s.call(ctx, body)
		if err == nil || !retry {
			return values, invalid, err
		}
		lastErr = err
	}
	return nil, nil, lastErr
}

func (s *SSMParameters) call(ctx context.Context, body []byte) (map[string]string, []string, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint()+"/", bytes.NewReader(body))
	if err != nil {
		return nil, nil, false, err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AmazonSSM.GetParameters")
	if s.Credentials == nil {
		return nil, nil, false, fmt.Errorf("ssm: no credentials")
	}
	creds, err := s.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, nil, false, fmt.Errorf("ssm credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "ssm", s.Region, time.Now()); err != nil {
		return nil, nil, false, fmt.Errorf("ssm sign: %w", err)
	}
	client := s.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, true, fmt.Errorf("ssm GetParameters: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, nil, true, fmt.Errorf("ssm GetParameters: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		// {"__type":"com.amazonaws...#AccessDeniedException","message":"…"}:
		// the type and message name the parameter, never its value.
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(raw, &e)
		code := e.Type[strings.LastIndexByte(e.Type, '#')+1:]
		retry := resp.StatusCode >= 500 || strings.Contains(code, "Throttl")
		return nil, nil, retry, fmt.Errorf("ssm GetParameters: %d %s: %s", resp.StatusCode, code, e.Message)
	}
	var out struct {
		Parameters []struct {
			Name, Value string
		}
		InvalidParameters []string
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, nil, false, fmt.Errorf("ssm GetParameters: the answer is not JSON: %w", err)
	}
	values := make(map[string]string, len(out.Parameters))
	for _, p := range out.Parameters {
		values[p.Name] = p.Value
	}
	return values, out.InvalidParameters, false, nil
}
