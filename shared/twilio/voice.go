package twilio

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"

	"github.com/twilio/twilio-go/twiml"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/routing"
	"github.com/switchboard/switchboard/shared/webhook"
)

// Voice routes (DESIGN.md section 6).
const (
	VoicePath         = "/webhooks/twilio/voice"
	VoiceStatusPath   = "/webhooks/twilio/voice/status"
	RecordingPath     = "/webhooks/twilio/voice/recording"
	TranscriptionPath = "/webhooks/twilio/voice/transcription"
)

// VoiceConfig configures a VoiceHandler.
type VoiceConfig struct {
	Verifier      *Verifier
	Service       *conversation.Service
	Normalizer    conversation.Normalizer
	PublicBaseURL string
	Routing       *routing.Config
	Log           *slog.Logger
}

// VoiceHandler serves Twilio Voice: the incoming call (dial the on-duty
// agents, or voicemail), its status callback (which is also the Dial and
// Record action), and the recording and transcription callbacks. Every call,
// missed call and voicemail lands on the caller's conversation.
//
// Keys (DESIGN.md section 3): the call is twilio:call:<CallSid>, a missed
// call twilio:call:<CallSid>:missed (the Dial action and the status callback
// may both report it), a voicemail twilio:rec:<RecordingSid>. The recording
// and transcription callbacks each store the voicemail if it is not there
// yet and amend only their own fields, so their order and repetition do not
// matter. Those two callbacks do not say who called, so their URLs carry the
// caller ("from"), which Twilio signs with the rest of the URL.
//
// See https://www.twilio.com/docs/voice/twiml and
// https://www.twilio.com/docs/voice/api/call-resource#statuscallback
type VoiceHandler struct {
	cfg VoiceConfig
}

// NewVoiceHandler returns the handler.
func NewVoiceHandler(cfg VoiceConfig) *VoiceHandler {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &VoiceHandler{cfg: cfg}
}

// Register mounts the voice routes on mux.
func (h *VoiceHandler) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST "+VoicePath, h.Incoming)
	mux.HandleFunc("POST "+VoiceStatusPath, h.Status)
	mux.HandleFunc("POST "+RecordingPath, h.Recording)
	mux.HandleFunc("POST "+TranscriptionPath, h.Transcription)
}

func (h *VoiceHandler) form(r *http.Request) (webhook.Form, error) {
	form, err := VerifiedForm(r, h.cfg.Verifier, h.cfg.PublicBaseURL, 0)
	if err != nil {
		return form, err
	}
	if form.Get("CallSid") == "" {
		return webhook.Form{}, webhook.Errorf(http.StatusBadRequest, "missing CallSid")
	}
	if from := form.Get("From"); from != "" {
		if err := CheckSender(from, true); err != nil {
			return webhook.Form{}, err
		}
	}
	return form, nil
}

// caller is the identity of who called: a phone number, a Voice SDK client,
// or, for a withheld number, an address identity of its own.
func (h *VoiceHandler) caller(from string) (conversation.Identity, error) {
	if from == "" {
		from = "anonymous"
	}
	id, err := h.cfg.Normalizer.Phone(from)
	if err != nil {
		return id, webhook.Errorf(http.StatusBadRequest, "From: %v", err)
	}
	return id, nil
}

func voiceTwiML(w http.ResponseWriter, verbs ...twiml.Element) error {
	doc, err := twiml.Voice(verbs)
	if err != nil {
		return err
	}
	writeTwiML(w, []byte(doc))
	return nil
}

func (h *VoiceHandler) url(path string, q url.Values) string {
	u := h.cfg.PublicBaseURL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// Incoming answers a call: rejected if blocked, else recorded on the
// caller's conversation and either dialed to the on-duty agents or sent to
// voicemail.
func (h *VoiceHandler) Incoming(w http.ResponseWriter, r *http.Request) {
	const event = "twilio.call"
	form, err := h.form(r)
	if err != nil {
		webhook.Fail(w, r, h.cfg.Log, event, err)
		return
	}
	sid, from := form.Get("CallSid"), form.Get("From")
	attrs := []slog.Attr{slog.String("sid", sid)}
	if h.cfg.Routing.Blocked(from) {
		h.cfg.Log.LogAttrs(r.Context(), slog.LevelInfo, event, append(attrs, slog.String("outcome", "rejected_blocked"))...)
		_ = voiceTwiML(w, &twiml.VoiceReject{})
		return
	}
	id, err := h.caller(from)
	if err != nil {
		webhook.Fail(w, r, h.cfg.Log, event, err, attrs...)
		return
	}
	// Should the store fail, the call is spilled and the caller can still
	// leave a voicemail (in the default language: the contact is unknown).
	webhook.Verified(r, func(w http.ResponseWriter) { h.voicemail(w, r, "", from) })
	res, err := h.cfg.Service.Ingest(r.Context(), conversation.Inbound{
		Key: "twilio:call:" + sid, Channel: conversation.ChannelVoice, Kind: conversation.KindCall, From: id,
		FromAddress: from, To: form.Get("To"), Body: "Incoming call", Status: "ringing", Provider: "twilio", ProviderMessageID: sid,
		ReceivedAt: webhook.ReceivedAt(r),
	})
	if err != nil {
		webhook.Fail(w, r, h.cfg.Log, event, err, attrs...)
		return
	}
	if res.Message.Blocked { // an agent blocked the contact: the call is on the timeline, quietly
		h.cfg.Log.LogAttrs(r.Context(), slog.LevelInfo, event, append(attrs, slog.String("outcome", "rejected_blocked_contact"))...)
		_ = voiceTwiML(w, &twiml.VoiceReject{})
		return
	}
	conv, err := h.cfg.Service.Store.Summary(r.Context(), res.Message.ConversationID)
	if err != nil {
		webhook.Fail(w, r, h.cfg.Log, event, err, attrs...)
		return
	}
	phones := h.cfg.Routing.Dial(conv, res.Message)
	if len(phones) == 0 {
		h.cfg.Log.LogAttrs(r.Context(), slog.LevelInfo, event, append(attrs, slog.String("outcome", "voicemail"), slog.String("conversation", conv.ID))...)
		h.voicemail(w, r, conv.ContactID, from)
		return
	}
	var numbers []twiml.Element
	for _, p := range phones {
		numbers = append(numbers, &twiml.VoiceNumber{PhoneNumber: p, StatusCallback: h.url(VoiceStatusPath, nil), StatusCallbackEvent: "completed"})
	}
	h.cfg.Log.LogAttrs(r.Context(), slog.LevelInfo, event, append(attrs, slog.String("outcome", "dialing"),
		slog.String("conversation", conv.ID), slog.Int("agents", len(phones)))...)
	_ = voiceTwiML(w, &twiml.VoiceDial{Timeout: strconv.Itoa(h.cfg.Routing.DialTimeout()), Action: h.url(VoiceStatusPath, nil), InnerElements: numbers})
}

// voicemail answers with the greeting in the caller's language and a
// recording with transcription.
func (h *VoiceHandler) voicemail(w http.ResponseWriter, r *http.Request, contactID, from string) {
	lang := ""
	if contactID != "" {
		if c, err := h.cfg.Service.Store.Contact(r.Context(), contactID); err == nil {
			lang = c.Language
		}
	}
	text, sayLang := h.cfg.Routing.Greeting(lang)
	q := url.Values{"from": {from}}
	_ = voiceTwiML(w,
		&twiml.VoiceSay{Message: text, Language: sayLang},
		&twiml.VoiceRecord{
			MaxLength: "120", PlayBeep: "true", Transcribe: "true",
			TranscribeCallback:      h.url(TranscriptionPath, q),
			RecordingStatusCallback: h.url(RecordingPath, q), RecordingStatusCallbackEvent: "completed absent failed",
			Action: h.url(VoiceStatusPath, nil),
		},
		&twiml.VoiceHangup{})
}

// missedStatuses are the call and dial outcomes in which nobody answered.
var missedStatuses = map[string]bool{"no-answer": true, "busy": true, "failed": true, "canceled": true}

// Status handles the call's status callback, and is also where Dial and
// Record return: a Dial nobody answered records a missed call and goes to
// voicemail; a finished recording hangs up; a final call status records the
// call's duration, or a missed call.
func (h *VoiceHandler) Status(w http.ResponseWriter, r *http.Request) {
	const event = "twilio.call_status"
	form, err := h.form(r)
	if err != nil {
		webhook.Fail(w, r, h.cfg.Log, event, err)
		return
	}
	if conv, key := callbackEntry(r); conv != "" {
		h.callbackStatus(w, r, form, conv, key)
		return
	}
	sid, from := form.Get("CallSid"), form.Get("From")
	attrs := []slog.Attr{slog.String("sid", sid)}
	if form.Get("ParentCallSid") != "" { // an agent's leg of a Dial
		h.cfg.Log.LogAttrs(r.Context(), slog.LevelInfo, event, append(attrs, slog.String("outcome", "agent_leg"))...)
		_ = voiceTwiML(w)
		return
	}
	id, err := h.caller(from)
	if err != nil {
		webhook.Fail(w, r, h.cfg.Log, event, err, attrs...)
		return
	}
	dial, status := form.Get("DialCallStatus"), form.Get("CallStatus")
	webhook.Verified(r, func(w http.ResponseWriter) {
		if dial != "" && missedStatuses[dial] {
			h.voicemail(w, r, "", from)
			return
		}
		_ = voiceTwiML(w)
	})
	switch {
	case dial != "": // the Dial's action
		attrs = append(attrs, slog.String("dial", dial))
		if !missedStatuses[dial] {
			h.cfg.Log.LogAttrs(r.Context(), slog.LevelInfo, event, append(attrs, slog.String("outcome", "answered"))...)
			_ = voiceTwiML(w, &twiml.VoiceHangup{})
			return
		}
		conv, err := h.missed(r, id, sid, from, form.Get("To"))
		if err != nil {
			webhook.Fail(w, r, h.cfg.Log, event, err, attrs...)
			return
		}
		h.cfg.Log.LogAttrs(r.Context(), slog.LevelInfo, event, append(attrs, slog.String("outcome", "missed_to_voicemail"))...)
		h.voicemail(w, r, conv.ContactID, from)
	case form.Get("RecordingUrl") != "" && status == "in-progress": // the Record's action
		_ = voiceTwiML(w, &twiml.VoiceHangup{})
	case missedStatuses[status]:
		if _, err := h.missed(r, id, sid, from, form.Get("To")); err != nil {
			webhook.Fail(w, r, h.cfg.Log, event, err, attrs...)
			return
		}
		h.cfg.Log.LogAttrs(r.Context(), slog.LevelInfo, event, append(attrs, slog.String("outcome", "missed"), slog.String("status", status))...)
		_ = voiceTwiML(w)
	case status == "completed":
		d, _ := strconv.Atoi(form.Get("CallDuration"))
		err := h.amendCall(r.Context(), id, sid, conversation.Amend{Status: "completed", DurationSeconds: d})
		if err != nil && !errors.Is(err, conversation.ErrNotFound) {
			webhook.Fail(w, r, h.cfg.Log, event, err, attrs...)
			return
		}
		h.cfg.Log.LogAttrs(r.Context(), slog.LevelInfo, event, append(attrs, slog.String("outcome", "completed"), slog.Int("duration", d))...)
		_ = voiceTwiML(w)
	default:
		h.cfg.Log.LogAttrs(r.Context(), slog.LevelInfo, event, append(attrs, slog.String("outcome", "ignored"), slog.String("status", status))...)
		_ = voiceTwiML(w)
	}
}

// missed records a missed call (once, whichever callback reports it first)
// and marks the call itself missed.
func (h *VoiceHandler) missed(r *http.Request, id conversation.Identity, sid, from, to string) (conversation.Conversation, error) {
	ctx := r.Context()
	res, err := h.cfg.Service.Ingest(ctx, conversation.Inbound{
		Key: "twilio:call:" + sid + ":missed", Channel: conversation.ChannelVoice, Kind: conversation.KindMissedCall, From: id,
		FromAddress: from, To: to, Body: "Missed call", Status: "missed", Provider: "twilio", ProviderMessageID: sid,
		ReceivedAt: webhook.ReceivedAt(r),
	})
	if err != nil {
		return conversation.Conversation{}, err
	}
	if err := h.cfg.Service.Amend(ctx, res.Message.ConversationID, "twilio:call:"+sid, conversation.Amend{Status: "missed"}); err != nil && !errors.Is(err, conversation.ErrNotFound) {
		return conversation.Conversation{}, err
	}
	return h.cfg.Service.Store.Summary(ctx, res.Message.ConversationID)
}

func (h *VoiceHandler) amendCall(ctx context.Context, id conversation.Identity, sid string, a conversation.Amend) error {
	route, err := h.cfg.Service.Store.Route(ctx, id)
	if err != nil {
		return err
	}
	return h.cfg.Service.Amend(ctx, route.ConversationID, "twilio:call:"+sid, a)
}

// voicemailEntry stores the voicemail if neither callback has yet, and
// amends it with a.
func (h *VoiceHandler) voicemailEntry(ctx context.Context, r *http.Request, form webhook.Form, a conversation.Amend) (string, error) {
	rec := form.Get("RecordingSid")
	if rec == "" {
		return "", webhook.Errorf(http.StatusBadRequest, "missing RecordingSid")
	}
	from := r.URL.Query().Get("from")
	id, err := h.caller(from)
	if err != nil {
		return "", err
	}
	body := "Voicemail"
	if a.Status == "absent" {
		body = "Call ended without a voicemail"
	}
	res, err := h.cfg.Service.Ingest(ctx, conversation.Inbound{
		Key: "twilio:rec:" + rec, Channel: conversation.ChannelVoice, Kind: conversation.KindVoicemail, From: id,
		FromAddress: from, Body: body, Status: a.Status, DurationSeconds: a.DurationSeconds, Media: a.Media,
		Provider: "twilio", ProviderMessageID: rec, ReceivedAt: webhook.ReceivedAt(r),
	})
	if err != nil {
		return "", err
	}
	if err := h.cfg.Service.Amend(ctx, res.Message.ConversationID, "twilio:rec:"+rec, a); err != nil {
		return "", err
	}
	return rec, nil
}

// Recording records a voicemail's recording: its URL and duration, or that
// it is absent or failed.
func (h *VoiceHandler) Recording(w http.ResponseWriter, r *http.Request) {
	if conv, key := callbackEntry(r); conv != "" {
		form, err := h.form(r)
		if err != nil {
			webhook.Fail(w, r, h.cfg.Log, "twilio.callback_recording", err)
			return
		}
		h.callbackRecording(w, r, form, conv, key)
		return
	}
	h.voicemailCallback(w, r, "twilio.recording", func(form webhook.Form) (conversation.Amend, []slog.Attr, error) {
		status := form.Get("RecordingStatus")
		if status == "" {
			status = "completed"
		}
		d, _ := strconv.Atoi(form.Get("RecordingDuration"))
		a := conversation.Amend{Status: status, DurationSeconds: d}
		if u := form.Get("RecordingUrl"); u != "" && status == "completed" {
			a.Media = []conversation.Media{{URL: u, ContentType: "audio/x-wav"}}
		}
		return a, []slog.Attr{slog.String("outcome", status), slog.Int("duration", d)}, nil
	})
}

// Transcription attaches a voicemail's transcript (or that it failed).
func (h *VoiceHandler) Transcription(w http.ResponseWriter, r *http.Request) {
	h.voicemailCallback(w, r, "twilio.transcription", func(form webhook.Form) (conversation.Amend, []slog.Attr, error) {
		if form.Get("TranscriptionSid") == "" {
			return conversation.Amend{}, nil, webhook.Errorf(http.StatusBadRequest, "missing TranscriptionSid")
		}
		status := form.Get("TranscriptionStatus")
		if status == "" {
			status = "completed"
		}
		return conversation.Amend{Transcript: form.Get("TranscriptionText"), TranscriptStatus: status},
			[]slog.Attr{slog.String("transcription", form.Get("TranscriptionSid")), slog.String("outcome", status)}, nil
	})
}

// voicemailCallback is both voicemail callbacks: verify, store the voicemail
// if it is not there yet, amend the fields this callback knows, answer 200.
func (h *VoiceHandler) voicemailCallback(w http.ResponseWriter, r *http.Request, event string, amend func(webhook.Form) (conversation.Amend, []slog.Attr, error)) {
	form, err := h.form(r)
	if err != nil {
		webhook.Fail(w, r, h.cfg.Log, event, err)
		return
	}
	a, attrs, err := amend(form)
	if err != nil {
		webhook.Fail(w, r, h.cfg.Log, event, err, slog.String("sid", form.Get("CallSid")))
		return
	}
	webhook.Verified(r, func(w http.ResponseWriter) { w.WriteHeader(http.StatusOK) })
	rec, err := h.voicemailEntry(r.Context(), r, form, a)
	if err != nil {
		webhook.Fail(w, r, h.cfg.Log, event, err, slog.String("sid", form.Get("CallSid")))
		return
	}
	h.cfg.Log.LogAttrs(r.Context(), slog.LevelInfo, event,
		append([]slog.Attr{slog.String("sid", form.Get("CallSid")), slog.String("recording", rec)}, attrs...)...)
	w.WriteHeader(http.StatusOK)
}
