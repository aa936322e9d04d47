// Package devenv holds the dev server's embedded defaults, shared with the
// signing helper (scripts/send), the sample events in events/ and the tests
// that replay them. They are local fixtures, not secrets: no deployed
// function reads them (template.yaml passes SSM parameter names, and a
// function with no secret configured refuses to start).
package devenv

// Defaults of the dev server (scripts/devserver); each can be overridden by
// the environment variable of the same role.
const (
	// PublicBaseURL is what the dev server's webhooks are signed against.
	PublicBaseURL = "http://127.0.0.1:3000"
	// TwilioAuthToken signs the Twilio samples in events/twilio.
	TwilioAuthToken = "local-dev-twilio-token"
	// AgentAPIToken is the bearer token of the dev server's /api/*.
	AgentAPIToken = "local-dev-agent-token"
	// MetaAppSecret signs the Meta samples in events/meta.
	MetaAppSecret = "local-dev-meta-app-secret"
	// MetaVerifyToken answers Meta's subscription handshake locally.
	MetaVerifyToken = "local-dev-meta-verify-token"
	// TelegramSecretToken is the dev server's setWebhook secret_token.
	TelegramSecretToken = "local-dev-telegram-secret"
	// LineChannelSecret signs the LINE samples in events/line;
	// LineChannelToken is what the dev server's LINE replies use when
	// LINE_API_URL points them at a stand-in.
	LineChannelSecret = "local-dev-line-channel-secret"
	LineChannelToken  = "local-dev-line-channel-token"
	// XConsumerSecret signs the X samples in events/x (and answers the CRC);
	// XAccessToken is what the dev server's X replies use when X_API_URL
	// points them at a stand-in.
	XConsumerSecret = "local-dev-x-consumer-secret"
	XAccessToken    = "local-dev-x-user-token"
	// WeChatToken is the server token of the dev server's WeChat Official
	// Account (plain mode); WeChatAppID and WeChatAppSecret are what its
	// WeChat replies use when WECHAT_API_URL points them at a stand-in.
	WeChatToken     = "localdevwechattoken"
	WeChatAppID     = "wx0000000000000000"
	WeChatAppSecret = "local-dev-wechat-app-secret"
	// TwilioAccountSID and TelegramBotToken are what the dev server's reply
	// senders use when TWILIO_API_URL or TELEGRAM_API_URL points them at a
	// stand-in (by default replies go only to GET /dev/outbox).
	TwilioAccountSID = "AC00000000000000000000000000000000"
	TelegramBotToken = "123456:local-dev-telegram-bot-token"
	MetaAccessToken  = "local-dev-meta-page-token"
	// ChatSigningKey signs the dev server's web chat visitor tokens;
	// ChatIdentitySecret is what its demo site computes identifierHash
	// with (hex HMAC-SHA256 of the identifier).
	ChatSigningKey     = "local-dev-chat-signing-key"
	ChatIdentitySecret = "local-dev-chat-identity-secret"
	// TableName is the table the dev server creates in DynamoDB Local.
	TableName = "switchboard-dev"
	// NotifyWebhookSecret signs the dev server's webhook notifications
	// (Standard Webhooks: whsec_ and a base64 key).
	NotifyWebhookSecret = "whsec_c3dpdGNoYm9hcmQtbG9jYWwtZGV2LXdlYmhvb2sta2V5"
	// EventsWebhookSecret signs the domain events the dev server posts to
	// EVENTS_WEBHOOK_URL (local only, like every value here).
	EventsWebhookSecret = "whsec_c3dpdGNoYm9hcmQtbG9jYWwtZGV2LWV2ZW50cy1rZXk="
	// NotifyQueueName is the queue the dev server creates in moto (QUEUE=sqs).
	NotifyQueueName = "switchboard-dev-notify"
	// Routing is the dev server's routing when ROUTING_CONFIG_FILE is unset:
	// one team, always open, with the satisfaction survey at close, at
	// once; acknowledgements in seven languages; one agent whose only sink
	// is NOTIFY_WEBHOOK_URL (the dispatcher adds it to every agent).
	Routing = `{
  "defaultTeam": "support",
  "coalesceWindow": "0s",
  "teams": [{"id": "support", "timeZone": "UTC", "csat": {"enabled": true}}],
  "autoReplies": {
    "defaultLanguage": "en",
    "ack": {
      "en": "Thanks for your message! An agent will reply here shortly.",
      "es": "¡Gracias por tu mensaje! Un agente te responderá en breve.",
      "pt": "Obrigado pela sua mensagem! Um atendente responderá em breve.",
      "fr": "Merci pour votre message ! Un agent vous répondra sous peu.",
      "de": "Danke für Ihre Nachricht! Ein Mitarbeiter antwortet Ihnen in Kürze.",
      "ru": "Спасибо за сообщение! Оператор скоро ответит вам.",
      "ja": "メッセージありがとうございます。担当者がまもなく返信いたします。"
    }
  },
  "email": {"address": "support@example.com"},
  "agents": [{"id": "dev", "name": "Dev Agent", "teams": ["support"], "sinks": []}],
  "sites": [{"id": "demo", "name": "Switchboard demo", "preChatEmail": "optional"}]
}`
)
