// Command chatsocket is the Lambda function behind the web chat's
// WebSocket API: the $connect authorizer (the visitor token in ?token=, the
// page's origin held to the token's site) and the $connect, $disconnect
// and $default routes, which keep each visitor's live connections on the
// table for the notifier's pushes (shared/webchat).
package main

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/switchboard/switchboard/shared/config"
	"github.com/switchboard/switchboard/shared/launch"
	"github.com/switchboard/switchboard/shared/store"
	"github.com/switchboard/switchboard/shared/webchat"
)

func main() { launch.Event(setup) }

func setup(ctx context.Context, log *slog.Logger) (func(context.Context, json.RawMessage) (any, error), error) {
	var cfg config.Common
	awsCfg, params, err := config.Setup(ctx, &cfg, &cfg)
	if err != nil {
		return nil, err
	}
	key, err := params.Get(ctx, "CHAT_SIGNING_KEY", true)
	if err != nil {
		return nil, err
	}
	d, err := webchat.LoadDeployed(ctx, key, cfg, params)
	if err != nil {
		return nil, err
	}
	sock := &webchat.Socket{Signer: d.Signer, Self: d.Base, Origins: d.Routing.Origins, Conns: store.New(config.DynamoDB(awsCfg, cfg), cfg.TableName), Log: log}
	return sock.Handle, nil
}
