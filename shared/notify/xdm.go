package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/switchboard/switchboard/shared/conversation"
)

// XReplies sends X direct-message replies with the v2 API: POST
// $X_API_URL/2/dm_conversations/with/:participant_id/messages {"text"},
// the business account's OAuth 2.0 user access token as the bearer
// (X_ACCESS_TOKEN; dm.write). X takes no idempotency key: a 5xx after X
// accepted a DM could, when the job is retried, send it again; a 4xx is
// final.
type XReplies struct {
	BaseURL, Token string
	Client         *http.Client
}

// SendReply implements ReplySender.
func (x *XReplies) SendReply(ctx context.Context, m conversation.Message) (string, error) {
	body, _ := json.Marshal(map[string]string{"text": m.Body})
	u := strings.TrimSuffix(x.BaseURL, "/") + "/2/dm_conversations/with/" + url.PathEscape(m.To) + "/messages"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+x.Token)
	resp, err := x.Client.Do(req)
	if err != nil {
		return "", fmt.Errorf("x dm: %w", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var out struct {
		Data struct {
			DMConversationID string `json:"dm_conversation_id"`
			DMEventID        string `json:"dm_event_id"`
		} `json:"data"`
		Title  string `json:"title"`
		Detail string `json:"detail"`
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	_ = json.Unmarshal(raw, &out)
	reason := strings.TrimSpace(out.Title + ": " + out.Detail)
	if len(out.Errors) > 0 {
		reason = out.Errors[0].Message
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return "", fmt.Errorf("x dm: %d %s", resp.StatusCode, reason)
	case resp.StatusCode >= 400:
		return "", &PermanentError{Code: strconv.Itoa(resp.StatusCode), Reason: "X: " + strings.Trim(reason, ": ")}
	}
	if out.Data.DMEventID == "" {
		return "", errors.New("x dm: no dm_event_id in the answer")
	}
	return out.Data.DMEventID, nil
}
