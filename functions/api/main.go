// Command api is the Lambda function behind GET /api/*: the agents' inbox,
// conversation timelines and contacts. Deployed, API Gateway's JWT
// authorizer checks the caller (API_AUTH=jwt); otherwise the function
// requires AGENT_API_TOKEN as the bearer token itself.
package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/switchboard/switchboard/shared/api"
	"github.com/switchboard/switchboard/shared/config"
	"github.com/switchboard/switchboard/shared/store"
)

func main() {
	log := lambdacontext.NewLogger()
	h, err := setup(context.Background(), log)
	if err != nil {
		log.Error("start", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(httpadapter.NewV2(h).ProxyWithContext)
}

func setup(ctx context.Context, log *slog.Logger) (http.Handler, error) {
	var cfg config.Common
	if err := config.Load(&cfg); err != nil {
		return nil, err
	}
	awsCfg, err := config.AWS(ctx, cfg)
	if err != nil {
		return nil, err
	}
	token := ""
	if os.Getenv("API_AUTH") != "jwt" {
		if token, err = (config.Params{SSM: config.SSM(awsCfg, cfg)}).Get(ctx, "AGENT_API_TOKEN", true); err != nil {
			return nil, err
		}
	}
	mux := http.NewServeMux()
	(&api.Handler{Store: store.New(config.DynamoDB(awsCfg, cfg), cfg.TableName), Token: token, Log: log}).Register(mux)
	return mux, nil
}
