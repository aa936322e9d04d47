package email

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/switchboard/switchboard/shared/webhook"
)

// DevPath is the dev server's route for a raw RFC 5322 message (in AWS, mail
// arrives through SES and S3, never over HTTP).
const DevPath = "/dev/email"

// DevHandler ingests a raw message POSTed to DevPath, as the S3 trigger does
// in AWS; its source is "dev:<sha256 of the message>". It answers 200 with
// what was stored, 400 with the reason for a message that cannot be read
// (recorded as a failure, as in AWS), 5xx for a failure of ours.
type DevHandler struct {
	Intake *Intake
}

// Register mounts the handler.
func (h *DevHandler) Register(mux *http.ServeMux) { mux.Handle("POST "+DevPath, h) }

func (h *DevHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := webhook.ReadBody(r, MaxSize)
	if err != nil {
		webhook.Fail(w, r, h.Intake.log(), "email.ingest", err)
		return
	}
	sum := sha256.Sum256(body)
	source := "dev:" + hex.EncodeToString(sum[:])
	res, err := h.Intake.Ingest(r.Context(), bytes.NewReader(body), source, time.Now())
	if errors.Is(err, ErrMalformed) {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err != nil {
		webhook.Fail(w, r, h.Intake.log(), "email.ingest", err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"conversationId": res.Message.ConversationID, "messageId": res.Message.ID, "kind": res.Message.Kind,
		"duplicate": res.Duplicate, "newConversation": res.NewConversation, "source": source,
	})
}
