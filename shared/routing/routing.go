// Package routing decides which agents hear of a customer's message: the
// conversation's assignee when there is one, else the on-duty agents of the
// team the rules pick, in the team's business hours and IANA time zone, with
// follow-the-sun handoff to the next team that is open.
//
// The configuration is one JSON document (a file locally, an SSM parameter in
// AWS), validated as a whole at start. time/tzdata is embedded because
// provided.al2023 ships no zoneinfo.
package routing

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // provided.al2023 has no /usr/share/zoneinfo

	"github.com/switchboard/switchboard/shared/conversation"
)

// Sink types an agent can be reached on.
const (
	SinkSMS     = "sms"
	SinkEmail   = "email"
	SinkSlack   = "slack"
	SinkWebhook = "webhook"
)

// Sink is one way to reach an agent: a phone number (sms), an address
// (email), an incoming-webhook URL (slack) or an endpoint (webhook).
type Sink struct {
	Type string `json:"type"`
	To   string `json:"to"`
}

// Agent is a person who answers customers.
type Agent struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Email names the agent in a JWT's email claim (DESIGN.md section 6).
	Email string   `json:"email,omitempty"`
	Teams []string `json:"teams"`
	Sinks []Sink   `json:"sinks"`
	// Away agents are not notified as on-duty team members.
	Away bool `json:"away,omitempty"`
	// Phone is dialed when a customer calls and the agent is on duty.
	Phone string `json:"phone,omitempty"`
}

// Voice configures incoming calls.
type Voice struct {
	// Blocked callers (as Twilio sends From: "+14155550100") are rejected.
	Blocked []string `json:"blocked,omitempty"`
	// DialTimeout is how many seconds agents' phones ring; default 20.
	DialTimeout int `json:"dialTimeout,omitempty"`
	// Greetings by language ("en", "es", "pt-BR") for voicemail; "en" is
	// the fallback, with a built-in text if it is missing.
	Greetings map[string]string `json:"greetings,omitempty"`
	// MissedCallSMS, if set, is texted once to a caller nobody answered.
	MissedCallSMS string `json:"missedCallSms,omitempty"`
}

// Email configures the email channel.
type Email struct {
	// Address is the support address SES receives for ("support@example.com");
	// acknowledgements come from it, replies go to its +token form, and mail
	// from it is never acknowledged.
	Address string `json:"address,omitempty"`
	// Ack, if set, is the text sent once to a customer whose email opened a
	// conversation (never to automated mail or junk).
	Ack string `json:"ack,omitempty"`
}

// DefaultGreeting is the voicemail greeting when none is configured.
const DefaultGreeting = "Thanks for calling. We can't take your call right now. Please leave a message after the tone and we'll get back to you."

// Team is a group of agents with business hours in its own time zone.
type Team struct {
	ID       string `json:"id"`
	TimeZone string `json:"timeZone"`
	// Hours maps "mon".."sun" to "HH:MM-HH:MM" (an end at or before the
	// start runs past midnight). No hours at all means always open; a day
	// missing from non-empty hours is closed.
	Hours map[string]string `json:"hours,omitempty"`
	// Handoff lists the teams that take over, in order, while this one is
	// closed (follow-the-sun).
	Handoff []string `json:"handoff,omitempty"`
	// Language is what the team answers in when the customer's is
	// unknown (default: autoReplies.defaultLanguage, else "en").
	Language string `json:"language,omitempty"`
	// CSAT is the team's satisfaction survey (off unless enabled).
	CSAT CSAT `json:"csat,omitzero"`
	// EscalateAfter: a customer nobody answered for this long (a Go
	// duration, "30m") is told to EscalateTo.
	EscalateAfter string     `json:"escalateAfter,omitempty"`
	EscalateTo    Escalation `json:"escalateTo,omitzero"`

	escalate time.Duration
	loc      *time.Location
	days     map[time.Weekday]span
}

type span struct{ start, end int } // minutes after midnight

// Rule sends messages on Channel (any, if empty) containing Keyword (any, if
// empty; case-insensitive) to Team. The first matching rule wins.
type Rule struct {
	Channel string `json:"channel,omitempty"`
	Keyword string `json:"keyword,omitempty"`
	Team    string `json:"team"`
}

// Config is the routing document.
type Config struct {
	DefaultTeam string  `json:"defaultTeam"`
	Teams       []*Team `json:"teams"`
	Agents      []Agent `json:"agents"`
	Rules       []Rule  `json:"rules,omitempty"`
	// CoalesceWindow: messages of one conversation within this long of the
	// first one make one notification per agent ("3 new messages"). Go
	// duration syntax, at most 15m (SQS's longest delay); "" or "0s" notifies
	// every message.
	CoalesceWindow string `json:"coalesceWindow,omitempty"`
	Voice          Voice  `json:"voice,omitempty"`
	Email          Email  `json:"email,omitempty"`
	// Templates are the approved WhatsApp message templates agents may
	// send (the only messages WhatsApp allows 24 hours after the customer's
	// last one): name, language, body with {{1}}… parameters, and the
	// Twilio Content API id (twilioContentSid) for Twilio's WhatsApp.
	Templates []conversation.Template `json:"templates,omitempty"`
	// Sites are the websites that embed the web chat widget.
	Sites []Site `json:"sites,omitempty"`
	// AutoReplies are the automatic texts by language (see AutoReplies).
	AutoReplies AutoReplies `json:"autoReplies,omitzero"`

	window time.Duration
	teams  map[string]*Team
	agents map[string]*Agent
}

// Site is a website with the web chat widget (GET /chat/widget.js): its id
// (the widget's data-site, the identities' namespace chat:<site>:…), the
// name its header shows, the origins (scheme://host[:port]) whose pages may
// call /chat/* and open its socket, whether the widget asks for an email
// before the chat ("off", "optional", "required"), its default language,
// and whether only visitors the site vouches for (identifierHash) may chat.
type Site struct {
	ID               string   `json:"id"`
	Name             string   `json:"name,omitempty"`
	Origins          []string `json:"origins,omitempty"`
	PreChatEmail     string   `json:"preChatEmail,omitempty"`
	Locale           string   `json:"locale,omitempty"`
	IdentityRequired bool     `json:"identityRequired,omitempty"`
}

// Site returns the site with id.
func (c *Config) Site(id string) (Site, bool) {
	for _, s := range c.Sites {
		if s.ID == id {
			return s, true
		}
	}
	return Site{}, false
}

// Origins are the allowed origins of the site with id (none if unknown).
func (c *Config) Origins(id string) []string {
	s, _ := c.Site(id)
	return s.Origins
}

// validSites checks each site: an id of letters, digits, - and _ (it is
// part of identities), once; origins without a path; a known pre-chat mode.
func (c *Config) validSites() error {
	seen := map[string]bool{}
	for i, s := range c.Sites {
		if s.ID == "" || len(s.ID) > 40 || strings.Trim(s.ID, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "" {
			return fmt.Errorf("routing: sites[%d] needs an id of 1-40 letters, digits, - or _", i)
		}
		if seen[s.ID] {
			return fmt.Errorf("routing: site %q twice", s.ID)
		}
		seen[s.ID] = true
		switch s.PreChatEmail {
		case "", "off", "optional", "required":
		default:
			return fmt.Errorf("routing: site %q: preChatEmail %q (want off, optional or required)", s.ID, s.PreChatEmail)
		}
		for _, o := range s.Origins {
			u, err := url.Parse(o)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
				return fmt.Errorf("routing: site %q: origin %q is not scheme://host[:port]", s.ID, o)
			}
		}
	}
	return nil
}

// MaxCoalesceWindow is SQS's longest message delay.
const MaxCoalesceWindow = 15 * time.Minute

// Parse reads and validates a routing document. Every error names what is
// wrong: the unknown team, the bad time zone, the malformed hours.
func Parse(doc []byte) (*Config, error) {
	var c Config
	dec := json.NewDecoder(strings.NewReader(string(doc)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("routing config: %w", err)
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("routing config: %w", err)
	}
	return &c, nil
}

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// validTemplates checks the templates: each named, in a language, with a
// body, once.
func (c *Config) validTemplates() error {
	seen := map[string]bool{}
	for i, t := range c.Templates {
		if t.Name == "" || t.Language == "" || t.Body == "" {
			return fmt.Errorf("routing: templates[%d] needs a name, a language and a body", i)
		}
		if k := t.Name + "/" + t.Language; seen[k] {
			return fmt.Errorf("routing: template %q in %q twice", t.Name, t.Language)
		} else {
			seen[k] = true
		}
	}
	return nil
}

func (c *Config) validate() error {
	if err := c.validTemplates(); err != nil {
		return err
	}
	if err := c.validSites(); err != nil {
		return err
	}
	var errs []error
	c.teams = map[string]*Team{}
	for _, t := range c.Teams {
		if t.ID == "" {
			errs = append(errs, errors.New("a team has no id"))
			continue
		}
		if c.teams[t.ID] != nil {
			errs = append(errs, fmt.Errorf("team %q is defined twice", t.ID))
		}
		c.teams[t.ID] = t
		tz := t.TimeZone
		if tz == "" {
			tz = "UTC"
		}
		loc, err := time.LoadLocation(tz)
		if err != nil {
			errs = append(errs, fmt.Errorf("team %q: invalid time zone %q", t.ID, t.TimeZone))
		}
		t.loc = loc
		t.days = map[time.Weekday]span{}
		for day, h := range t.Hours {
			wd, ok := dayNames[strings.ToLower(day)]
			if !ok {
				errs = append(errs, fmt.Errorf("team %q: unknown day %q (want mon..sun)", t.ID, day))
				continue
			}
			sp, err := parseSpan(h)
			if err != nil {
				errs = append(errs, fmt.Errorf("team %q: hours for %s: %w", t.ID, day, err))
				continue
			}
			t.days[wd] = sp
		}
	}
	known := func(id, where string) {
		if c.teams[id] == nil {
			errs = append(errs, fmt.Errorf("%s names unknown team %q", where, id))
		}
	}
	if a := c.Email.Address; a != "" && (strings.Count(a, "@") != 1 || strings.HasPrefix(a, "@") || strings.HasSuffix(a, "@") || strings.ContainsAny(a, " <>+")) {
		errs = append(errs, fmt.Errorf("email.address %q: want a plain address without +tag, like support@example.com", a))
	}
	if c.Email.Ack != "" && c.Email.Address == "" {
		errs = append(errs, errors.New("email.ack is set but email.address is not: acknowledgements need a From address"))
	}
	if c.DefaultTeam == "" {
		errs = append(errs, errors.New("defaultTeam is missing"))
	} else {
		known(c.DefaultTeam, "defaultTeam")
	}
	for _, t := range c.Teams {
		for _, h := range t.Handoff {
			known(h, fmt.Sprintf("team %q handoff", t.ID))
		}
	}
	for i, r := range c.Rules {
		known(r.Team, fmt.Sprintf("rule %d", i+1))
	}
	c.agents = map[string]*Agent{}
	for i := range c.Agents {
		a := &c.Agents[i]
		if a.ID == "" {
			errs = append(errs, fmt.Errorf("agent %d has no id", i+1))
			continue
		}
		if c.agents[a.ID] != nil {
			errs = append(errs, fmt.Errorf("agent %q is defined twice", a.ID))
		}
		c.agents[a.ID] = a
		for _, t := range a.Teams {
			known(t, fmt.Sprintf("agent %q", a.ID))
		}
		for _, s := range a.Sinks {
			switch s.Type {
			case SinkSMS, SinkEmail, SinkSlack, SinkWebhook:
				if s.To == "" {
					errs = append(errs, fmt.Errorf("agent %q: %s sink has no \"to\"", a.ID, s.Type))
				}
			default:
				errs = append(errs, fmt.Errorf("agent %q: unknown sink type %q (want sms, email, slack or webhook)", a.ID, s.Type))
			}
		}
	}
	errs = append(errs, c.validCare()...)
	if c.CoalesceWindow != "" {
		w, err := time.ParseDuration(c.CoalesceWindow)
		if err != nil || w < 0 || w > MaxCoalesceWindow {
			errs = append(errs, fmt.Errorf("coalesceWindow %q: want a duration from 0s to 15m", c.CoalesceWindow))
		}
		c.window = w
	}
	return errors.Join(errs...)
}

func parseSpan(s string) (span, error) {
	from, to, ok := strings.Cut(s, "-")
	if !ok {
		return span{}, fmt.Errorf("%q is not HH:MM-HH:MM", s)
	}
	a, err1 := parseClock(from)
	b, err2 := parseClock(to)
	if err := errors.Join(err1, err2); err != nil {
		return span{}, fmt.Errorf("%q: %w", s, err)
	}
	return span{a, b}, nil
}

func parseClock(s string) (int, error) {
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	return t.Hour()*60 + t.Minute(), nil
}

// Window is the coalescing window.
func (c *Config) Window() time.Duration { return c.window }

// Open reports whether team is within its business hours at t.
func (t *Team) Open(at time.Time) bool {
	if len(t.Hours) == 0 {
		return true
	}
	local := at.In(t.loc)
	minute := local.Hour()*60 + local.Minute()
	if sp, ok := t.days[local.Weekday()]; ok {
		if sp.end > sp.start && minute >= sp.start && minute < sp.end {
			return true
		}
		if sp.end <= sp.start && minute >= sp.start { // runs past midnight
			return true
		}
	}
	// The tail of yesterday's overnight span.
	if sp, ok := t.days[(local.Weekday()+6)%7]; ok && sp.end <= sp.start && minute < sp.end {
		return true
	}
	return false
}

// Recipient is an agent to notify and why.
type Recipient struct {
	Agent *Agent
	Team  string
	// Reason: "assignee", "on-duty", "handoff" or "after-hours".
	Reason string
}

// Known reports whether id is an agent of the document (an assignee must be).
func (c *Config) Known(id string) bool { return c.agents[id] != nil }

// AgentPhone is the phone number of agent id ("" if none or unknown).
func (c *Config) AgentPhone(id string) string {
	if a := c.agents[id]; a != nil {
		return a.Phone
	}
	return ""
}

// AgentByEmail returns the id of the agent with that email (any case), "".
func (c *Config) AgentByEmail(email string) string {
	for _, a := range c.Agents {
		if a.Email != "" && strings.EqualFold(a.Email, email) {
			return a.ID
		}
	}
	return ""
}

// Route returns the agents to notify of message m on conversation conv. It
// depends only on its arguments (the time is the message's), so a
// redelivered stream record routes the same way.
func (c *Config) Route(conv conversation.Conversation, m conversation.Message) []Recipient {
	if a := c.agents[conv.Assignee]; a != nil {
		return []Recipient{{Agent: a, Team: conv.Team, Reason: "assignee"}}
	}
	team := c.teamFor(conv, m)
	at := m.CreatedAt
	if t := c.teams[team]; t.Open(at) {
		if rs := c.members(team, "on-duty"); len(rs) > 0 {
			return rs
		}
	} else {
		for _, h := range t.Handoff {
			if c.teams[h].Open(at) {
				if rs := c.members(h, "handoff"); len(rs) > 0 {
					return rs
				}
			}
		}
	}
	// Nobody on duty anywhere: the team hears of it anyway, so no customer
	// waits unseen.
	return c.members(team, "after-hours")
}

func (c *Config) teamFor(conv conversation.Conversation, m conversation.Message) string {
	body := strings.ToLower(m.Body)
	for _, r := range c.Rules {
		if r.Channel != "" && r.Channel != string(m.Channel) {
			continue
		}
		if r.Keyword != "" && !strings.Contains(body, strings.ToLower(r.Keyword)) {
			continue
		}
		return r.Team
	}
	if c.teams[conv.Team] != nil {
		return conv.Team
	}
	return c.DefaultTeam
}

func (c *Config) members(team, reason string) []Recipient {
	var out []Recipient
	for i := range c.Agents {
		a := &c.Agents[i]
		if !a.Away && slices.Contains(a.Teams, team) {
			out = append(out, Recipient{Agent: a, Team: team, Reason: reason})
		}
	}
	return out
}

// Blocked reports whether a caller is to be rejected.
func (c *Config) Blocked(from string) bool { return slices.Contains(c.Voice.Blocked, from) }

// DialTimeout is how long agents' phones ring, in seconds.
func (c *Config) DialTimeout() int {
	if c.Voice.DialTimeout > 0 {
		return c.Voice.DialTimeout
	}
	return 20
}

// Dial returns the phones to ring for a call on conv: those of the agents a
// message would notify, unless nobody is on duty (then the caller gets
// voicemail).
func (c *Config) Dial(conv conversation.Conversation, call conversation.Message) []string {
	var phones []string
	for _, r := range c.Route(conv, call) {
		if r.Reason != "after-hours" && r.Agent.Phone != "" {
			phones = append(phones, r.Agent.Phone)
		}
	}
	return phones
}

// Greeting returns the voicemail greeting for a caller's language (BCP 47,
// "pt-BR": then "pt", then "en") and the language to say it in.
func (c *Config) Greeting(lang string) (text, sayLanguage string) {
	for _, l := range []string{lang, strings.SplitN(lang, "-", 2)[0]} {
		if g, ok := c.Voice.Greetings[l]; ok && l != "" {
			return g, l
		}
	}
	if g, ok := c.Voice.Greetings["en"]; ok {
		return g, "en"
	}
	return DefaultGreeting, "en"
}

// TeamIDs lists every team of the document, the default one included, once.
func (c *Config) TeamIDs() []string {
	ids := []string{c.DefaultTeam}
	for _, t := range c.Teams {
		if !slices.Contains(ids, t.ID) {
			ids = append(ids, t.ID)
		}
	}
	return ids
}
