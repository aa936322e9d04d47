// Package localaws connects tests and the dev server to the local stand-ins
// for AWS that scripts/local-services.sh starts on loopback: DynamoDB Local
// and moto's server. Endpoints come from the same environment names as in
// AWS (DYNAMODB_ENDPOINT, SQS_ENDPOINT, …).
package localaws

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

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

// DynamoDB returns a client for DYNAMODB_ENDPOINT. Without the endpoint the
// test is skipped, or fails when RequireEnv is set.
func DynamoDB(t testing.TB, optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	t.Helper()
	ep := os.Getenv("DYNAMODB_ENDPOINT")
	if ep == "" {
		if os.Getenv(RequireEnv) != "" {
			t.Fatalf("DYNAMODB_ENDPOINT is not set but %s is: the local services did not start", RequireEnv)
		}
		t.Skip("DYNAMODB_ENDPOINT not set: run scripts/test.sh to start DynamoDB Local")
	}
	opts := append([]func(*dynamodb.Options){func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(ep) }}, optFns...)
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
