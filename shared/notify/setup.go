package notify

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/switchboard/switchboard/shared/config"
	"github.com/switchboard/switchboard/shared/config/sqsclient"
)

// SQSClient returns an SQS client, on SQS_ENDPOINT when set.
func SQSClient(cfg aws.Config, c config.Common) *sqs.Client { return sqsclient.New(cfg, c) }

// SESClient returns an SES v2 client, on SES_ENDPOINT when set.
func SESClient(cfg aws.Config, c config.Notify) *sesv2.Client {
	return sesv2.NewFromConfig(cfg, func(o *sesv2.Options) {
		if c.SESEndpoint != "" {
			o.BaseEndpoint = aws.String(c.SESEndpoint)
		}
	})
}
