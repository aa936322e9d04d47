package routing

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/lang"
)

// AutoReplies are the texts Switchboard sends on its own, each by language
// (BCP 47: "es", "pt-BR"; a message is answered in the contact's language,
// else the one detected, else the team's, else DefaultLanguage):
//   - Ack answers the message that opens a conversation; without any, the
//     default language's is ACK_TEXT (email: email.ack).
//   - OutOfHours answers a message while the team is closed, instead of
//     Ack, once per closed spell; {time}, {date} and {zone} are the next
//     opening in the team's zone ("09:00", "2026-12-07", "CET").
//   - MissedCall is texted to a caller nobody answered (default:
//     voice.missedCallSms).
//   - CSAT is the survey on a channel one replies on ("reply 1 to 5");
//     CSATLinks the survey by email and web chat, {links} the five score
//     links. Built-in English texts stand in when neither has the language.
type AutoReplies struct {
	DefaultLanguage string            `json:"defaultLanguage,omitempty"`
	Ack             map[string]string `json:"ack,omitempty"`
	OutOfHours      map[string]string `json:"outOfHours,omitempty"`
	MissedCall      map[string]string `json:"missedCall,omitempty"`
	CSAT            map[string]string `json:"csat,omitempty"`
	CSATLinks       map[string]string `json:"csatLinks,omitempty"`
}

// The built-in survey texts.
const (
	DefaultCSATText  = "How did we do? Reply with a number from 1 (poor) to 5 (great)."
	DefaultCSATLinks = "How did we do? Choose a score from 1 (poor) to 5 (great):\n{links}"
)

// CSAT configures a team's satisfaction survey: off unless Enabled; sent
// Delay after the close ("0s": at once) on the channel the customer last
// used; answered within Window (default 72h). Text overrides the
// document's autoReplies.csat for this team.
type CSAT struct {
	Enabled bool              `json:"enabled"`
	Delay   string            `json:"delay,omitempty"`
	Window  string            `json:"window,omitempty"`
	Text    map[string]string `json:"text,omitempty"`

	delay, window time.Duration
}

// Escalation is who hears of a customer nobody answered in time: another
// team's members, one agent, or an on-call phone (texted).
type Escalation struct {
	Team  string `json:"team,omitempty"`
	Agent string `json:"agent,omitempty"`
	Phone string `json:"phone,omitempty"`
}

// DefaultCSATWindow is how long a survey can be answered.
const DefaultCSATWindow = 72 * time.Hour

// SurveyDelay, SurveyWindow: a team's survey timing.
func (t *Team) SurveyDelay() time.Duration { return t.CSAT.delay }

// SurveyWindow is how long the team's survey can be answered.
func (t *Team) SurveyWindow() time.Duration {
	if t.CSAT.window > 0 {
		return t.CSAT.window
	}
	return DefaultCSATWindow
}

// EscalateAfterDuration is the team's escalation wait (0: none).
func (t *Team) EscalateAfterDuration() time.Duration { return t.escalate }

// Location is the team's time zone.
func (t *Team) Location() *time.Location { return t.loc }

// validCare checks the auto-replies, and each team's language, survey and
// escalation.
func (c *Config) validCare() []error {
	var errs []error
	for name, texts := range map[string]map[string]string{"ack": c.AutoReplies.Ack, "outOfHours": c.AutoReplies.OutOfHours,
		"missedCall": c.AutoReplies.MissedCall, "csat": c.AutoReplies.CSAT, "csatLinks": c.AutoReplies.CSATLinks} {
		for l, text := range texts {
			if l == "" || strings.TrimSpace(text) == "" {
				errs = append(errs, fmt.Errorf("autoReplies.%s: a language %q with an empty text", name, l))
			}
		}
	}
	for l, text := range c.AutoReplies.CSATLinks {
		if !strings.Contains(text, "{links}") {
			errs = append(errs, fmt.Errorf("autoReplies.csatLinks.%s has no {links}", l))
		}
	}
	for _, t := range c.Teams {
		var err error
		if t.CSAT.Delay != "" {
			if t.CSAT.delay, err = time.ParseDuration(t.CSAT.Delay); err != nil || t.CSAT.delay < 0 {
				errs = append(errs, fmt.Errorf("team %q: csat.delay %q is not a duration like 1h", t.ID, t.CSAT.Delay))
			}
		}
		if t.CSAT.Window != "" {
			if t.CSAT.window, err = time.ParseDuration(t.CSAT.Window); err != nil || t.CSAT.window <= 0 {
				errs = append(errs, fmt.Errorf("team %q: csat.window %q is not a duration like 72h", t.ID, t.CSAT.Window))
			}
		}
		if t.EscalateAfter != "" {
			if t.escalate, err = time.ParseDuration(t.EscalateAfter); err != nil || t.escalate < time.Minute {
				errs = append(errs, fmt.Errorf("team %q: escalateAfter %q: want a duration of a minute or more", t.ID, t.EscalateAfter))
			}
			e := t.EscalateTo
			n := 0
			for _, s := range []string{e.Team, e.Agent, e.Phone} {
				if s != "" {
					n++
				}
			}
			if n != 1 {
				errs = append(errs, fmt.Errorf("team %q: escalateTo needs exactly one of team, agent or phone", t.ID))
			}
			if e.Team != "" && c.teams[e.Team] == nil {
				errs = append(errs, fmt.Errorf("team %q: escalateTo names unknown team %q", t.ID, e.Team))
			}
			if e.Agent != "" && c.agents[e.Agent] == nil {
				errs = append(errs, fmt.Errorf("team %q: escalateTo names unknown agent %q", t.ID, e.Agent))
			}
			if e.Phone != "" && !strings.HasPrefix(e.Phone, "+") {
				errs = append(errs, fmt.Errorf("team %q: escalateTo.phone %q: want E.164, like +14155550100", t.ID, e.Phone))
			}
		} else if t.EscalateTo != (Escalation{}) {
			errs = append(errs, fmt.Errorf("team %q: escalateTo without escalateAfter", t.ID))
		}
	}
	return errs
}

// TeamOf is the team with id, else the default team.
func (c *Config) TeamOf(id string) *Team {
	if t := c.teams[id]; t != nil {
		return t
	}
	return c.teams[c.DefaultTeam]
}

// Text picks the text for language tag from texts: the tag, its base
// language, then the document's default language, then English.
func (c *Config) Text(texts map[string]string, tag string) (string, string, bool) {
	for _, l := range []string{tag, lang.Base(tag), c.AutoReplies.DefaultLanguage, "en"} {
		if t, ok := texts[l]; ok && l != "" {
			return t, l, true
		}
	}
	return "", "", false
}

// Language is what a team answers in when the customer's is unknown.
func (c *Config) Language(t *Team) string {
	switch {
	case t != nil && t.Language != "":
		return t.Language
	case c.AutoReplies.DefaultLanguage != "":
		return c.AutoReplies.DefaultLanguage
	}
	return "en"
}

// maxClosedDays is how far ahead NextOpen looks (a week and a day: any
// week with hours opens within it).
const maxClosedDays = 8

// NextOpen is when a team closed at at next opens (zero if it never does:
// hours that name no day). A team without hours is always open: at itself.
func (t *Team) NextOpen(at time.Time) time.Time {
	if len(t.Hours) == 0 || t.Open(at) {
		return at
	}
	local := at.In(t.loc)
	for d := 0; d < maxClosedDays; d++ {
		day := time.Date(local.Year(), local.Month(), local.Day()+d, 0, 0, 0, 0, t.loc)
		sp, ok := t.days[day.Weekday()]
		if !ok {
			continue
		}
		// time.Date normalises a start in a DST gap forward, as clocks do.
		start := time.Date(day.Year(), day.Month(), day.Day(), sp.start/60, sp.start%60, 0, 0, t.loc)
		if start.After(at) {
			return start
		}
	}
	return time.Time{}
}

// Fill puts a team's next opening into an out-of-hours text.
func Fill(text string, opens time.Time) string {
	if opens.IsZero() {
		return strings.NewReplacer("{time}", "", "{date}", "", "{zone}", "").Replace(text)
	}
	zone, _ := opens.Zone()
	return strings.NewReplacer("{time}", opens.Format("15:04"), "{date}", opens.Format(time.DateOnly), "{zone}", zone).Replace(text)
}

// ReasonEscalated is the Recipient.Reason of an escalation.
const ReasonEscalated = "escalated"

// Escalation is who team's escalation reaches: agents (of the target team,
// away or not — an escalation is for whoever is on call — or the one
// agent), or an on-call phone to text.
func (c *Config) Escalation(t *Team) (agents []Recipient, phone string) {
	e := t.EscalateTo
	switch {
	case e.Team != "":
		for i := range c.Agents {
			a := &c.Agents[i]
			if slices.Contains(a.Teams, e.Team) {
				agents = append(agents, Recipient{Agent: a, Team: e.Team, Reason: ReasonEscalated})
			}
		}
	case e.Agent != "":
		if a := c.agents[e.Agent]; a != nil {
			agents = append(agents, Recipient{Agent: a, Team: t.ID, Reason: ReasonEscalated})
		}
	}
	return agents, e.Phone
}

// TeamFor is the team a message on conv is routed to (the first matching
// rule, else the conversation's, else the default team).
func (c *Config) TeamFor(conv conversation.Conversation, m conversation.Message) *Team {
	return c.teams[c.teamFor(conv, m)]
}
