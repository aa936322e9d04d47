package twilio

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/twilio/twilio-go/twiml"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/webhook"
)

// An agent's callback (conversation.Callback, placed by notify.TwilioCalls)
// reports to the same voice webhooks as a customer's call, its URLs naming
// the call entry (?callback=<conversation>&key=<entry key>, signed by
// Twilio with the rest of the URL): the Dial's action says how the
// customer's leg went (completed with its duration, or no-answer, busy,
// failed, canceled), the call's final status how the agent's did
// (agent-no-answer, agent-busy, agent-failed, agent-canceled; ended when
// the agent hung up before the customer was dialed), and the recording of
// the bridged call is the entry's medium, copied by the media pipeline.

// callbackEntry is the call entry a callback webhook names, "" if none.
func callbackEntry(r *http.Request) (conv, key string) {
	q := r.URL.Query()
	return q.Get("callback"), q.Get("key")
}

// callbackStatus handles a callback's Dial action and status callback.
func (h *VoiceHandler) callbackStatus(w http.ResponseWriter, r *http.Request, form webhook.Form, conv, key string) {
	const event = "twilio.callback_status"
	attrs := []slog.Attr{slog.String("sid", form.Get("CallSid")), slog.String("conversation", conv)}
	dial, status := form.Get("DialCallStatus"), form.Get("CallStatus")
	var a conversation.Amend
	answer := []twiml.Element{}
	switch {
	case dial != "": // the Dial's action: the customer's leg
		a.Status = dial
		if dial == "completed" {
			a.DurationSeconds, _ = strconv.Atoi(form.Get("DialCallDuration"))
		}
		answer = append(answer, &twiml.VoiceHangup{})
	case missedStatuses[status]: // the agent's leg, never answered
		a.Status = "agent-" + status
	case status == "completed":
		// The agent answered; the Dial's action has said how the customer's
		// leg went, unless the agent hung up before it did.
		m, err := h.cfg.Service.Store.Message(r.Context(), conv, key)
		if err != nil && !errors.Is(err, conversation.ErrNotFound) {
			webhook.Fail(w, r, h.cfg.Log, event, err, attrs...)
			return
		}
		if err == nil && m.Status == conversation.StatusSent {
			a.Status = "ended"
		}
	}
	webhook.Verified(r, func(w http.ResponseWriter) { _ = voiceTwiML(w, answer...) })
	if a.Status != "" {
		err := h.cfg.Service.Amend(r.Context(), conv, key, a)
		if errors.Is(err, conversation.ErrNotFound) {
			h.cfg.Log.LogAttrs(r.Context(), slog.LevelWarn, event, append(attrs, slog.String("outcome", "unknown_callback"))...)
			_ = voiceTwiML(w, answer...)
			return
		}
		if err != nil {
			webhook.Fail(w, r, h.cfg.Log, event, err, attrs...)
			return
		}
	}
	h.cfg.Log.LogAttrs(r.Context(), slog.LevelInfo, event, append(attrs, slog.String("outcome", a.Status), slog.String("status", status),
		slog.String("dial", dial), slog.Int("duration", a.DurationSeconds))...)
	_ = voiceTwiML(w, answer...)
}

// callbackRecording puts the recording of a bridged callback on its entry.
func (h *VoiceHandler) callbackRecording(w http.ResponseWriter, r *http.Request, form webhook.Form, conv, key string) {
	const event = "twilio.callback_recording"
	attrs := []slog.Attr{slog.String("sid", form.Get("CallSid")), slog.String("recording", form.Get("RecordingSid"))}
	u := form.Get("RecordingUrl")
	if form.Get("RecordingStatus") != "completed" || u == "" {
		h.cfg.Log.LogAttrs(r.Context(), slog.LevelInfo, event, append(attrs, slog.String("outcome", "ignored"), slog.String("status", form.Get("RecordingStatus")))...)
		w.WriteHeader(http.StatusOK)
		return
	}
	webhook.Verified(r, func(w http.ResponseWriter) { w.WriteHeader(http.StatusOK) })
	err := h.cfg.Service.Amend(r.Context(), conv, key, conversation.Amend{Media: []conversation.Media{{URL: u, ContentType: "audio/x-wav"}}})
	if err != nil && !errors.Is(err, conversation.ErrNotFound) {
		webhook.Fail(w, r, h.cfg.Log, event, err, attrs...)
		return
	}
	h.cfg.Log.LogAttrs(r.Context(), slog.LevelInfo, event, append(attrs, slog.String("outcome", "recorded"))...)
	w.WriteHeader(http.StatusOK)
}
