// Package sqsclient builds the SQS client of the functions that queue (the
// fan-out, the sweeper) or spill (the webhook functions). It is apart from
// shared/config so that the functions that do neither (the api, the
// notifier, which SQS invokes) do not link the SQS SDK.
package sqsclient

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/switchboard/switchboard/shared/config"
)

// New returns an SQS client, on SQS_ENDPOINT when set.
func New(cfg aws.Config, c config.Common) *sqs.Client {
	return sqs.NewFromConfig(cfg, func(o *sqs.Options) {
		if c.SQSEndpoint != "" {
			o.BaseEndpoint = aws.String(c.SQSEndpoint)
		}
	})
}
