// Command samenv prepares `sam local invoke` against the local services
// (scripts/local-services.sh: random ports, so nothing fixed can be
// committed) and writes its --env-vars file:
//
//	. "$(scripts/local-services.sh start)"
//	go run ./scripts/samenv > .local/env.json
//	sam local invoke MessagingFunction -e events/twilio/sms-inbound.json --env-vars .local/env.json
//
// sam local applies an --env-vars value only to a variable the template
// declares for that function (it ignores any other), so the file holds
// exactly the template's variables: the endpoint overrides are declared,
// empty, in the template's Globals for this; each secret is read as
// deployed, from the SSM parameter its _PARAM names, which this command
// writes in moto's SSM (the dev server's local defaults, shared/devenv,
// and its routing document); TABLE_NAME names the dev table, which it
// creates in DynamoDB Local, and NOTIFY_QUEUE_URL the dev queue, which it
// creates in moto. Endpoints name -host (default host.docker.internal, how
// sam's containers reach the host; on Linux pass sam --add-host
// host.docker.internal:host-gateway, and start the services with
// LOCAL_SERVICES_HOST=0.0.0.0).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"gopkg.in/yaml.v3"

	"github.com/switchboard/switchboard/shared/config"
	"github.com/switchboard/switchboard/shared/config/sqsclient"
	"github.com/switchboard/switchboard/shared/devenv"
	"github.com/switchboard/switchboard/shared/store"
)

func main() {
	host := flag.String("host", "host.docker.internal", "the host name sam's containers reach the local services at")
	tpl := flag.String("template", "template.yaml", "the SAM template")
	flag.Parse()
	if err := run(context.Background(), *tpl, *host, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "samenv:", err)
		os.Exit(1)
	}
}

// Prefix is where the local secrets live in moto's SSM.
const Prefix = "/switchboard/local/"

// secrets are the values behind each X_PARAM: the dev server's defaults.
var secrets = map[string]string{
	"TWILIO_AUTH_TOKEN": devenv.TwilioAuthToken, "AGENT_API_TOKEN": devenv.AgentAPIToken,
	"META_APP_SECRET": devenv.MetaAppSecret, "META_VERIFY_TOKEN": devenv.MetaVerifyToken, "META_ACCESS_TOKEN": devenv.MetaAccessToken,
	"TELEGRAM_SECRET_TOKEN": devenv.TelegramSecretToken, "TELEGRAM_BOT_TOKEN": devenv.TelegramBotToken,
	"LINE_CHANNEL_SECRET": devenv.LineChannelSecret, "LINE_CHANNEL_TOKEN": devenv.LineChannelToken,
	"X_CONSUMER_SECRET": devenv.XConsumerSecret, "X_ACCESS_TOKEN": devenv.XAccessToken,
	"WECHAT_TOKEN": devenv.WeChatToken, "WECHAT_APP_SECRET": devenv.WeChatAppSecret,
	"NOTIFY_WEBHOOK_SECRET": devenv.NotifyWebhookSecret, "CHAT_SIGNING_KEY": devenv.ChatSigningKey,
	"CHAT_IDENTITY_SECRET": devenv.ChatIdentitySecret, "ROUTING_CONFIG": devenv.Routing, "PUBLIC_BASE_URL": devenv.PublicBaseURL,
}

// Template is the part of template.yaml read: each function's variables.
type Template struct {
	Globals struct {
		Function struct {
			Environment struct {
				Variables map[string]any `yaml:"Variables"`
			} `yaml:"Environment"`
		} `yaml:"Function"`
	} `yaml:"Globals"`
	Resources map[string]struct {
		Type       string `yaml:"Type"`
		Properties struct {
			Environment struct {
				Variables map[string]any `yaml:"Variables"`
			} `yaml:"Environment"`
		} `yaml:"Properties"`
	} `yaml:"Resources"`
}

// Variables lists each function's declared variables (its own and the
// Globals').
func Variables(file string) (map[string][]string, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var t Template
	if err := yaml.Unmarshal(raw, &t); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	out := map[string][]string{}
	for id, r := range t.Resources {
		if r.Type != "AWS::Serverless::Function" {
			continue
		}
		seen := map[string]bool{}
		for _, vars := range []map[string]any{t.Globals.Function.Environment.Variables, r.Properties.Environment.Variables} {
			for k := range vars {
				if !seen[k] {
					seen[k] = true
					out[id] = append(out[id], k)
				}
			}
		}
		sort.Strings(out[id])
	}
	return out, nil
}

func run(ctx context.Context, tpl, host string, w io.Writer) error {
	vars, err := Variables(tpl)
	if err != nil {
		return err
	}
	ep := map[string]string{}
	for _, name := range []string{"DYNAMODB_ENDPOINT", "SQS_ENDPOINT", "S3_ENDPOINT", "SSM_ENDPOINT"} {
		if ep[name] = os.Getenv(name); ep[name] == "" {
			return fmt.Errorf("%s is not set: . \"$(scripts/local-services.sh start)\" first", name)
		}
	}
	c := config.Common{TableName: devenv.TableName, AWSRegion: "us-east-1", DynamoDBEndpoint: ep["DYNAMODB_ENDPOINT"],
		SQSEndpoint: ep["SQS_ENDPOINT"], SSMEndpoint: ep["SSM_ENDPOINT"]}
	awsCfg, err := config.AWS(ctx, c)
	if err != nil {
		return err
	}
	// The dev table, the dev queue and the secrets, as the stack would have them.
	db := config.DynamoDB(awsCfg, c)
	if _, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(devenv.TableName)}); err != nil {
		var nf *types.ResourceNotFoundException
		if !errors.As(err, &nf) {
			return fmt.Errorf("describe %s: %w", devenv.TableName, err)
		}
		if err := store.CreateTable(ctx, db, devenv.TableName); err != nil {
			return err
		}
	}
	q, err := sqsclient.New(awsCfg, c).CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(devenv.NotifyQueueName)})
	if err != nil {
		return fmt.Errorf("create %s: %w", devenv.NotifyQueueName, err)
	}
	sm := ssm.NewFromConfig(awsCfg, func(o *ssm.Options) {
		if c.SSMEndpoint != "" {
			o.BaseEndpoint = aws.String(c.SSMEndpoint)
		}
	})
	for name, v := range secrets {
		if _, err := sm.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(Prefix + name), Value: aws.String(v),
			Type: ssmtypes.ParameterTypeSecureString, Overwrite: aws.Bool(true)}); err != nil {
			return fmt.Errorf("put %s: %w", Prefix+name, err)
		}
	}
	rehost := func(u string) string {
		p, err := url.Parse(u)
		if err != nil {
			return u
		}
		p.Host = host + ":" + p.Port()
		return p.String()
	}
	out := map[string]map[string]string{}
	for fn, names := range vars {
		env := map[string]string{}
		for _, k := range names {
			switch {
			case k == "TABLE_NAME":
				env[k] = devenv.TableName
			case ep[k] != "":
				env[k] = rehost(ep[k])
			case k == "NOTIFY_QUEUE_URL":
				env[k] = rehost(aws.ToString(q.QueueUrl))
			case k == "PHONE_DEFAULT_REGION":
				env[k] = "US"
			case k == "REOPEN_WINDOW":
				env[k] = "0s"
			case k == "API_AUTH":
				env[k] = "" // AGENT_API_TOKEN instead of API Gateway's JWT authorizer
			case strings.HasSuffix(k, "_PARAM"):
				if _, ok := secrets[strings.TrimSuffix(k, "_PARAM")]; ok {
					env[k] = Prefix + strings.TrimSuffix(k, "_PARAM")
				} else {
					env[k] = "" // a secret with no local value: that part is off
				}
			default:
				env[k] = "" // a resource of the stack (a bucket, a queue, a URL): none locally
			}
		}
		out[fn] = env
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
