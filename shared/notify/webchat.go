package notify

import (
	"context"
	"fmt"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/webchat"
)

// WebchatReplies sends web chat replies: the reply is already on the
// visitor's timeline (GET /chat/messages shows it), so sending is pushing
// it to the visitor's live sockets, if any (the widget drops a frame it
// has, so a push repeated by a retried job shows once). A visitor with no
// live socket sees it at its next sync; the reply is sent either way.
type WebchatReplies struct {
	Push webchat.Pusher
	// Media links an agent's attachments (a presigned GET each).
	Media MediaLinks
}

// SendReply implements ReplySender.
func (s *WebchatReplies) SendReply(ctx context.Context, m conversation.Message) (string, error) {
	id, _, err := s.SendReplyStatus(ctx, m)
	return id, err
}

// SendReplyStatus is SendReply saying whether a live socket took it
// (delivered) or the reply waits for the visitor's next sync (sent; the
// notifier then sets the CHAT_OFFLINE_AFTER timer of the email follow-up).
func (s *WebchatReplies) SendReplyStatus(ctx context.Context, m conversation.Message) (string, string, error) {
	urls, err := links(ctx, s.Media, m.Media)
	if err != nil {
		return "", "", err
	}
	i := 0
	v := webchat.ViewOf(m, func(string) string { i++; return urls[i-1] })
	v.Status = conversation.StatusSent
	n, err := s.Push.Push(ctx, m.To, webchat.Frame(webchat.FrameMessage, v))
	if err != nil {
		return "", "", fmt.Errorf("webchat push: %w", err)
	}
	if n > 0 {
		return "webchat:" + m.ID, conversation.StatusDelivered, nil
	}
	return "webchat:" + m.ID, conversation.StatusSent, nil
}
