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

	"github.com/switchboard/switchboard/shared/api"
	"github.com/switchboard/switchboard/shared/config"
	"github.com/switchboard/switchboard/shared/launch"
	"github.com/switchboard/switchboard/shared/store"
)

func main() { launch.HTTP(setup) }

func setup(ctx context.Context, log *slog.Logger) (http.Handler, error) {
	var cfg config.Common
	awsCfg, params, err := config.Setup(ctx, &cfg, &cfg)
	if err != nil {
		return nil, err
	}
	token := ""
	if os.Getenv("API_AUTH") != "jwt" {
		if token, err = params.Get(ctx, "AGENT_API_TOKEN", true); err != nil {
			return nil, err
		}
	}
	mux := http.NewServeMux()
	(&api.Handler{Store: store.New(config.DynamoDB(awsCfg, cfg), cfg.TableName), Token: token, Log: log}).Register(mux)
	return mux, nil
}
