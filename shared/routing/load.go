package routing

import (
	"context"
	"fmt"
	"os"

	"github.com/switchboard/switchboard/shared/config"
)

// Load reads the routing document: the file ROUTING_CONFIG_FILE names (file),
// else ROUTING_CONFIG or the SSM parameter ROUTING_CONFIG_PARAM names. It is
// validated here, so a bad one stops start-up with the reason.
func Load(ctx context.Context, file string, p config.Params) (*Config, error) {
	var doc []byte
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("ROUTING_CONFIG_FILE: %w", err)
		}
		doc = b
	} else {
		s, err := p.Get(ctx, "ROUTING_CONFIG", true)
		if err != nil {
			return nil, err
		}
		doc = []byte(s)
	}
	return Parse(doc)
}
