package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/line/line-bot-sdk-go/v8/linebot/messaging_api"

	"github.com/switchboard/switchboard/shared/conversation"
)

// LineReplies sends LINE replies with the push API (line-bot-sdk-go's
// messaging_api: POST $LINE_API_URL/v2/bot/message/push, the channel
// access token as the bearer) to the chat the customer wrote in: the text
// and each image in one request (up to 5 messages). X-Line-Retry-Key is the
// send job's id, so a job retried after a lost answer is not sent twice:
// LINE answers 409 for a key it accepted, which is taken as sent. Push
// messages count against the channel's monthly quota (a reply token would
// not, but it expires within about a minute and an agent's answer usually
// comes later).
type LineReplies struct {
	API   *messaging_api.MessagingApiAPI
	Media MediaLinks
}

// NewLineReplies makes the sender; base replaces https://api.line.me.
func NewLineReplies(token, base string, client *http.Client, media MediaLinks) (*LineReplies, error) {
	opts := []messaging_api.MessagingApiAPIOption{messaging_api.WithHTTPClient(client)}
	if base != "" {
		opts = append(opts, messaging_api.WithEndpoint(base))
	}
	api, err := messaging_api.NewMessagingApiAPI(token, opts...)
	if err != nil {
		return nil, fmt.Errorf("line: %w", err)
	}
	return &LineReplies{API: api, Media: media}, nil
}

// SendReply implements ReplySender.
func (l *LineReplies) SendReply(ctx context.Context, m conversation.Message) (string, error) {
	urls, err := links(ctx, l.Media, m.Media)
	if err != nil {
		return "", err
	}
	var msgs []messaging_api.MessageInterface
	if m.Body != "" {
		msgs = append(msgs, &messaging_api.TextMessage{Text: m.Body})
	}
	for _, u := range urls {
		msgs = append(msgs, &messaging_api.ImageMessage{OriginalContentUrl: u, PreviewImageUrl: u})
	}
	res, out, err := l.API.PushMessageWithHttpInfo(&messaging_api.PushMessageRequest{To: m.To, Messages: msgs}, SendJobID(m.ID))
	if res != nil && res.StatusCode == http.StatusConflict && res.Header.Get("X-Line-Accepted-Request-Id") != "" {
		// Accepted before (this job's earlier attempt): sent, once.
		return lineAccepted(res), nil
	}
	if err != nil {
		if res == nil || res.StatusCode == http.StatusTooManyRequests || res.StatusCode >= 500 {
			return "", fmt.Errorf("line push: %w", err)
		}
		return "", &PermanentError{Code: strconv.Itoa(res.StatusCode), Reason: "LINE: " + lineMessage(res)}
	}
	if out == nil || len(out.SentMessages) == 0 || out.SentMessages[0].Id == "" {
		return "", errors.New("line push: no sent message id in the answer")
	}
	return out.SentMessages[0].Id, nil
}

// lineAccepted is the sent message's id from a 409 answer to a retry key
// LINE accepted before (its body lists the sent messages), else the
// accepted request's id.
func lineAccepted(res *http.Response) string {
	var body struct {
		SentMessages []struct {
			ID string `json:"id"`
		} `json:"sentMessages"`
	}
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if json.Unmarshal(raw, &body) == nil && len(body.SentMessages) > 0 && body.SentMessages[0].ID != "" {
		return body.SentMessages[0].ID
	}
	return "request:" + res.Header.Get("X-Line-Accepted-Request-Id")
}

// lineMessage is LINE's error message ({"message","details":[…]}).
func lineMessage(res *http.Response) string {
	var body struct {
		Message string `json:"message"`
		Details []struct {
			Message  string `json:"message"`
			Property string `json:"property"`
		} `json:"details"`
	}
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if json.Unmarshal(raw, &body) != nil || body.Message == "" {
		return http.StatusText(res.StatusCode)
	}
	parts := []string{body.Message}
	for _, d := range body.Details {
		parts = append(parts, strings.TrimSpace(d.Property+": "+d.Message))
	}
	return strings.Join(parts, "; ")
}
