package webchat

import (
	"context"

	"github.com/switchboard/switchboard/shared/config"
	"github.com/switchboard/switchboard/shared/routing"
)

// Deployed is what both deployed halves of the chat read at start (the
// social function's visitor API, the chatsocket function): the token
// signer, the routing document (its sites) and PUBLIC_BASE_URL.
type Deployed struct {
	Signer  *Signer
	Routing *routing.Config
	Base    string
}

// LoadDeployed reads them; key is CHAT_SIGNING_KEY's value.
func LoadDeployed(ctx context.Context, key string, cfg config.Common, params config.Params) (Deployed, error) {
	signer, err := NewSigner(key)
	if err != nil {
		return Deployed{}, err
	}
	rt, err := routing.Load(ctx, cfg.RoutingConfigFile, params)
	if err != nil {
		return Deployed{}, err
	}
	base, err := params.Get(ctx, "PUBLIC_BASE_URL", false)
	if err != nil {
		return Deployed{}, err
	}
	return Deployed{Signer: signer, Routing: rt, Base: base}, nil
}
