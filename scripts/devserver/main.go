// Command devserver serves every built Switchboard route on one local port
// with the very handlers the Lambda functions mount:
//
//	go run ./scripts/devserver
//
// Defaults (shared/devenv) need no setup: the in-memory store, its change
// hook standing in for the DynamoDB stream, and local-only tokens. STORE=dynamodb
// uses DynamoDB Local instead (DYNAMODB_ENDPOINT, from
// scripts/local-services.sh start), creating the table and polling its stream.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/switchboard/switchboard/shared/api"
	"github.com/switchboard/switchboard/shared/config"
	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/devenv"
	"github.com/switchboard/switchboard/shared/memstore"
	"github.com/switchboard/switchboard/shared/store"
	"github.com/switchboard/switchboard/shared/stream"
	"github.com/switchboard/switchboard/shared/twilio"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, log, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "devserver:", err)
		os.Exit(1)
	}
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func run(ctx context.Context, log *slog.Logger, out io.Writer) error {
	port := env("PORT", "3000")
	base := env("PUBLIC_BASE_URL", devenv.PublicBaseURL)
	twilioToken := env("TWILIO_AUTH_TOKEN", devenv.TwilioAuthToken)
	agentToken := env("AGENT_API_TOKEN", devenv.AgentAPIToken)
	svc := &conversation.Service{Team: env("DEFAULT_TEAM", "support")}

	switch q := env("QUEUE", "memory"); q {
	case "memory":
	default:
		return fmt.Errorf("QUEUE=%s: only the in-process queue exists so far (agent notifications are not built yet)", q)
	}
	var storeName string
	switch s := env("STORE", "memory"); s {
	case "memory":
		svc.Store = memstore.New(projector(ctx, svc, log))
		storeName = "in-memory store"
	case "dynamodb":
		st, err := dynamoStore(ctx, svc, log)
		if err != nil {
			return err
		}
		svc.Store = st
		storeName = "DynamoDB at " + os.Getenv("DYNAMODB_ENDPOINT")
	default:
		return fmt.Errorf("STORE=%s: want memory or dynamodb", s)
	}

	wh, err := twilio.NewHandler(twilio.Config{
		Verifier: twilio.NewVerifier(twilioToken), Service: svc,
		Normalizer:    conversation.Normalizer{DefaultRegion: env("PHONE_DEFAULT_REGION", "US")},
		PublicBaseURL: base, AckText: env("ACK_TEXT", "Thanks for your message! An agent will reply here shortly."), Log: log,
	})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	wh.Register(mux)
	(&api.Handler{Store: svc.Store, Token: agentToken, Log: log}).Register(mux)

	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, `Switchboard dev server on http://%s (%s)

  POST %s        Twilio SMS, MMS, WhatsApp (answers TwiML)
  POST %s Twilio delivery status
  GET  /api/conversations?status=open   agents' inbox
  GET  /api/conversations/{id}          a timeline
  GET  /api/contacts/{id}               a contact

Webhooks are verified against PUBLIC_BASE_URL=%s with TWILIO_AUTH_TOKEN%s.
Post a signed sample, then read the inbox:
  go run ./scripts/send events/twilio/sms-inbound.json
  curl -H 'Authorization: Bearer %s' http://127.0.0.1:%s/api/conversations?status=open
`, ln.Addr(), storeName, twilio.MessagingPath, twilio.StatusPath, base, defaultNote(twilioToken), agentToken, port)

	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func defaultNote(token string) string {
	if token == devenv.TwilioAuthToken {
		return " (the local default, which signed events/)"
	}
	return " (from the environment: sign with go run ./scripts/send -sign)"
}

// projector applies stored messages in the background, in order, as the
// stream and the fan-out function do in AWS.
func projector(ctx context.Context, svc *conversation.Service, log *slog.Logger) func(conversation.Message) {
	ch := make(chan conversation.Message, 1024)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case m := <-ch:
				if _, err := svc.Project(ctx, m); err != nil {
					log.Error("stream.project", "error", err.Error())
				}
			}
		}
	}()
	return func(m conversation.Message) { ch <- m }
}

// dynamoStore opens (creating if needed) the dev table in DynamoDB Local and
// polls its stream into the same projection the fan-out function runs.
func dynamoStore(ctx context.Context, svc *conversation.Service, log *slog.Logger) (*store.Store, error) {
	ep := os.Getenv("DYNAMODB_ENDPOINT")
	if ep == "" {
		return nil, errors.New("STORE=dynamodb needs DYNAMODB_ENDPOINT: run scripts/local-services.sh start and source .local/services.env")
	}
	c := config.Common{TableName: env("TABLE_NAME", devenv.TableName), AWSRegion: env("AWS_REGION", "us-east-1"), DynamoDBEndpoint: ep}
	awsCfg, err := config.AWS(ctx, c)
	if err != nil {
		return nil, err
	}
	db := config.DynamoDB(awsCfg, c)
	desc, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &c.TableName})
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		if err := store.CreateTable(ctx, db, c.TableName); err != nil {
			return nil, err
		}
		desc, err = db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &c.TableName})
	}
	if err != nil {
		return nil, fmt.Errorf("describe table %s: %w", c.TableName, err)
	}
	st := store.New(db, c.TableName)
	h := &stream.Handler{Service: svc, Log: log}
	p := &stream.Poller{
		Streams:   dynamodbstreams.NewFromConfig(awsCfg, func(o *dynamodbstreams.Options) { o.BaseEndpoint = aws.String(ep) }),
		StreamARN: aws.ToString(desc.Table.LatestStreamArn), Handle: h.Handle,
		OnError: func(err error) { log.Warn("stream.poll", "error", err.Error()) },
	}
	go func() { _ = p.Run(ctx) }()
	return st, nil
}
