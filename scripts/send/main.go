// Command send posts sample events (API Gateway HTTP API envelopes, as in
// events/) to a running dev server, so a newcomer can see a webhook land:
//
//	go run ./scripts/send events/twilio/sms-inbound.json
//	go run ./scripts/send -copies 5 events/twilio/sms-inbound.json   # concurrent redeliveries
//	go run ./scripts/send -sign events/twilio/whatsapp-inbound.json  # re-sign with TWILIO_AUTH_TOKEN
//
// The samples are signed for the dev server's defaults (shared/devenv). With
// -sign each sample is signed afresh: Twilio's for PUBLIC_BASE_URL and
// TWILIO_AUTH_TOKEN, Meta's with META_APP_SECRET, Telegram's secret token
// from TELEGRAM_SECRET_TOKEN (each, when unset, its local default).
//
// It exits 1 when any answer is not 2xx (a forged sample's 403 included), so
// a script can tell.
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/switchboard/switchboard/shared/devenv"
	"github.com/switchboard/switchboard/shared/line"
	"github.com/switchboard/switchboard/shared/meta"
	"github.com/switchboard/switchboard/shared/telegram"
	"github.com/switchboard/switchboard/shared/twilio"
	"github.com/switchboard/switchboard/shared/wechat"
	"github.com/switchboard/switchboard/shared/xdm"
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
		if err := send(path, *target, base, *sign, *copies); err != nil {
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
	envelope, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	errs := make([]error, copies)
	var mu sync.Mutex
	for i := range copies {
		req, err := devenv.Request(envelope, target)
		if err != nil {
			return err
		}
		if sign {
			if err := resign(req, base); err != nil {
				return err
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				errs[i] = err
				return
			}
			defer resp.Body.Close()
			answer, _ := io.ReadAll(resp.Body)
			mu.Lock()
			defer mu.Unlock()
			fmt.Printf("%s %s → %s\n%s\n", req.Method, req.URL.RequestURI(), resp.Status, strings.TrimSpace(string(answer)))
			if resp.StatusCode < 200 || resp.StatusCode > 299 {
				errs[i] = fmt.Errorf("answered %s", resp.Status)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// resign replaces the sample's signature, by the provider its headers name.
func resign(req *http.Request, base string) error {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return err
	}
	req.Body = io.NopCloser(strings.NewReader(string(body)))
	switch {
	case req.Header.Get("X-Twilio-Signature") != "":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return fmt.Errorf("form body: %w", err)
		}
		token := getenv("TWILIO_AUTH_TOKEN", devenv.TwilioAuthToken)
		req.Header.Set("X-Twilio-Signature", twilio.Sign(token, strings.TrimRight(base, "/")+req.URL.RequestURI(), form))
	case req.Header.Get("X-Hub-Signature-256") != "":
		req.Header.Set("X-Hub-Signature-256", meta.Sign(getenv("META_APP_SECRET", devenv.MetaAppSecret), body))
	case req.URL.Path == wechat.Path && req.URL.Query().Get("signature") != "":
		// Signed in the query, with a timestamp WeChat's replay window holds to.
		req.URL.RawQuery = wechat.SignQuery(req.URL.Query(), getenv("WECHAT_TOKEN", devenv.WeChatToken), time.Now()).Encode()
	case req.Header.Get(xdm.SignatureHeader) != "":
		req.Header.Set(xdm.SignatureHeader, xdm.Sign(getenv("X_CONSUMER_SECRET", devenv.XConsumerSecret), body))
	case req.Header.Get(line.SignatureHeader) != "":
		req.Header.Set(line.SignatureHeader, line.Sign(getenv("LINE_CHANNEL_SECRET", devenv.LineChannelSecret), body))
	case req.Header.Get(telegram.SecretHeader) != "":
		req.Header.Set(telegram.SecretHeader, getenv("TELEGRAM_SECRET_TOKEN", devenv.TelegramSecretToken))
	}
	return nil
}
