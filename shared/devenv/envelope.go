package devenv

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"

	"github.com/aws/aws-lambda-go/events"
)

// TwilioEnvelope is the API Gateway HTTP API (payload 2.0) event a Twilio
// form POST to pathQuery becomes — header names lower-cased, the body
// base64-encoded — signed by sign (a func of token, URL and form: pass
// twilio.Sign) with TwilioAuthToken for PublicBaseURL, or with another token
// when forged. The tests that keep events/twilio in step build it.
func TwilioEnvelope(path, rawQuery, body string, forged bool, sign func(token, url string, form url.Values) string) (events.APIGatewayV2HTTPRequest, error) {
	form, err := url.ParseQuery(body)
	if err != nil {
		return events.APIGatewayV2HTTPRequest{}, err
	}
	full := PublicBaseURL + path
	if rawQuery != "" {
		full += "?" + rawQuery
	}
	token := TwilioAuthToken
	if forged {
		token = "not-the-auth-token"
	}
	return events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "$default", RawPath: path, RawQueryString: rawQuery,
		Headers: map[string]string{
			"content-type":               "application/x-www-form-urlencoded; charset=UTF-8",
			"content-length":             fmt.Sprint(len(body)),
			"host":                       "127.0.0.1:3000",
			"user-agent":                 "TwilioProxy/1.1",
			"accept":                     "*/*",
			"i-twilio-idempotency-token": "d50dc30c-5d0d-418d-92ea-12cd8fd05f09",
			"x-home-region":              "us1",
			"x-twilio-signature":         sign(token, full, form),
			"x-forwarded-proto":          "https",
		},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			AccountID: "123456789012", APIID: "aaaaaaaaaa", DomainName: "aaaaaaaaaa.execute-api.us-east-1.amazonaws.com",
			DomainPrefix: "aaaaaaaaaa", RequestID: "LV7fzho-PHcEJPw=", RouteKey: "$default", Stage: "$default",
			Time: "22/Nov/2026:09:00:00 +0000", TimeEpoch: 1795338000000,
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: http.MethodPost, Path: path, Protocol: "HTTP/1.1", SourceIP: "44.202.134.240", UserAgent: "TwilioProxy/1.1",
			},
		},
		Body: base64.StdEncoding.EncodeToString([]byte(body)), IsBase64Encoded: true,
	}, nil
}
