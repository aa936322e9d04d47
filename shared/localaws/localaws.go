// Package localaws connects tests and the dev server to the local stand-ins
// for AWS that scripts/local-services.sh starts on loopback: DynamoDB Local
// and moto's server. Endpoints come from the same environment names as in
// AWS (DYNAMODB_ENDPOINT, SQS_ENDPOINT, …).
package localaws

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/switchboard/switchboard/shared/store"
)

// RequireEnv names the variable that turns a missing local service from a
// skip into a failure; the README's test command sets it.
const RequireEnv = "SWITCHBOARD_REQUIRE_LOCAL"

// Config is an aws.Config for the local services: fixed test credentials
// (DynamoDB Local keeps one database per access key and region) and the
// region from AWS_REGION, us-east-1 by default.
func Config() aws.Config {
	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = "us-east-1"
	}
	return aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
	}
}

// Endpoint returns the local service endpoint in the variable name
// (DYNAMODB_ENDPOINT, SQS_ENDPOINT, MOTO_ENDPOINT, …). Without it the test is
// skipped, or fails when RequireEnv is set (the README's test command sets
// it, so there a missing service is a failure, never a silent skip).
func Endpoint(t testing.TB, name string) string {
	t.Helper()
	ep := os.Getenv(name)
	if ep == "" {
		if os.Getenv(RequireEnv) != "" {
			t.Fatalf("%s is not set but %s is: the local services did not start", name, RequireEnv)
		}
		t.Skipf("%s not set: run scripts/test.sh to start the local services", name)
	}
	return ep
}

// DynamoDB returns a client for DYNAMODB_ENDPOINT (see Endpoint).
func DynamoDB(t testing.TB, optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	t.Helper()
	ep := Endpoint(t, "DYNAMODB_ENDPOINT")
	opts := append([]func(*dynamodb.Options){func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(ep)
		o.DisableValidateResponseChecksum = true // DynamoDB Local's error responses carry a wrong CRC32
	}}, optFns...)
	return dynamodb.NewFromConfig(Config(), opts...)
}

// Table creates a fresh table with a unique name on db and returns its name.
func Table(t testing.TB, db *dynamodb.Client) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "switchboard-test-" + hex.EncodeToString(b[:])
	if err := store.CreateTable(context.Background(), db, name); err != nil {
		t.Fatalf("create table: %v", err)
	}
	t.Cleanup(func() {
		_, _ = db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
	return name
}

// SQS returns a client for SQS_ENDPOINT (moto; see Endpoint).
func SQS(t testing.TB, optFns ...func(*sqs.Options)) *sqs.Client {
	t.Helper()
	ep := Endpoint(t, "SQS_ENDPOINT")
	opts := append([]func(*sqs.Options){func(o *sqs.Options) { o.BaseEndpoint = aws.String(ep) }}, optFns...)
	return sqs.NewFromConfig(Config(), opts...)
}

// Queue creates a fresh queue with the given visibility timeout and, when
// maxReceives > 0, a dead-letter queue it redrives to after that many
// receives. It returns both URLs (dlq is "" without one).
func Queue(t testing.TB, client *sqs.Client, visibility, maxReceives int) (queue, dlq string) {
	t.Helper()
	ctx := context.Background()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "switchboard-test-" + hex.EncodeToString(b[:])
	attrs := map[string]string{"VisibilityTimeout": fmt.Sprint(visibility)}
	if maxReceives > 0 {
		d, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name + "-dlq")})
		if err != nil {
			t.Fatalf("create DLQ: %v", err)
		}
		dlq = aws.ToString(d.QueueUrl)
		a, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: d.QueueUrl,
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
		if err != nil {
			t.Fatalf("DLQ arn: %v", err)
		}
		attrs["RedrivePolicy"] = fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"%d"}`, a.Attributes["QueueArn"], maxReceives)
	}
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatalf("create queue: %v", err)
	}
	return aws.ToString(q.QueueUrl), dlq
}

// S3 returns a path-style client for S3_ENDPOINT (moto; see Endpoint).
func S3(t testing.TB) *s3.Client {
	t.Helper()
	ep := Endpoint(t, "S3_ENDPOINT")
	return s3.NewFromConfig(Config(), func(o *s3.Options) { o.BaseEndpoint, o.UsePathStyle = aws.String(ep), true })
}

// Bucket creates a fresh bucket and returns its name.
func Bucket(t testing.TB, client *s3.Client) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "switchboard-test-" + hex.EncodeToString(b[:])
	if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	return name
}

// EventBridge returns a client for EVENTBRIDGE_ENDPOINT (moto; see Endpoint).
func EventBridge(t testing.TB) *eventbridge.Client {
	t.Helper()
	ep := Endpoint(t, "EVENTBRIDGE_ENDPOINT")
	return eventbridge.NewFromConfig(Config(), func(o *eventbridge.Options) { o.BaseEndpoint = aws.String(ep) })
}

// BusToQueue creates an EventBridge bus named name (deleted after the
// test) whose one rule sends every event of source to a new SQS queue on
// client, and returns that queue's URL: what a subscriber of the bus
// would receive.
func BusToQueue(t testing.TB, eb *eventbridge.Client, client *sqs.Client, name, source string) string {
	t.Helper()
	ctx := context.Background()
	if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: &name}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = eb.DeleteEventBus(context.Background(), &eventbridge.DeleteEventBusInput{Name: &name}) })
	q, _ := Queue(t, client, 30, 5)
	attrs, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &q, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("all"), EventBusName: &name,
		EventPattern: aws.String(`{"source":["` + source + `"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("all"), EventBusName: &name,
		Targets: []ebtypes.Target{{Id: aws.String("queue"), Arn: aws.String(attrs.Attributes["QueueArn"])}}}); err != nil {
		t.Fatal(err)
	}
	return q
}
