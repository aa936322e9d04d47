package notify

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/switchboard/switchboard/shared/config"
	"github.com/switchboard/switchboard/shared/config/sqsclient"
)

// SQSClient returns an SQS client, on SQS_ENDPOINT when set.
func SQSClient(cfg aws.Config, c config.Common) *sqs.Client { return sqsclient.New(cfg, c) }
