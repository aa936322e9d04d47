// Command replay re-submits archived raw events through the same ingest the
// functions run, idempotently: anything stored before is reported as a
// duplicate and changes nothing, so replaying a whole range is safe.
//
//	go run ./scripts/replay s3://<EmailBucketName>/inbound/          # every raw email under a prefix
//	go run ./scripts/replay s3://<bucket>/inbound/0100019a…          # one
//	go run ./scripts/replay message.eml                              # a raw email from a file
//	go run ./scripts/replay -target <ApiUrl> events/twilio/sms.json  # an archived webhook envelope
//
// A raw email goes through shared/email's Intake on TABLE_NAME (with
// ROUTING_CONFIG(_PARAM|_FILE) for the support address), exactly as the
// email function would; set AWS_REGION, and DYNAMODB_ENDPOINT/S3_ENDPOINT
// for local servers. A file or object holding an API Gateway envelope (JSON)
// is posted as the provider sent it to -target, the deployed API: the same
// function verifies its signature (still valid: it is the provider's) and
// stores it once. -dry-run lists what would be replayed.
//
// It prints one line per event — stored, duplicate, malformed (recorded as a
// failure), or error — and exits 1 if any failed.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/switchboard/switchboard/shared/config"
	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/devenv"
	"github.com/switchboard/switchboard/shared/email"
	"github.com/switchboard/switchboard/shared/routing"
	"github.com/switchboard/switchboard/shared/store"
)

func main() {
	target := flag.String("target", "", "API base URL that webhook envelopes are posted to (the stack's ApiUrl)")
	dry := flag.Bool("dry-run", false, "list what would be replayed, change nothing")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: replay [-dry-run] [-target URL] s3://bucket/prefix | file ...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	r := &replayer{target: *target, dry: *dry, out: os.Stdout}
	if err := r.run(context.Background(), flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "replay:", err)
		os.Exit(1)
	}
}

type replayer struct {
	target string
	dry    bool
	out    io.Writer
	intake *email.Intake
	s3     *s3.Client
	client *http.Client
	failed int
}

func (r *replayer) run(ctx context.Context, args []string) error {
	for _, arg := range args {
		var err error
		if strings.HasPrefix(arg, "s3://") {
			err = r.bucket(ctx, arg)
		} else {
			var b []byte
			if b, err = os.ReadFile(arg); err == nil {
				err = r.one(ctx, arg, b, time.Now())
			}
		}
		if err != nil {
			return err
		}
	}
	if r.failed > 0 {
		return fmt.Errorf("%d events failed", r.failed)
	}
	return nil
}

// bucket replays every object under an s3://bucket/prefix.
func (r *replayer) bucket(ctx context.Context, arg string) error {
	bucket, prefix, _ := strings.Cut(strings.TrimPrefix(arg, "s3://"), "/")
	if err := r.setup(ctx); err != nil {
		return err
	}
	p := s3.NewListObjectsV2Paginator(r.s3, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list %s: %w", arg, err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			out, err := r.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
			if err != nil {
				return fmt.Errorf("get s3://%s/%s: %w", bucket, key, err)
			}
			b, err := io.ReadAll(io.LimitReader(out.Body, email.MaxSize+1))
			out.Body.Close()
			if err != nil {
				return fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
			}
			if err := r.one(ctx, "s3://"+bucket+"/"+key, b, aws.ToTime(o.LastModified)); err != nil {
				return err
			}
		}
	}
	return nil
}

// one replays one archived event: an API Gateway envelope or a raw email.
func (r *replayer) one(ctx context.Context, source string, b []byte, at time.Time) error {
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		return r.webhook(ctx, source, b)
	}
	if r.dry {
		fmt.Fprintf(r.out, "%s: raw email, %d bytes (dry run)\n", source, len(b))
		return nil
	}
	if err := r.setup(ctx); err != nil {
		return err
	}
	res, err := r.intake.Ingest(ctx, bytes.NewReader(b), source, at)
	switch {
	case errors.Is(err, email.ErrMalformed):
		fmt.Fprintf(r.out, "%s: malformed, recorded as a failure: %v\n", source, err)
	case err != nil:
		r.failed++
		fmt.Fprintf(r.out, "%s: error: %v\n", source, err)
	case res.Duplicate:
		fmt.Fprintf(r.out, "%s: duplicate, unchanged (conversation %s)\n", source, res.Message.ConversationID)
	default:
		fmt.Fprintf(r.out, "%s: stored on conversation %s\n", source, res.Message.ConversationID)
	}
	return nil
}

func (r *replayer) webhook(ctx context.Context, source string, envelope []byte) error {
	if r.target == "" {
		return fmt.Errorf("%s is a webhook envelope: give -target (the stack's ApiUrl)", source)
	}
	req, err := devenv.Request(envelope, r.target)
	if err != nil {
		return fmt.Errorf("%s: %w", source, err)
	}
	if r.dry {
		fmt.Fprintf(r.out, "%s: %s %s (dry run)\n", source, req.Method, req.URL.Redacted())
		return nil
	}
	if r.client == nil {
		r.client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := r.client.Do(req.WithContext(ctx))
	if err != nil {
		r.failed++
		fmt.Fprintf(r.out, "%s: error: %v\n", source, err)
		return nil
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		r.failed++
	}
	fmt.Fprintf(r.out, "%s: %s %s → %s\n", source, req.Method, req.URL.Path, resp.Status)
	return nil
}

// setup builds the email intake and S3 client as the email function does.
func (r *replayer) setup(ctx context.Context) error {
	if r.intake != nil {
		return nil
	}
	var cfg config.Common
	awsCfg, params, err := config.Setup(ctx, &cfg, &cfg)
	if err != nil {
		return err
	}
	rt, err := routing.Load(ctx, cfg.RoutingConfigFile, params)
	if err != nil {
		return err
	}
	svc := &conversation.Service{Store: store.New(config.DynamoDB(awsCfg, cfg), cfg.TableName), Team: rt.DefaultTeam, ReopenWindow: cfg.ReopenWindow}
	r.intake = &email.Intake{Service: svc, Normalizer: conversation.Normalizer{DefaultRegion: cfg.PhoneRegion},
		Address: rt.Email.Address, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	r.s3 = config.S3(awsCfg, cfg)
	return nil
}
