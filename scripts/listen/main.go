// Command listen is a local endpoint for agent notifications: it verifies
// each one's Standard Webhooks signature and prints it.
//
//	go run ./scripts/listen                          # on 127.0.0.1:9000
//	NOTIFY_WEBHOOK_URL=http://127.0.0.1:9000 go run ./scripts/devserver
//
// It checks signatures with NOTIFY_WEBHOOK_SECRET, or the dev server's
// default secret.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/switchboard/switchboard/shared/devenv"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9000", "address to listen on")
	flag.Parse()
	secret := os.Getenv("NOTIFY_WEBHOOK_SECRET")
	if secret == "" {
		secret = devenv.NotifyWebhookSecret
	}
	verifier, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		log.Fatalf("NOTIFY_WEBHOOK_SECRET: %v", err)
	}
	http.HandleFunc("POST /", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		status := "signature ok"
		if err := verifier.Verify(body, r.Header); err != nil {
			status = "SIGNATURE INVALID: " + err.Error()
			w.WriteHeader(http.StatusUnauthorized)
		}
		fmt.Printf("%s  %s\n%s\n\n", r.Header.Get("webhook-id"), status, body)
	})
	fmt.Printf("listening on http://%s for agent notifications\n", *addr)
	log.Fatal(http.ListenAndServe(*addr, nil))
}
