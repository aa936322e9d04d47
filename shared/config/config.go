// Package config reads a function's settings from the environment with
// envconfig, under the names DESIGN.md fixes, builds the one aws.Config all
// clients share (with the optional local endpoint overrides), and resolves
// secrets: each secret X is read from the SSM SecureString named by X_PARAM
// (production) or from X itself (local and tests), once, at start.
package config

import (
	"context"
	"fmt"
	"maps"
	"os"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/kelseyhightower/envconfig"
)

// Common is what every function reads.
type Common struct {
	TableName string `envconfig:"TABLE_NAME" required:"true"`
	// RoutingConfigFile is a local alternative to ROUTING_CONFIG(_PARAM).
	RoutingConfigFile string `envconfig:"ROUTING_CONFIG_FILE"`
	AWSRegion         string `envconfig:"AWS_REGION"`
	DynamoDBEndpoint  string `envconfig:"DYNAMODB_ENDPOINT"`
	SQSEndpoint       string `envconfig:"SQS_ENDPOINT"`
	S3Endpoint        string `envconfig:"S3_ENDPOINT"`
	SSMEndpoint       string `envconfig:"SSM_ENDPOINT"`
	// SpillQueueURL is where webhook functions keep a verified request they
	// could not store (shared/spill); unset: a store failure answers 5xx.
	SpillQueueURL string `envconfig:"SPILL_QUEUE_URL"`
	// PhoneRegion reads phone numbers written without a country code.
	PhoneRegion string `envconfig:"PHONE_DEFAULT_REGION" default:"US"`
	// Team receives new conversations.
	Team string `envconfig:"DEFAULT_TEAM" default:"support"`
	// ReopenWindow: a customer's message this soon after a close reopens
	// the closed conversation (a Go duration; 0, the default: a new one).
	ReopenWindow time.Duration `envconfig:"REOPEN_WINDOW" default:"0s"`
}

// Messaging is the messaging function's configuration.
type Messaging struct {
	Common
	MaxBody int64 `envconfig:"MAX_BODY_BYTES" default:"65536"`
}

// Load fills spec (a pointer to one of the structs above) from the
// environment; a required setting that is missing or empty is an error
// naming it.
func Load(spec any) error {
	if err := envconfig.Process("", spec); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	return requireNonEmpty(reflect.ValueOf(spec).Elem())
}

// requireNonEmpty closes a gap of envconfig: `required` accepts a variable
// that is set to "".
func requireNonEmpty(v reflect.Value) error {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			if err := requireNonEmpty(v.Field(i)); err != nil {
				return err
			}
			continue
		}
		if f.Tag.Get("required") == "true" && v.Field(i).IsZero() {
			return fmt.Errorf("configuration: required key %s is empty", f.Tag.Get("envconfig"))
		}
	}
	return nil
}

// AWS returns the shared aws.Config (region, credentials from the standard
// chain).
func AWS(ctx context.Context, c Common) (aws.Config, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if c.AWSRegion != "" {
		opts = append(opts, awsconfig.WithRegion(c.AWSRegion))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return cfg, fmt.Errorf("load AWS config: %w", err)
	}
	return cfg, nil
}

// DynamoDB returns a DynamoDB client, on DYNAMODB_ENDPOINT when set. On a
// local endpoint the response CRC32 check is off: DynamoDB Local sends a
// wrong one with error responses, which the SDK logs as a warning.
func DynamoDB(cfg aws.Config, c Common) *dynamodb.Client {
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if c.DynamoDBEndpoint != "" {
			o.BaseEndpoint = aws.String(c.DynamoDBEndpoint)
			o.DisableValidateResponseChecksum = true
		}
	})
}

// S3 returns an S3 client, on S3_ENDPOINT (path-style, as local servers
// want) when set. Response checksums are validated when the request asked
// for them only: SES stores raw mail without one, and the SDK would log a
// line for every read.
func S3(cfg aws.Config, c Common) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		if c.S3Endpoint != "" {
			o.BaseEndpoint = aws.String(c.S3Endpoint)
			o.UsePathStyle = true
		}
	})
}

// SSM returns the parameter reader (SSMParameters), on SSM_ENDPOINT when
// set.
func SSM(cfg aws.Config, c Common) *SSMParameters { return NewSSMParameters(cfg, c.SSMEndpoint) }

// ParameterAPI reads SSM parameters: the values of names (at most 10),
// decrypted, and the names that do not exist.
type ParameterAPI interface {
	GetParameters(ctx context.Context, names []string) (values map[string]string, invalid []string, err error)
}

// Params resolves secrets and deploy-time settings by name. Getenv defaults
// to os.Getenv. Made by Setup (NewParams), the first Get reads every SSM
// parameter the environment names (each X_PARAM) in one GetParameters call
// (10 names a call), so a cold start costs one round trip, not one per
// secret; without that cache each Get reads its own.
type Params struct {
	SSM    ParameterAPI
	Getenv func(string) string
	// Environ lists the environment (os.Environ by default): where the
	// _PARAM names come from.
	Environ func() []string
	cache   *paramCache
}

// NewParams returns Params on client that read all of a function's SSM
// parameters at once.
func NewParams(client ParameterAPI) Params {
	return Params{SSM: client, cache: &paramCache{}}
}

type paramCache struct {
	mu      sync.Mutex
	loaded  bool
	values  map[string]string // SSM name → value
	missing map[string]bool
}

// load reads every parameter the environment names, once (a failure is
// not kept: the next Get tries again).
func (c *paramCache) load(ctx context.Context, s Params) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.loaded {
		return nil
	}
	environ := s.Environ
	if environ == nil {
		environ = os.Environ
	}
	var names []string
	seen := map[string]bool{}
	for _, kv := range environ() {
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasSuffix(k, "_PARAM") && v != "" && !seen[v] {
			seen[v] = true
			names = append(names, v)
		}
	}
	values, missing := map[string]string{}, map[string]bool{}
	for len(names) > 0 {
		batch := names[:min(10, len(names))]
		names = names[len(batch):]
		got, invalid, err := s.SSM.GetParameters(ctx, batch)
		if err != nil {
			return fmt.Errorf("read SSM parameters %s: %w", strings.Join(batch, ", "), err)
		}
		maps.Copy(values, got)
		for _, n := range invalid {
			missing[n] = true
		}
	}
	c.values, c.missing, c.loaded = values, missing, true
	return nil
}

// lookup is a prefetched parameter: its value if SSM had it, missing if
// SSM said it does not exist; neither if the environment did not name it.
func (c *paramCache) lookup(name string) (v string, found, missing bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, found = c.values[name]
	return v, found, c.missing[name]
}

// Get returns the value of name: from the SSM parameter named by
// name+"_PARAM" if that is set, else from the variable name. A required value
// that is set nowhere is an error naming both variables; a value is never in
// an error.
func (s Params) Get(ctx context.Context, name string, required bool) (string, error) {
	getenv := s.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if param := getenv(name + "_PARAM"); param != "" {
		if s.SSM == nil {
			return "", fmt.Errorf("%s: %s_PARAM is set but no SSM client is configured", name, name)
		}
		var raw string
		var found bool
		if s.cache != nil {
			if err := s.cache.load(ctx, s); err != nil {
				return "", fmt.Errorf("%s: %w", name, err)
			}
			var missing bool
			if raw, found, missing = s.cache.lookup(param); missing {
				return "", fmt.Errorf("%s: SSM parameter %s does not exist", name, param)
			}
		}
		if !found {
			got, invalid, err := s.SSM.GetParameters(ctx, []string{param})
			if err != nil {
				return "", fmt.Errorf("%s: read SSM parameter %s: %w", name, param, err)
			}
			if v, ok := got[param]; ok {
				raw = v
			} else if len(invalid) > 0 {
				return "", fmt.Errorf("%s: SSM parameter %s does not exist", name, param)
			}
		}
		v := strings.TrimSpace(raw)
		if v == "" && required {
			return "", fmt.Errorf("%s: SSM parameter %s is empty", name, param)
		}
		return v, nil
	}
	v := getenv(name)
	if v == "" && required {
		return "", fmt.Errorf("%s: set %s_PARAM (an SSM SecureString name) or %s", name, name, name)
	}
	return v, nil
}

// Notify is what the fan-out and notifier functions read besides Common.
type Notify struct {
	Common
	NotifyQueueURL string `envconfig:"NOTIFY_QUEUE_URL"`
	// AckText acknowledges a customer's first message, on every channel,
	// when the routing document has no acknowledgement for their language
	// (autoReplies.ack; email: email.ack first); empty for none.
	AckText string `envconfig:"ACK_TEXT" default:"Thanks for your message! An agent will reply here shortly."`
	// Domain events out (DESIGN.md section 6b): the EventBridge bus, and
	// the webhook subscriptions (comma-separated URLs; the notifier signs
	// with EVENTS_WEBHOOK_SECRET). Empty: none.
	EventBusName        string `envconfig:"EVENT_BUS_NAME"`
	EventsWebhookURL    string `envconfig:"EVENTS_WEBHOOK_URL"`
	EventBridgeEndpoint string `envconfig:"EVENTBRIDGE_ENDPOINT"`
	SESEndpoint         string `envconfig:"SES_ENDPOINT"`
	// SESConfigurationSet reports what became of each email sent (the
	// email function records it on the reply).
	SESConfigurationSet string `envconfig:"SES_CONFIGURATION_SET"`
	// Provider API bases for replies (DESIGN.md section 5b): the provider's
	// documented path is appended; empty: the provider's own host.
	TwilioAPIURL   string `envconfig:"TWILIO_API_URL"`
	TelegramAPIURL string `envconfig:"TELEGRAM_API_URL"`
	MetaGraphURL   string `envconfig:"META_GRAPH_URL"`
	LineAPIURL     string `envconfig:"LINE_API_URL"`
	XAPIURL        string `envconfig:"X_API_URL"`
	WeChatAPIURL   string `envconfig:"WECHAT_API_URL"`
	WeChatAppID    string `envconfig:"WECHAT_APP_ID"`
	// NotifyWebhookURL, if set, receives every agent notification.
	NotifyWebhookURL string `envconfig:"NOTIFY_WEBHOOK_URL"`
	TwilioAccountSID string `envconfig:"TWILIO_ACCOUNT_SID"`
	// NotifySMSFrom is the number (or Messaging Service SID) agents' SMS come from.
	NotifySMSFrom   string `envconfig:"NOTIFY_SMS_FROM"`
	NotifyEmailFrom string `envconfig:"NOTIFY_EMAIL_FROM"`
	// MediaBucket receives customers' media (the notifier copies them);
	// empty: media stay with the provider.
	MediaBucket string `envconfig:"MEDIA_BUCKET"`
	// EmailBucket is where SES keeps raw mail; attachments are read from it
	// only.
	EmailBucket string `envconfig:"EMAIL_BUCKET"`
}

// Setup is every function's start: Load spec (a pointer to Common or a
// struct embedding it, passed again as common), the shared aws.Config, and
// the Params resolver on its SSM client.
func Setup(ctx context.Context, spec any, common *Common) (aws.Config, Params, error) {
	if err := Load(spec); err != nil {
		return aws.Config{}, Params{}, err
	}
	cfg, err := AWS(ctx, *common)
	if err != nil {
		return cfg, Params{}, err
	}
	return cfg, NewParams(SSM(cfg, *common)), nil
}
