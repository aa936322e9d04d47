// Command send posts sample events (API Gateway HTTP API envelopes, as in
// events/) to a running dev server, so a newcomer can see a webhook land:
//
//	go run ./scripts/send events/twilio/sms-inbound.json
//	go run ./scripts/send -copies 5 events/twilio/sms-inbound.json   # concurrent redeliveries
//	go run ./scripts/send -sign events/twilio/whatsapp-inbound.json  # re-sign with TWILIO_AUTH_TOKEN
//
// The samples are signed for the dev server's defaults (shared/devenv). With
// -sign the Twilio signature is computed afresh for PUBLIC_BASE_URL and
// TWILIO_AUTH_TOKEN (or their local defaults).
package main

import (
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/events"

	"github.com/switchboard/switchboard/shared/devenv"
	"github.com/switchboard/switchboard/shared/twilio"
)

func main() {
	target := flag.String("target", "", "server to post to (default: PUBLIC_BASE_URL or "+devenv.PublicBaseURL+")")
	sign := flag.Bool("sign", false, "re-sign Twilio samples with TWILIO_AUTH_TOKEN for PUBLIC_BASE_URL")
	copies := flag.Int("copies", 1, "post each event this many times at once (a provider's redeliveries)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: go run ./scripts/send [-target URL] [-sign] [-copies N] events/…json …")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	base := getenv("PUBLIC_BASE_URL", devenv.PublicBaseURL)
	if *target == "" {
		*target = base
	}
	failed := false
	for _, path := range flag.Args() {
		if err := send(path, strings.TrimRight(*target, "/"), base, *sign, *copies); err != nil {
			fmt.Fprintf(os.Stderr, "send %s: %v\n", path, err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

func getenv(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func send(path, target, base string, sign bool, copies int) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		return fmt.Errorf("not an API Gateway HTTP API event: %w", err)
	}
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return fmt.Errorf("body: %w", err)
		}
	}
	pathQuery := ev.RawPath
	if ev.RawQueryString != "" {
		pathQuery += "?" + ev.RawQueryString
	}
	headers := http.Header{}
	for k, v := range ev.Headers {
		switch strings.ToLower(k) {
		case "host", "content-length":
		default:
			headers.Set(k, v)
		}
	}
	if sign && headers.Get("X-Twilio-Signature") != "" {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return fmt.Errorf("form body: %w", err)
		}
		token := getenv("TWILIO_AUTH_TOKEN", devenv.TwilioAuthToken)
		headers.Set("X-Twilio-Signature", twilio.Sign(token, strings.TrimRight(base, "/")+pathQuery, form))
	}
	method := ev.RequestContext.HTTP.Method
	if method == "" {
		method = http.MethodPost
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range copies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, err := http.NewRequest(method, target+pathQuery, strings.NewReader(string(body)))
			if err != nil {
				mu.Lock()
				firstErr = err
				mu.Unlock()
				return
			}
			req.Header = headers.Clone()
			resp, err := http.DefaultClient.Do(req)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				firstErr = err
				return
			}
			defer resp.Body.Close()
			answer, _ := io.ReadAll(resp.Body)
			fmt.Printf("%s %s → %s\n%s\n", method, pathQuery, resp.Status, strings.TrimSpace(string(answer)))
		}()
	}
	wg.Wait()
	return firstErr
}
