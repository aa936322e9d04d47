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
}

// SendReply implements ReplySender.
func (s *WebchatReplies) SendReply(ctx context.Context, m conversation.Message) (string, error) {
	if len(m.Media) > 0 {
		return "", &PermanentError{Code: "media_unsupported", Reason: "web chat replies carry text only"}
	}
	v := webchat.ViewOf(m)
	v.Status = conversation.StatusSent
	if _, err := s.Push.Push(ctx, m.To, webchat.Frame(webchat.FrameMessage, v)); err != nil {
		return "", fmt.Errorf("webchat push: %w", err)
	}
	return "webchat:" + m.ID, nil
}
