package conversation

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Reports: the support team's figures per team and day — conversations
// opened per channel, closed, reopened, first response and resolution times
// — kept as daily rollup items that the stream maintains as it projects
// (Service.Project records each message's Facts), so that a report of any
// range reads one item per team and day, never the conversations.
//
// Times are tallied in a small histogram of fixed buckets (Buckets): a
// percentile is reported as the upper bound of the bucket it falls in ("90%
// answered within 15 minutes"), exact enough for a support team and a few
// hundred bytes a day however many conversations there were.

// Fact kinds.
const (
	FactOpened        = "opened"
	FactFirstResponse = "first_response"
	FactClosed        = "closed"
	FactReopened      = "reopened"
	// FactCSAT is a survey's answer (Score).
	FactCSAT = "csat"
)

// Fact is one thing a report counts, learnt from one projected message. ID
// (the message's key) makes recording it idempotent: the stream may deliver
// a message twice, a fact is counted once.
type Fact struct {
	ID      string
	Kind    string
	Team    string
	Channel Channel
	Day     string // YYYY-MM-DD, UTC
	// Duration is the first response or resolution time (from the
	// conversation's opening).
	Duration time.Duration
	// Score is a FactCSAT's, 1 to 5.
	Score int
}

// Buckets are the upper bounds of the time histogram; a last, unbounded
// bucket holds everything longer.
var Buckets = []time.Duration{
	30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute,
	30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour, 12 * time.Hour,
	24 * time.Hour, 48 * time.Hour, 72 * time.Hour, 7 * 24 * time.Hour,
}

// Bucket is the histogram bucket of d: an index into Buckets, or
// len(Buckets) for longer.
func Bucket(d time.Duration) int {
	i, _ := slices.BinarySearch(Buckets, d)
	return i
}

// Day is t's day in a report.
func Day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// FactsOf is what message m, just projected onto conversation c (the
// summary after it), tells the reports: the conversation opened (its first
// message), was first answered (the reply that set FirstResponseAt), was
// closed or reopened (those events on its timeline).
func FactsOf(c Conversation, m Message) []Fact {
	f := Fact{ID: m.Key, Team: c.Team, Channel: c.Channel}
	if f.Channel == "" {
		f.Channel = m.Channel
	}
	switch {
	case m.Kind == KindEvent && m.Event == EventClosed, m.Kind == KindEvent && m.Event == EventMerged && c.MergedInto != "" && c.ClosedAt.Equal(m.CreatedAt):
		f.Kind, f.Day, f.Duration = FactClosed, Day(m.CreatedAt), m.CreatedAt.Sub(c.CreatedAt)
	case m.Kind == KindCSAT && c.CSAT != nil && c.CSAT.Key == m.Key:
		f.Kind, f.Day, f.Score = FactCSAT, Day(m.CreatedAt), c.CSAT.Score
	case m.Kind == KindEvent && m.Event == EventReopened:
		f.Kind, f.Day = FactReopened, Day(m.CreatedAt)
	case m.Kind == KindEvent || m.Kind == KindNote:
		return nil
	case m.Direction == DirectionInbound && m.Key == c.OpenedBy:
		f.Kind, f.Day = FactOpened, Day(c.CreatedAt)
	case m.Direction == DirectionOutbound && m.Kind != KindAuto && !c.FirstResponseAt.IsZero() && c.FirstResponseAt.Equal(m.CreatedAt):
		f.Kind, f.Day, f.Duration = FactFirstResponse, Day(m.CreatedAt), m.CreatedAt.Sub(c.CreatedAt)
	default:
		return nil
	}
	if f.Duration < 0 {
		f.Duration = 0
	}
	return []Fact{f}
}

// Rollup is one team's day.
type Rollup struct {
	Team, Day string
	// Opened counts conversations opened, per channel.
	Opened           map[Channel]int
	Closed, Reopened int
	// FirstResponse and Resolution are histograms over Buckets (one more
	// entry for longer), with their sums for the mean.
	FirstResponse, Resolution []int
	FirstResponseSum          time.Duration
	ResolutionSum             time.Duration
	// CSAT counts the survey answers by score: CSAT[0] the 1s … CSAT[4]
	// the 5s.
	CSAT [5]int
}

// FactRecorder keeps the facts' rollups (the stream).
type FactRecorder interface {
	// RecordFact adds f to its team's day, once per f.ID however often it
	// is recorded.
	RecordFact(ctx context.Context, f Fact) error
}

// RollupReader reads them (reports).
type RollupReader interface {
	// Rollups returns team's days from from to to (YYYY-MM-DD, inclusive),
	// the days without any fact left out.
	Rollups(ctx context.Context, team, from, to string) ([]Rollup, error)
}

// Report is GET /api/reports: a range of days summed.
type Report struct {
	From         string          `json:"from"`
	To           string          `json:"to"`
	Teams        []string        `json:"teams"`
	Opened       int             `json:"opened"`
	ByChannel    map[Channel]int `json:"volumeByChannel"`
	Closed       int             `json:"closed"`
	Reopened     int             `json:"reopened"`
	ReopenRate   float64         `json:"reopenRate"`
	First        Times           `json:"firstResponse"`
	Resolution   Times           `json:"resolution"`
	CSAT         Satisfaction    `json:"csat"`
	Days         []DayFigures    `json:"days"`
	hFirst, hRes []int
}

// Times summarises a histogram: how many, the mean, and p50/p90 as the
// upper bound of their bucket (0 when there are none; -1 for "longer than
// the last bucket").
type Times struct {
	Count       int     `json:"count"`
	MeanSeconds float64 `json:"meanSeconds"`
	P50Seconds  float64 `json:"p50Seconds"`
	P90Seconds  float64 `json:"p90Seconds"`
}

// Satisfaction summarises the survey answers: how many, their mean score,
// the share of 4s and 5s (the usual "CSAT %"), and the count of each score
// ("1".."5").
type Satisfaction struct {
	Count        int            `json:"count"`
	Mean         float64        `json:"mean"`
	Satisfied    float64        `json:"satisfiedRate"`
	Distribution map[string]int `json:"distribution"`
}

// DayFigures is one day of a report.
type DayFigures struct {
	Day      string `json:"day"`
	Opened   int    `json:"opened"`
	Closed   int    `json:"closed"`
	Reopened int    `json:"reopened"`
}

// MaxReportDays bounds a report's range.
const MaxReportDays = 366

// BuildReport sums teams' rollups over the days from to to.
func BuildReport(ctx context.Context, st RollupReader, teams []string, from, to string) (Report, error) {
	f, err1 := time.Parse(time.DateOnly, from)
	t, err2 := time.Parse(time.DateOnly, to)
	if err1 != nil || err2 != nil || t.Before(f) {
		return Report{}, fmt.Errorf("%w: from and to must be days (YYYY-MM-DD), from not after to", ErrInvalid)
	}
	if t.Sub(f) > MaxReportDays*24*time.Hour {
		return Report{}, fmt.Errorf("%w: a report covers at most %d days", ErrInvalid, MaxReportDays)
	}
	r := Report{From: from, To: to, Teams: teams, ByChannel: map[Channel]int{},
		hFirst: make([]int, len(Buckets)+1), hRes: make([]int, len(Buckets)+1)}
	days := map[string]*DayFigures{}
	var firstSum, resSum time.Duration
	var csat [5]int
	for _, team := range teams {
		rs, err := st.Rollups(ctx, team, from, to)
		if err != nil {
			return Report{}, fmt.Errorf("read rollups of %s: %w", team, err)
		}
		for _, ro := range rs {
			d := days[ro.Day]
			if d == nil {
				d = &DayFigures{Day: ro.Day}
				days[ro.Day] = d
			}
			for ch, n := range ro.Opened {
				r.ByChannel[ch] += n
				r.Opened += n
				d.Opened += n
			}
			r.Closed, d.Closed = r.Closed+ro.Closed, d.Closed+ro.Closed
			r.Reopened, d.Reopened = r.Reopened+ro.Reopened, d.Reopened+ro.Reopened
			for i := range r.hFirst {
				r.hFirst[i] += at(ro.FirstResponse, i)
				r.hRes[i] += at(ro.Resolution, i)
			}
			for i, n := range ro.CSAT {
				csat[i] += n
			}
			firstSum += ro.FirstResponseSum
			resSum += ro.ResolutionSum
		}
	}
	for _, d := range days {
		r.Days = append(r.Days, *d)
	}
	slices.SortFunc(r.Days, func(a, b DayFigures) int {
		if a.Day < b.Day {
			return -1
		}
		if a.Day > b.Day {
			return 1
		}
		return 0
	})
	if r.Days == nil {
		r.Days = []DayFigures{}
	}
	if r.Closed > 0 {
		r.ReopenRate = float64(r.Reopened) / float64(r.Closed)
	}
	r.First, r.Resolution = times(r.hFirst, firstSum), times(r.hRes, resSum)
	r.CSAT = satisfaction(csat)
	return r, nil
}

func satisfaction(counts [5]int) Satisfaction {
	s := Satisfaction{Distribution: map[string]int{}}
	sum := 0
	for i, n := range counts {
		s.Distribution[fmt.Sprint(i+1)] = n
		s.Count += n
		sum += (i + 1) * n
	}
	if s.Count > 0 {
		s.Mean = float64(sum) / float64(s.Count)
		s.Satisfied = float64(counts[3]+counts[4]) / float64(s.Count)
	}
	return s
}

func at(h []int, i int) int {
	if i < len(h) {
		return h[i]
	}
	return 0
}

func times(h []int, sum time.Duration) Times {
	var t Times
	for _, n := range h {
		t.Count += n
	}
	if t.Count == 0 {
		return t
	}
	t.MeanSeconds = sum.Seconds() / float64(t.Count)
	t.P50Seconds, t.P90Seconds = percentile(h, t.Count, 0.5), percentile(h, t.Count, 0.9)
	return t
}

// percentile is the upper bound of the bucket holding the p-th value.
func percentile(h []int, count int, p float64) float64 {
	rank := int(p*float64(count) + 0.999999) // the ceil: the p-th of count values
	seen := 0
	for i, n := range h {
		seen += n
		if seen >= rank {
			if i == len(Buckets) {
				return -1
			}
			return Buckets[i].Seconds()
		}
	}
	return -1
}

// tally records the facts of a projected message.
func (s *Service) tally(ctx context.Context, c Conversation, m Message) error {
	for _, f := range FactsOf(c, m) {
		if err := s.Store.RecordFact(ctx, f); err != nil {
			return fmt.Errorf("record %s of %s: %w", f.Kind, c.ID, err)
		}
	}
	return nil
}
