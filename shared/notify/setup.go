package notify

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/switchboard/switchboard/shared/config"
	"github.com/switchboard/switchboard/shared/routing"
)

// LoadRouting reads the routing document: the file ROUTING_CONFIG_FILE names,
// else ROUTING_CONFIG or the SSM parameter ROUTING_CONFIG_PARAM names. It is
// validated here, so a bad one stops start-up with the reason.
func LoadRouting(ctx context.Context, c config.Notify, p config.Params) (*routing.Config, error) {
	var doc []byte
	if c.RoutingConfigFile != "" {
		b, err := os.ReadFile(c.RoutingConfigFile)
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
	return routing.Parse(doc)
}

// SQSClient returns an SQS client, on SQS_ENDPOINT when set.
func SQSClient(cfg aws.Config, c config.Common) *sqs.Client {
	return sqs.NewFromConfig(cfg, func(o *sqs.Options) {
		if c.SQSEndpoint != "" {
			o.BaseEndpoint = aws.String(c.SQSEndpoint)
		}
	})
}

// SESClient returns an SES v2 client, on SES_ENDPOINT when set.
func SESClient(cfg aws.Config, c config.Notify) *sesv2.Client {
	return sesv2.NewFromConfig(cfg, func(o *sesv2.Options) {
		if c.SESEndpoint != "" {
			o.BaseEndpoint = aws.String(c.SESEndpoint)
		}
	})
}
