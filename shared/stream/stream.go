// Package stream turns the table's change stream into projections: the
// fan-out function's handler, and a poller that reads a DynamoDB Local stream
// the way Lambda's event source mapping reads DynamoDB Streams, for the dev
// server and the integration tests.
//
// The stream is Switchboard's outbox: a message is written once on the
// ingest path and everything derived from it is applied here, idempotently,
// so redelivery is harmless and nothing downstream can lose a message.
package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/eventsout"
	"github.com/switchboard/switchboard/shared/store"
)

// Dispatcher hears of each message that opened a notification window (see
// conversation.Conversation.Apply): the fan-out to agents. It must be
// idempotent: a redelivered record dispatches again.
type Dispatcher interface {
	Dispatch(ctx context.Context, conv conversation.Conversation, m conversation.Message) error
}

// MediaQueue hears of each message whose media wait to be copied to the
// media bucket (a new message with attachments, or a voicemail's recording
// added later). It must be idempotent too.
type MediaQueue interface {
	QueueMedia(ctx context.Context, m conversation.Message) error
}

// Outbox hears of each agent's reply written queued: the send job (the
// one outbox of outbound messages). It must be idempotent too.
type Outbox interface {
	QueueSend(ctx context.Context, m conversation.Message) error
}

// Care hears of every projected message (care.Automation): the automatic
// replies, surveys and escalation timers it calls for. It must be
// idempotent too (its messages are keyed, its timers set again are the
// same timers).
type Care interface {
	After(ctx context.Context, conv conversation.Conversation, m conversation.Message) error
}

// Handler is the fan-out function's handler for DynamoDB stream batches.
type Handler struct {
	// Outbox, if set, queues the send of each agent's reply.
	Outbox  Outbox
	Service *conversation.Service
	// Dispatch, if set, is called after the projection of every inbound
	// message that opened a notification window.
	Dispatch Dispatcher
	// Media, if set, queues the copy of pending media.
	Media MediaQueue
	// Events, if set, receives every domain event a record tells
	// (eventsout: a stored entry, an outbound message's status, an
	// erasure's audit entry).
	Events eventsout.Publisher
	// Care, if set, answers customers automatically (see Care).
	Care Care
	Log  *slog.Logger
}

// batchWorkers bounds how many conversations of a batch are applied at once.
const batchWorkers = 8

// Handle projects every new message in the batch and dispatches the
// notifications a message's window calls for. A conversation's records are
// applied one after another in the stream's order; different
// conversations' side by side (up to batchWorkers), since each record waits
// mostly on DynamoDB and SQS round trips. A record that fails stops its
// conversation's later records, and the earliest failure in the batch is
// reported, so Lambda retries from there: records after it are applied
// again, which is harmless (every step is idempotent), and no later window
// of a conversation can open before an earlier one is dispatched. A record
// that cannot be decoded is reported the same way, to be bisected out to the
// on-failure destination.
func (h *Handler) Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	log := h.Log
	if log == nil {
		log = slog.Default()
	}
	var order []string
	groups := map[string][]int{}
	for i, rec := range ev.Records {
		k := groupOf(rec)
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], i)
	}
	failed := make([]bool, len(ev.Records))
	sem := make(chan struct{}, batchWorkers)
	var wg sync.WaitGroup
	for _, k := range order {
		wg.Add(1)
		sem <- struct{}{}
		go func(idx []int) {
			defer func() { <-sem; wg.Done() }()
			for _, i := range idx {
				if err := h.record(ctx, ev.Records[i], log); err != nil {
					failed[i] = true
					return
				}
			}
		}(groups[k])
	}
	wg.Wait()
	var resp events.DynamoDBEventResponse
	for i, f := range failed {
		if f {
			resp.BatchItemFailures = []events.DynamoDBBatchItemFailure{{ItemIdentifier: ev.Records[i].Change.SequenceNumber}}
			break
		}
	}
	return resp, nil
}

// groupOf is the conversation a record belongs to (its image's
// conversationId), or for a record of none its key: what must be applied in
// order.
func groupOf(rec events.DynamoDBEventRecord) string {
	for _, img := range []map[string]events.DynamoDBAttributeValue{rec.Change.NewImage, rec.Change.Keys} {
		for _, name := range []string{"conversationId", "PK"} {
			if v, ok := img[name]; ok && v.DataType() == events.DataTypeString {
				return name + "\x00" + v.String()
			}
		}
	}
	return ""
}

// record applies one stream record, logging what came of it.
func (h *Handler) record(ctx context.Context, rec events.DynamoDBEventRecord, log *slog.Logger) error {
	m, ok, err := Message(rec)
	if err == nil && ok {
		err = h.Apply(ctx, m)
	} else if err == nil {
		var pending bool
		if m, pending, err = mediaAdded(rec); err == nil && pending {
			err = h.queueMedia(ctx, m)
		}
		if err == nil && h.Events != nil {
			err = h.publishChange(ctx, rec)
		}
	}
	if err != nil {
		log.LogAttrs(ctx, slog.LevelError, "stream.project", slog.String("outcome", "error"),
			slog.String("sequence", rec.Change.SequenceNumber), slog.String("error", err.Error()))
		return err
	}
	if ok {
		log.LogAttrs(ctx, slog.LevelInfo, "stream.project", slog.String("outcome", "applied"),
			slog.String("message", m.ID), slog.String("conversation", m.ConversationID), slog.String("channel", string(m.Channel)))
	}
	return nil
}

// Apply projects one stored message and dispatches its notifications; the
// dev server's in-process stream calls it for each message memstore stores.
func (h *Handler) Apply(ctx context.Context, m conversation.Message) error {
	conv, err := h.Service.Project(ctx, m)
	if errors.Is(err, conversation.ErrErased) {
		return nil // it landed on an erased conversation and is erased too
	}
	if err != nil {
		return err
	}
	h.logTimings(ctx, conv, m)
	if h.Outbox != nil && outgoing(m) {
		if err := h.Outbox.QueueSend(ctx, m); err != nil {
			return err
		}
	}
	if h.Dispatch != nil && m.Direction == conversation.DirectionInbound && conv.NotifyKey == m.Key {
		if err := h.Dispatch.Dispatch(ctx, conv, m); err != nil {
			return fmt.Errorf("dispatch notifications for %s: %w", m.ID, err)
		}
	}
	if h.Care != nil {
		if err := h.Care.After(ctx, conv, m); err != nil {
			return fmt.Errorf("care after %s: %w", m.ID, err)
		}
	}
	if h.Events != nil {
		if err := h.Events.Publish(ctx, eventsout.Of(conv, m)); err != nil {
			return fmt.Errorf("publish events of %s: %w", m.ID, err)
		}
	}
	return h.queueMedia(ctx, m)
}

// outgoing reports whether m is for the outbox to send: written queued, an
// agent's reply or callback, or an automatic message (care).
func outgoing(m conversation.Message) bool {
	if m.Direction != conversation.DirectionOutbound || m.Status != conversation.StatusQueued {
		return false
	}
	return m.Agent != "" && (m.Kind == "" || m.Kind == conversation.KindCall) || m.Kind == conversation.KindAuto && m.Auto != ""
}

// publishChange publishes what a record other than a new message tells: an
// outbound message's status (MODIFY), an erasure (an audit entry's INSERT).
func (h *Handler) publishChange(ctx context.Context, rec events.DynamoDBEventRecord) error {
	if m, ok, err := message(rec, events.DynamoDBOperationTypeModify, ""); err != nil || ok {
		if err != nil {
			return err
		}
		if err := h.Events.Publish(ctx, eventsout.OfStatus(m)); err != nil {
			return fmt.Errorf("publish status of %s: %w", m.ID, err)
		}
		return nil
	}
	var a conversation.AuditEntry
	if ok, err := decode(rec, events.DynamoDBOperationTypeInsert, store.TypeAudit, "", &a); err != nil || !ok {
		return err
	}
	if err := h.Events.Publish(ctx, eventsout.OfAudit(a)); err != nil {
		return fmt.Errorf("publish audit %s: %w", a.ID, err)
	}
	return nil
}

// logTimings writes the first response and resolution times a message
// tells (conversation.FactsOf) as records the metrics handler turns into
// FirstResponseTime and ResolutionTime by team and channel. A redelivered
// record logs them again (the reports' rollups count each once).
func (h *Handler) logTimings(ctx context.Context, conv conversation.Conversation, m conversation.Message) {
	log := h.Log
	if log == nil {
		log = slog.Default()
	}
	for _, f := range conversation.FactsOf(conv, m) {
		key := map[string]string{conversation.FactFirstResponse: "first_response_s", conversation.FactClosed: "resolution_s"}[f.Kind]
		if key == "" {
			continue
		}
		log.LogAttrs(ctx, slog.LevelInfo, "conversation."+f.Kind, slog.String("outcome", "measured"),
			slog.String("conversation", conv.ID), slog.String("team", f.Team), slog.String("channel", string(f.Channel)),
			slog.Float64(key, f.Duration.Seconds()))
	}
}

func (h *Handler) queueMedia(ctx context.Context, m conversation.Message) error {
	if h.Media == nil || m.Direction != conversation.DirectionInbound || !m.PendingMedia() {
		return nil
	}
	if err := h.Media.QueueMedia(ctx, m); err != nil {
		return fmt.Errorf("queue media of %s: %w", m.ID, err)
	}
	return nil
}

// mediaAdded decodes a message item modified to carry media to copy (the
// stream filter's second pattern); pending is false for any other record.
func mediaAdded(rec events.DynamoDBEventRecord) (conversation.Message, bool, error) {
	return message(rec, events.DynamoDBOperationTypeModify, store.MediaPendingAttribute)
}

// Message decodes a stream record; ok is false for records that are not a
// newly inserted message.
func Message(rec events.DynamoDBEventRecord) (conversation.Message, bool, error) {
	return message(rec, events.DynamoDBOperationTypeInsert, "")
}

// message decodes a message item from a record of the given operation, and
// with flag (a BOOL attribute) true when flag is not "".
func message(rec events.DynamoDBEventRecord, op events.DynamoDBOperationType, flag string) (conversation.Message, bool, error) {
	var m conversation.Message
	ok, err := decode(rec, op, store.TypeMessage, flag, &m)
	return m, ok, err
}

// decode unmarshals into out the new image of a record of operation op and
// item type itemType (with the BOOL attribute flag true, when flag is not
// ""); false for any other record.
func decode(rec events.DynamoDBEventRecord, op events.DynamoDBOperationType, itemType, flag string, out any) (bool, error) {
	img := rec.Change.NewImage
	if rec.EventName != string(op) || img == nil {
		return false, nil
	}
	if t, ok := img["type"]; !ok || t.DataType() != events.DataTypeString || t.String() != itemType {
		return false, nil
	}
	if f, ok := img[flag]; flag != "" && (!ok || f.DataType() != events.DataTypeBoolean || !f.Boolean()) {
		return false, nil
	}
	item, err := FromLambda(img)
	if err != nil {
		return false, err
	}
	if err := attributevalue.UnmarshalMap(item, out); err != nil {
		return false, fmt.Errorf("decode %s record %s: %w", itemType, rec.Change.SequenceNumber, err)
	}
	return true, nil
}

// FromLambda converts a Lambda stream image into SDK attribute values.
func FromLambda(img map[string]events.DynamoDBAttributeValue) (map[string]types.AttributeValue, error) {
	out := make(map[string]types.AttributeValue, len(img))
	for k, v := range img {
		av, err := fromLambda(v)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", k, err)
		}
		out[k] = av
	}
	return out, nil
}

func fromLambda(v events.DynamoDBAttributeValue) (types.AttributeValue, error) {
	switch v.DataType() {
	case events.DataTypeString:
		return &types.AttributeValueMemberS{Value: v.String()}, nil
	case events.DataTypeNumber:
		return &types.AttributeValueMemberN{Value: v.Number()}, nil
	case events.DataTypeBinary:
		return &types.AttributeValueMemberB{Value: v.Binary()}, nil
	case events.DataTypeBoolean:
		return &types.AttributeValueMemberBOOL{Value: v.Boolean()}, nil
	case events.DataTypeNull:
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case events.DataTypeStringSet:
		return &types.AttributeValueMemberSS{Value: v.StringSet()}, nil
	case events.DataTypeNumberSet:
		return &types.AttributeValueMemberNS{Value: v.NumberSet()}, nil
	case events.DataTypeBinarySet:
		return &types.AttributeValueMemberBS{Value: v.BinarySet()}, nil
	case events.DataTypeList:
		l := v.List()
		out := make([]types.AttributeValue, len(l))
		for i, e := range l {
			av, err := fromLambda(e)
			if err != nil {
				return nil, err
			}
			out[i] = av
		}
		return &types.AttributeValueMemberL{Value: out}, nil
	case events.DataTypeMap:
		m, err := FromLambda(v.Map())
		if err != nil {
			return nil, err
		}
		return &types.AttributeValueMemberM{Value: m}, nil
	}
	return nil, fmt.Errorf("unknown attribute type %v", v.DataType())
}
