// Package e2e holds end-to-end tests across packages, on the real local
// services (DynamoDB Local and its stream, moto's SQS) that scripts/test.sh
// starts: a webhook in, the stream, the fan-out, the queue, the notifier,
// and local HTTP sinks and a Twilio stand-in out. It has no code of its own.
package e2e
