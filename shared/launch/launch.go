// Package launch is what every function's main calls: it makes the Lambda
// logger (slog, JSON in Lambda, with the request id, and CloudWatch metrics
// in the event lines: shared/metrics), runs the function's
// setup, and stops start-up with the error, logged once, if setup fails —
// so a missing setting names itself in the function's first log line.
package launch

import (
	"context"
	"log/slog"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/switchboard/switchboard/shared/metrics"
)

// HTTP starts a function behind API Gateway's HTTP API (payload 2.0) whose
// routes setup returns as a plain http.Handler, the one the dev server
// mounts too.
func HTTP(setup func(context.Context, *slog.Logger) (http.Handler, error)) {
	h := must(setup)
	lambda.Start(httpadapter.NewV2(h).ProxyWithContext)
}

// Event starts a function whose setup returns its event handler (a stream
// or queue batch handler, as lambda.Start takes it).
func Event[H any](setup func(context.Context, *slog.Logger) (H, error)) {
	lambda.Start(must(setup))
}

func must[H any](setup func(context.Context, *slog.Logger) (H, error)) H {
	log := slog.New(metrics.New(lambdacontext.NewLogHandler()))
	h, err := setup(context.Background(), log)
	if err != nil {
		log.Error("start", "error", err.Error())
		os.Exit(1)
	}
	return h
}
