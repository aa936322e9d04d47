package devenv

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// Request turns an API Gateway HTTP API event (as in events/) into the HTTP
// request the provider made, aimed at target ("http://127.0.0.1:3000"). Host
// and Content-Length are left to the client.
func Request(envelope []byte, target string) (*http.Request, error) {
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(envelope, &ev); err != nil {
		return nil, fmt.Errorf("not an API Gateway HTTP API event: %w", err)
	}
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return nil, fmt.Errorf("body: %w", err)
		}
	}
	u := strings.TrimRight(target, "/") + ev.RawPath
	if ev.RawQueryString != "" {
		u += "?" + ev.RawQueryString
	}
	method := ev.RequestContext.HTTP.Method
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequest(method, u, strings.NewReader(string(body)))
	if err != nil {
		return nil, err
	}
	for k, v := range ev.Headers {
		switch strings.ToLower(k) {
		case "host", "content-length":
		default:
			req.Header.Set(k, v)
		}
	}
	return req, nil
}
