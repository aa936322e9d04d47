// Package metrics turns the one log line each function writes per event into
// CloudWatch metrics, in Embedded Metric Format: a record that has an
// "outcome" gets the "_aws" metadata and the metric values in the same JSON
// line, so CloudWatch Logs extracts them and nothing else has to call
// CloudWatch. No maintained Go library writes EMF, so this small handler is
// hand-written.
//
// Metrics (namespace Switchboard): Events (Count) by Event (the log
// message: twilio.message, meta.webhook, notify.deliver, …) and Outcome
// (stored, duplicate, rejected, sent, …), with Status when the record has
// one (403: signature failures) and Channel when it has one (inbound per
// channel); NotificationLatency (Milliseconds) from latency_ms;
// FirstResponseTime and ResolutionTime (Seconds) by Team and Channel, from
// first_response_s and resolution_s (the stream's conversation.first_response
// and conversation.closed records).
//
// See https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
package metrics

import (
	"context"
	"log/slog"
)

// Namespace is the CloudWatch namespace of Switchboard's metrics.
const Namespace = "Switchboard"

// Handler wraps a JSON slog.Handler.
type Handler struct{ next slog.Handler }

// New wraps next.
func New(next slog.Handler) *Handler { return &Handler{next: next} }

// Enabled implements slog.Handler.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler { return &Handler{next: h.next.WithAttrs(as)} }

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler { return &Handler{next: h.next.WithGroup(name)} }

// Handle implements slog.Handler.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	var outcome, channel, status, team string
	latency := int64(-1)
	var timings []map[string]string
	var timingVals []slog.Attr
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "outcome":
			outcome = a.Value.String()
		case "channel":
			channel = a.Value.String()
		case "status":
			status = a.Value.String()
		case "team":
			team = a.Value.String()
		case "first_response_s", "resolution_s":
			timings = append(timings, map[string]string{"Name": timingMetrics[a.Key], "Unit": "Seconds"})
			timingVals = append(timingVals, slog.Any(timingMetrics[a.Key], a.Value.Any()))
		case "latency_ms":
			if a.Value.Kind() == slog.KindInt64 {
				latency = a.Value.Int64()
			}
		}
		return true
	})
	if outcome == "" {
		return h.next.Handle(ctx, r)
	}
	dims := []string{"Event", "Outcome"}
	r = r.Clone()
	r.AddAttrs(slog.String("Event", r.Message), slog.String("Outcome", outcome), slog.Int("Events", 1))
	if status != "" {
		dims = append(dims, "Status")
		r.AddAttrs(slog.String("Status", status))
	}
	if channel != "" {
		dims = append(dims, "Channel")
		r.AddAttrs(slog.String("Channel", channel))
	}
	defs := []map[string]string{{"Name": "Events", "Unit": "Count"}}
	if latency >= 0 {
		defs = append(defs, map[string]string{"Name": "NotificationLatency", "Unit": "Milliseconds"})
		r.AddAttrs(slog.Int64("NotificationLatency", latency))
	}
	directives := []map[string]any{{"Namespace": Namespace, "Dimensions": [][]string{dims}, "Metrics": defs}}
	if len(timings) > 0 {
		// First response and resolution times, per team and channel.
		r.AddAttrs(slog.String("Team", team))
		if channel == "" {
			r.AddAttrs(slog.String("Channel", ""))
		}
		r.AddAttrs(timingVals...)
		directives = append(directives, map[string]any{"Namespace": Namespace, "Dimensions": [][]string{{"Team", "Channel"}}, "Metrics": timings})
	}
	r.AddAttrs(slog.Any("_aws", map[string]any{"Timestamp": r.Time.UnixMilli(), "CloudWatchMetrics": directives}))
	return h.next.Handle(ctx, r)
}

// timingMetrics names the metric of each timing attribute.
var timingMetrics = map[string]string{"first_response_s": "FirstResponseTime", "resolution_s": "ResolutionTime"}
