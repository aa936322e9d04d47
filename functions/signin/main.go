// Command signin is the agent console's Cognito callback, on a Lambda
// function URL of its own: Cognito's hosted UI sends the agent here with a
// code, and this sends them on to the console (PUBLIC_BASE_URL + /app/)
// with it (console.Bounce says why the callback is not the console's own
// URL). It reads one parameter, once, and nothing else.
package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"github.com/switchboard/switchboard/shared/config"
	"github.com/switchboard/switchboard/shared/console"
	"github.com/switchboard/switchboard/shared/launch"
)

func main() { launch.HTTP(setup) }

func setup(ctx context.Context, _ *slog.Logger) (http.Handler, error) {
	c := config.Common{AWSRegion: os.Getenv("AWS_REGION"), SSMEndpoint: os.Getenv("SSM_ENDPOINT")} // no table
	awsCfg, err := config.AWS(ctx, c)
	if err != nil {
		return nil, err
	}
	base, err := config.NewParams(config.SSM(awsCfg, c)).Get(ctx, "PUBLIC_BASE_URL", true)
	if err != nil {
		return nil, err
	}
	return console.Bounce(strings.TrimRight(base, "/") + "/app/"), nil
}
