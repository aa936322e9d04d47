package care

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/routing"
)

// SurveyPath is the route of a survey link's answer (DESIGN.md section 6).
const SurveyPath = "/csat/"

// SurveySecret names the key survey tokens are signed with (kept in the
// table, made on first use: Store.Secret).
const SurveySecret = "csat"

// closed sends a closed conversation's survey, at once or after the
// team's delay (a timer): once per conversation (its key), never for a
// conversation a merge closed, nor one surveyed or rated already.
func (a *Automation) closed(ctx context.Context, conv conversation.Conversation) error {
	team := a.Routing.TeamOf(conv.Team)
	if team == nil || !team.CSAT.Enabled || conv.Status != conversation.StatusClosed || conv.MergedInto != "" ||
		conv.CSAT != nil || !conv.SurveyUntil.IsZero() {
		return nil
	}
	if d := team.SurveyDelay(); d > 0 {
		t := conversation.Timer{Due: conv.ClosedAt.Add(d), Kind: conversation.TimerSurvey, ConversationID: conv.ID,
			Ref: conv.ClosedAt.UTC().Format(time.RFC3339Nano)}
		if err := a.Timers.PutTimer(ctx, t); err != nil {
			return fmt.Errorf("set survey timer: %w", err)
		}
		return nil
	}
	return a.survey(ctx, conv, team)
}

// delayedSurvey fires a survey timer: if the conversation is still closed
// by the close that set it (not reopened, nor closed again since).
func (a *Automation) delayedSurvey(ctx context.Context, t conversation.Timer) error {
	conv, err := a.Service.Store.Summary(ctx, t.ConversationID)
	if errors.Is(err, conversation.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read conversation: %w", err)
	}
	if conv.Status != conversation.StatusClosed || conv.ClosedAt.UTC().Format(time.RFC3339Nano) != t.Ref || conv.CSAT != nil {
		return nil
	}
	return a.survey(ctx, conv, a.Routing.TeamOf(conv.Team))
}

// survey queues the survey on the channel the customer last used: "reply
// 1 to 5" where one replies, five signed links by email and web chat.
func (a *Automation) survey(ctx context.Context, conv conversation.Conversation, team *routing.Team) error {
	rt := a.Routing
	language := rt.Language(team)
	if c, err := a.Service.Store.Contact(ctx, conv.ContactID); err == nil && c.Language != "" {
		language = c.Language
	}
	expires := a.Service.Clock().Add(team.SurveyWindow()).UTC()
	secret, err := a.Service.Store.Secret(ctx, SurveySecret)
	if err != nil {
		return fmt.Errorf("read survey key: %w", err)
	}
	body := func(ch conversation.Channel) string {
		if ch == conversation.ChannelEmail || ch == conversation.ChannelWebchat {
			text, _, ok := rt.Text(rt.AutoReplies.CSATLinks, language)
			if !ok {
				text = routing.DefaultCSATLinks
			}
			token := SurveyToken(secret, conv.ID, ch, expires)
			var links []string
			for n := 1; n <= 5; n++ {
				links = append(links, fmt.Sprintf("%d: %s%s%s?score=%d", n, strings.TrimSuffix(a.PublicBaseURL, "/"), SurveyPath, token, n))
			}
			return strings.ReplaceAll(text, "{links}", strings.Join(links, "\n"))
		}
		for _, texts := range []map[string]string{team.CSAT.Text, rt.AutoReplies.CSAT} {
			if text, _, ok := rt.Text(texts, language); ok {
				return text
			}
		}
		return routing.DefaultCSATText
	}
	return a.send(ctx, conv, conversation.AutoRequest{Key: "csat:survey:" + conv.ID, Auto: conversation.AutoSurvey, Body: body, ExpiresAt: expires})
}

// SurveyToken is a survey link's token: the conversation, the channel and
// the survey's end, signed (HMAC-SHA256, truncated to 128 bits).
func SurveyToken(secret []byte, conversationID string, ch conversation.Channel, expires time.Time) string {
	payload := conversationID + "." + string(ch) + "." + strconv.FormatInt(expires.Unix(), 10)
	return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + base64.RawURLEncoding.EncodeToString(surveyMAC(secret, payload))
}

func surveyMAC(secret []byte, payload string) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte("csat:" + payload))
	return h.Sum(nil)[:16]
}

// Why a token is refused.
var (
	ErrBadToken     = errors.New("this survey link is not valid")
	ErrExpiredToken = errors.New("this survey has closed")
)

// ParseSurveyToken checks a token's signature and end: the conversation
// and channel it was made for.
func ParseSurveyToken(secret []byte, token string, now time.Time) (string, conversation.Channel, error) {
	p64, s64, ok := strings.Cut(token, ".")
	payload, err1 := base64.RawURLEncoding.DecodeString(p64)
	sig, err2 := base64.RawURLEncoding.DecodeString(s64)
	if !ok || err1 != nil || err2 != nil || !hmac.Equal(sig, surveyMAC(secret, string(payload))) {
		return "", "", ErrBadToken
	}
	parts := strings.Split(string(payload), ".")
	if len(parts) != 3 {
		return "", "", ErrBadToken
	}
	exp, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return "", "", ErrBadToken
	}
	if !now.Before(time.Unix(exp, 0)) {
		return "", "", ErrExpiredToken
	}
	return parts[0], conversation.Channel(parts[1]), nil
}

// Surveys serves GET /csat/{token}?score=N: the answer to an email or web
// chat survey, recorded once (a second click, or one after a texted
// answer, records nothing and says so). The pages are fixed text: nothing
// of the customer's is shown.
type Surveys struct {
	Service *conversation.Service
	Log     *slog.Logger
}

// surveyRoute is the one route Surveys serves; its token is its authority,
// so it is deployed without the agents' authorizer.
const surveyRoute = "GET " + SurveyPath + "{token}"

// Routes lists what Register mounts, for the template's check.
func Routes() []string { return []string{surveyRoute} }

// Register mounts the route.
func (s *Surveys) Register(mux *http.ServeMux) { mux.HandleFunc(surveyRoute, s.Answer) }

// Answer records a survey link's score.
func (s *Surveys) Answer(w http.ResponseWriter, r *http.Request) {
	log := s.Log
	if log == nil {
		log = slog.Default()
	}
	secret, err := s.Service.Store.Secret(r.Context(), SurveySecret)
	if err != nil {
		log.LogAttrs(r.Context(), slog.LevelError, "csat.answer", slog.String("outcome", "error"), slog.String("error", err.Error()))
		page(w, http.StatusInternalServerError, "Sorry, we could not record your answer just now. Please try the link again in a minute.")
		return
	}
	id, ch, err := ParseSurveyToken(secret, r.PathValue("token"), s.Service.Clock())
	switch {
	case errors.Is(err, ErrExpiredToken):
		page(w, http.StatusGone, "Thank you, but this survey has closed.")
		return
	case err != nil:
		page(w, http.StatusNotFound, "This survey link is not valid.")
		return
	}
	score, err := strconv.Atoi(r.URL.Query().Get("score"))
	if err != nil || score < 1 || score > 5 {
		page(w, http.StatusBadRequest, "Please choose a score from 1 to 5.")
		return
	}
	recorded, err := s.Service.AnswerSurvey(r.Context(), id, score, ch)
	outcome := "recorded"
	switch {
	case errors.Is(err, conversation.ErrSurveyClosed):
		page(w, http.StatusGone, "Thank you, but this survey has closed.")
		return
	case errors.Is(err, conversation.ErrNotFound), errors.Is(err, conversation.ErrErased):
		page(w, http.StatusNotFound, "This survey link is not valid.")
		return
	case err != nil:
		log.LogAttrs(r.Context(), slog.LevelError, "csat.answer", slog.String("outcome", "error"), slog.String("conversation", id), slog.String("error", err.Error()))
		page(w, http.StatusInternalServerError, "Sorry, we could not record your answer just now. Please try the link again in a minute.")
		return
	case recorded:
		page(w, http.StatusOK, fmt.Sprintf("Thank you! You rated us %d out of 5.", score))
	default:
		outcome = "already_answered"
		page(w, http.StatusOK, "Thank you, your answer was already recorded.")
	}
	log.LogAttrs(r.Context(), slog.LevelInfo, "csat.answer", slog.String("outcome", outcome), slog.String("conversation", id), slog.Int("score", score))
}

// page writes a small fixed page.
func page(w http.ResponseWriter, status int, text string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>Your feedback</title>`+
		`<body style="font:18px/1.5 system-ui,sans-serif;max-width:32em;margin:4em auto;padding:0 1em"><p role="status">%s</p></body></html>`, html.EscapeString(text))
}
