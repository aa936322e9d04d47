package config

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// SSMParameters reads SSM parameters with the one call a function makes at
// a cold start, GetParameters (decrypted), by hand (JSONService).
//
// It is not the SDK's ssm client, for the cold start: that client's
// generated schemas cost every function about 1.4 ms and 1.4 MB (7 900
// allocations) at init (GODEBUG=inittrace=1), for one request. The SDK's
// client stays the reference: TestSSMParametersAgreeWithTheSDK reads the
// same parameters both ways on moto's SSM.
type SSMParameters struct{ JSONService }

// NewSSMParameters is the reader for cfg's region and credentials, on
// endpoint (SSM_ENDPOINT) when set.
func NewSSMParameters(cfg aws.Config, endpoint string) *SSMParameters {
	return &SSMParameters{NewJSONService(cfg, "ssm", endpoint)}
}

// GetParameters implements ParameterAPI: the values of names (at most 10),
// decrypted, and the names SSM says do not exist. A throttle or a 5xx is
// tried again twice (100 ms, then 400 ms) before it is an error.
func (s *SSMParameters) GetParameters(ctx context.Context, names []string) (map[string]string, []string, error) {
	in := struct {
		Names          []string
		WithDecryption bool
	}{names, true}
	var out struct {
		Parameters []struct {
			Name, Value string
		}
		InvalidParameters []string
	}
	if err := s.Call(ctx, "AmazonSSM.GetParameters", in, &out); err != nil {
		return nil, nil, fmt.Errorf("ssm GetParameters: %w", err)
	}
	values := make(map[string]string, len(out.Parameters))
	for _, p := range out.Parameters {
		values[p.Name] = p.Value
	}
	return values, out.InvalidParameters, nil
}
