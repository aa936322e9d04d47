// Command api is the Lambda function behind /api/* and the agent console
// (/app/, shared/console): the agents' inbox,
// conversation timelines and contacts, and what agents do to a conversation
// (status, assignee, labels, notes, read, replies with attachments uploaded
// to MEDIA_BUCKET). Deployed, API Gateway's JWT
// authorizer checks the caller (API_AUTH=jwt) and the token's email or sub
// names the agent; otherwise the function requires AGENT_API_TOKEN (the
// agent "dev") as the bearer token itself.
package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/switchboard/switchboard/shared/api"
	"github.com/switchboard/switchboard/shared/attach"
	"github.com/switchboard/switchboard/shared/care"
	"github.com/switchboard/switchboard/shared/config"
	"github.com/switchboard/switchboard/shared/console"
	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/launch"
	"github.com/switchboard/switchboard/shared/outbox"
	"github.com/switchboard/switchboard/shared/routing"
	"github.com/switchboard/switchboard/shared/store"
	"github.com/switchboard/switchboard/shared/webchat"
)

func main() { launch.HTTP(setup) }

func setup(ctx context.Context, log *slog.Logger) (http.Handler, error) {
	var cfg struct {
		config.Common
		// MediaBucket holds agents' attachments (POST /api/uploads) and
		// the customers' copied media (GET /api/media/{key}).
		MediaBucket string `envconfig:"MEDIA_BUCKET"`
		// EmailBucket keeps raw mail; an erasure deletes the person's.
		EmailBucket string `envconfig:"EMAIL_BUCKET"`
	}
	awsCfg, params, err := config.Setup(ctx, &cfg, &cfg.Common)
	if err != nil {
		return nil, err
	}
	h := &api.Handler{JWT: os.Getenv("API_AUTH") == "jwt", Log: log}
	if !h.JWT {
		if h.Token, err = params.Get(ctx, "AGENT_API_TOKEN", true); err != nil {
			return nil, err
		}
	}
	// The routing document names the agents (assignees, JWT emails).
	if h.Agents, err = routing.Load(ctx, cfg.RoutingConfigFile, params); err != nil {
		return nil, err
	}
	st := store.New(config.DynamoDB(awsCfg, cfg.Common), cfg.TableName)
	h.Store, h.Service = st, &conversation.Service{Store: st, Team: h.Agents.DefaultTeam, ReopenWindow: cfg.ReopenWindow,
		Templates: h.Agents.Templates,
		CanSend:   outbox.ReplyChannels(os.Getenv)}
	// Agents' typing and status changes, pushed to web chat visitors.
	h.Chat = webchat.FromEnv(os.Getenv, awsCfg, st, &http.Client{Timeout: 5 * time.Second}, log)
	if cfg.MediaBucket != "" {
		h.Uploads = attach.NewUploads(config.S3(awsCfg, cfg.Common), cfg.MediaBucket)
	}
	if cfg.MediaBucket != "" || cfg.EmailBucket != "" { // an erasure deletes the person's objects in them
		h.Objects = &attach.Objects{S3: config.S3(awsCfg, cfg.Common), MediaBucket: cfg.MediaBucket, EmailBucket: cfg.EmailBucket}
	}
	mux := http.NewServeMux()
	h.Register(mux)
	// Survey links' answers (GET /csat/{token}): public, signed tokens.
	(&care.Surveys{Service: h.Service, Log: log}).Register(mux)
	con, err := console.New(consoleConfig(os.Getenv, h.JWT, cfg.MediaBucket, awsCfg.Region))
	if err != nil {
		return nil, err
	}
	con.Register(mux)
	return mux, nil
}

// consoleConfig is how the console signs in: deployed (API_AUTH=jwt),
// Cognito's hosted UI (COGNITO_DOMAIN, COGNITO_CLIENT_ID and
// CONSOLE_REDIRECT_URL, the sign-in function's URL); else the agent
// token. Its media come from the media bucket's presigned URLs.
func consoleConfig(getenv func(string) string, jwt bool, bucket, region string) console.Config {
	c := console.Config{Auth: console.AuthToken}
	if jwt {
		c = console.Config{Auth: console.AuthCognito, CognitoDomain: getenv("COGNITO_DOMAIN"),
			ClientID: getenv("COGNITO_CLIENT_ID"), RedirectURL: getenv("CONSOLE_REDIRECT_URL")}
	}
	if bucket != "" && region != "" && getenv("S3_ENDPOINT") == "" {
		c.MediaOrigin = "https://" + bucket + ".s3." + region + ".amazonaws.com"
	}
	return c
}
