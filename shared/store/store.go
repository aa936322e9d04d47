// Package store is the DynamoDB [conversation.Store]: one table, designed from
// its access patterns.
//
// Items (PK, SK; every item also has "type", named in parentheses):
//
//	identity (identity)          IDENT#<kind>:<address>  IDENT      contactId, conversationId (the open one), openedBy,
//	                                                                named, version; optedOut, optOutAt, optCursor
//	contact (contact)            CONTACT#<id>            CONTACT    contactId, name, language, identities, conversationIds, createdAt
//	conversation (conversation)  CONV#<id>               #CONV      the summary: status, team, assignee, labels, priority, channels,
//	                                                                openedBy, createdAt, activeAt, lastMessageAt, lastPreview,
//	                                                                cursor, readCursor, unread (a string set of cursors),
//	                                                                unreadOverflow, unreadCount, notifyKey, notifyUntil,
//	                                                                snoozeUntil, closedAt, closedBy, reopenCount, version;
//	                                                                GSI1PK INBOX#<status>, GSI1SK its activity key
//	                                                                (conversation.ActivityKey: activeAt in base 36, "#", id)
//	message (message)            MSG#<key>               MSG        the message (conversation.Message's fields: conversationId,
//	                                                                body, media, seq, receivedAt, reactsToRef, replyToRef, …)
//	                                                                and statusRank; mediaPending while media wait for the
//	                                                                pipeline; GSI3PK CONV#<conversation id>, GSI3SK its
//	                                                                cursor; outbound ones GSI2PK
//	                                                                PMID#<provider>#<provider message id>. Keyed by the
//	                                                                event's idempotency key alone, it is the event's dedupe
//	                                                                marker for good, whatever becomes of its conversation.
//	failure (failure)            FAILURE#<source>        <ref>      source, ref, reason, at: an inbound event that could not
//	                                                                be ingested
//	secret (secret)              SECRET#<name>           SECRET     value (32 random bytes, made on first use: Store.Secret)
//	fact (fact)                  FACT#<message key>      FACT       expiresAt (TTL, FactRetention): a report fact counted
//	rollup (rollup)              ROLLUP#<team>           <day>      the team's day: opened_<channel>, closed, reopened,
//	                                                                fr_<bucket>, res_<bucket> (histograms over
//	                                                                conversation.Buckets), frSumMs, resSumMs
//	delivery (delivery)          DELIV#<job id>          DELIV      state, leaseUntil, attempts, finishedAt, reason;
//	                                                                expiresAt (TTL, delivery.Retention): a notification
//	                                                                job's claim (delivery.go)
//	tombstone, audit             ERASED#<hmac>, AUDIT#<day>         what an erasure leaves, and who exported or erased
//	                                                                whom (erase.go); an erased contact or conversation
//	                                                                keeps its item with its id and erasedAt alone
//
// Access patterns:
//
//  1. identity → contact and its open conversation: GetItem IDENT (the ingest
//     path's one read, strongly consistent).
//  2. store an inbound message once: PutItem MSG#<key> with
//     attribute_not_exists(PK) (the ingest path's one write; a duplicate
//     fails the condition and changes nothing, also after its conversation
//     was closed: the key names no conversation).
//  3. first message of a new conversation: a returning customer's, one
//     TransactWriteItems of identity (conditioned on its version), contact,
//     conversation and message; a new customer's, ordered PutItems of
//     contact and conversation, identity (the commit), message (openNew: 6
//     write units, not a transaction's 20).
//  4. conversation → its messages in order: GetItem CONV#<id> (the summary),
//     Query GSI3 (ALL) on GSI3PK = CONV#<id>, in GSI3SK (cursor) order.
//  5. the inbox: conversations of a status, most recent activity first,
//     filtered by team, assignee (or none), channel, label: Query GSI1 on
//     INBOX#<status>, GSI1SK below the page's cursor (above a catch-up's
//     floor), descending, the filters as a FilterExpression (they select
//     what a key cannot: any combination, on few values), Limit the entries
//     to examine. GSI1 projects the list view (InboxAttributes), so a page is
//     one Query, two with a narrow filter (conversation.Service.Inbox): 0.04
//     read units per listed conversation unfiltered, 0.16 for a team's
//     (TestInboxAtScale). A move (a message, a status change) rewrites the
//     entry under its new key: 2 write units, so an inbound message costs 5
//     in all (message 1, its GSI3 entry 1, summary 1, GSI1 2).
//  6. contact → conversations: the contact item's conversationIds.
//     A merge is one TransactWriteItems: both contacts (conditioned on
//     attribute_not_exists(mergedInto)), every identity of both (its
//     version), the conversations it changes (their version) and their
//     merged events; then an UpdateItem per older conversation of the merged
//     contact (contactId, conditioned on the old one).
//  7. outbound message by provider id (status callbacks, and email replies
//     threaded by In-Reply-To to the SES message id of our acknowledgement,
//     then a GetItem of its conversationId): Query GSI2 (KEYS_ONLY, sparse:
//     inbound messages carry no GSI2PK and cost no index write).
//  8. failed intake (an unparseable email) by source: Query PK =
//     FAILURE#<source>; rare, sorted in memory.
//  9. one message by its key (the media copier, edits): GetItem MSG#<key>,
//     strongly consistent.
//  10. reports: the stream records each fact (a conversation opened, first
//     answered, closed, reopened) in one TransactWriteItems of its marker
//     (attribute_not_exists: counted once) and an ADD to its team's day;
//     a report of a range is one Query per team of ROLLUP#<team> between
//     the days.
//
// Every item has a "type" attribute so that the stream's event filter can pick
// new messages (type = message, eventName INSERT). The summary is maintained
// from the stream by Project: read, [conversation.Conversation.Apply], write
// back conditioned on the version read. TTLAttribute is the table's TTL
// attribute, for items that expire (dedupe-only markers, raw payloads).
package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard/switchboard/shared/conversation"
)

// Attribute and index names of the table.
const (
	TTLAttribute = "expiresAt"
	// MediaPendingAttribute is true on a message whose media wait for the
	// media pipeline; the fan-out's stream filter passes a message item
	// modified to carry it.
	MediaPendingAttribute = "mediaPending"
	GSI1                  = "GSI1"
	GSI2                  = "GSI2"
	GSI3                  = "GSI3"
)

// Item types, in the "type" attribute.
const (
	TypeIdentity     = "identity"
	TypeContact      = "contact"
	TypeConversation = "conversation"
	TypeMessage      = "message"
	TypeFailure      = "failure"
	TypeTimer        = "timer"
)

// API is the part of the DynamoDB client the store uses.
type API interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	BatchGetItem(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	BatchWriteItem(context.Context, *dynamodb.BatchWriteItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
}

// Store is the DynamoDB store.
type Store struct {
	db    API
	table string
	// secrets caches Secret's answers: a secret never changes once made.
	secrets sync.Map
}

var _ conversation.Store = (*Store)(nil)

// New returns a store on table.
func New(db API, table string) *Store { return &Store{db: db, table: table} }

func identityKey(id conversation.Identity) map[string]types.AttributeValue {
	return key("IDENT#"+id.Key(), "IDENT")
}
func contactKey(id string) map[string]types.AttributeValue { return key("CONTACT#"+id, "CONTACT") }
func convKey(id string) map[string]types.AttributeValue    { return key("CONV#"+id, "#CONV") }

// msgKey is a message's key: its idempotency key alone, not its
// conversation's, so that the item is the event's dedupe marker whatever
// happens to the conversation later (closed, and the customer's next
// message opens another).
func msgKey(k string) map[string]types.AttributeValue { return key("MSG#"+k, "MSG") }

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"PK": s(pk), "SK": s(sk)}
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

// identityItem is the stored form of an identity.
type identityItem struct {
	Kind           conversation.Kind `dynamodbav:"kind"`
	Address        string            `dynamodbav:"address"`
	ContactID      string            `dynamodbav:"contactId"`
	ConversationID string            `dynamodbav:"conversationId,omitempty"`
	OpenedBy       string            `dynamodbav:"openedBy,omitempty"`
	Named          bool              `dynamodbav:"named"`
	Version        int64             `dynamodbav:"version"`
	OptedOut       bool              `dynamodbav:"optedOut"`
	OptOutAt       time.Time         `dynamodbav:"optOutAt,omitempty"`
	// Blocked mirrors the contact's flag, for the ingest path's one read.
	Blocked bool `dynamodbav:"blocked,omitempty"`
	// The conversation it pointed at until that closed, and when.
	LastConversationID string    `dynamodbav:"lastConversationId,omitempty"`
	LastClosedAt       time.Time `dynamodbav:"lastClosedAt,omitempty"`
	// ErasedBefore: an erased contact had this identity (Route.Erased).
	ErasedBefore bool `dynamodbav:"erasedBefore,omitempty"`
}

// Route implements conversation.Store.
func (st *Store) Route(ctx context.Context, id conversation.Identity) (conversation.Route, error) {
	it, err := st.getIdentity(ctx, id)
	if err != nil {
		return conversation.Route{}, err
	}
	return conversation.Route{
		Identity: id, ContactID: it.ContactID, ConversationID: it.ConversationID,
		OpenedBy: it.OpenedBy, Named: it.Named, Version: it.Version,
		LastConversationID: it.LastConversationID, LastClosedAt: it.LastClosedAt, Blocked: it.Blocked,
		Erased: it.ErasedBefore,
	}, nil
}

func (st *Store) getIdentity(ctx context.Context, id conversation.Identity) (identityItem, error) {
	var it identityItem
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &st.table, Key: identityKey(id), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return it, fmt.Errorf("get identity: %w", err)
	}
	if out.Item == nil {
		return it, conversation.ErrNotFound
	}
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return it, fmt.Errorf("decode identity: %w", err)
	}
	return it, nil
}

// messageItem marshals m with its keys.
func messageItem(m conversation.Message) (map[string]types.AttributeValue, error) {
	item, err := attributevalue.MarshalMap(m)
	if err != nil {
		return nil, fmt.Errorf("encode message: %w", err)
	}
	for k, v := range msgKey(m.Key) {
		item[k] = v
	}
	item["type"] = s(TypeMessage)
	item["GSI3PK"], item["GSI3SK"] = s("CONV#"+m.ConversationID), s(m.Cursor())
	item["statusRank"] = n(int64(conversation.StatusRank(m.Status)))
	if m.Direction == conversation.DirectionOutbound && m.ProviderMessageID != "" {
		item["GSI2PK"] = s(providerKey(m.Provider, m.ProviderMessageID))
	}
	if m.PendingMedia() {
		item[MediaPendingAttribute] = &types.AttributeValueMemberBOOL{Value: true}
	}
	return item, nil
}

func providerKey(provider, id string) string { return "PMID#" + provider + "#" + id }

var notExists = aws.String("attribute_not_exists(PK)")

// PutMessage implements conversation.Store.
func (st *Store) PutMessage(ctx context.Context, m conversation.Message) error {
	item, err := messageItem(m)
	if err != nil {
		return err
	}
	_, err = st.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &st.table, Item: item, ConditionExpression: notExists,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return conversation.ErrDuplicate
	}
	if err != nil {
		return fmt.Errorf("put message: %w", err)
	}
	return nil
}

func conversationItem(c conversation.Conversation) (map[string]types.AttributeValue, error) {
	item, err := attributevalue.MarshalMap(c)
	if err != nil {
		return nil, fmt.Errorf("encode conversation: %w", err)
	}
	for k, v := range convKey(c.ID) {
		item[k] = v
	}
	item["type"] = s(TypeConversation)
	item["GSI1PK"], item["GSI1SK"] = s(inboxPK(c.Status)), s(c.ActivityKey())
	for _, name := range []string{"snoozeUntil", "closedAt", "lastMessageAt", "firstResponseAt", "surveyUntil"} { // omitempty keeps zero times
		if v, ok := item[name].(*types.AttributeValueMemberS); ok && v.Value == zeroTime {
			delete(item, name)
		}
	}
	return item, nil
}

// OpenConversation implements conversation.Store.
func (st *Store) OpenConversation(ctx context.Context, o conversation.Open) error {
	conv, msg, r := o.Conversation, o.Message, o.Route
	convItem, err := conversationItem(conv)
	if err != nil {
		return err
	}
	mItem, err := messageItem(msg)
	if err != nil {
		return err
	}
	if r.Version == 0 {
		return st.openNew(ctx, o, convItem, mItem)
	}
	// A returning customer: the identity moves to the new conversation
	// (conditioned on its version), the contact lists it, in one transaction
	// with the conversation and its first message.
	var ident, contact types.TransactWriteItem
	upd := expression.Set(expression.Name("conversationId"), expression.Value(conv.ID)).
		Set(expression.Name("openedBy"), expression.Value(conv.OpenedBy)).
		Set(expression.Name("version"), expression.Value(r.Version+1))
	cond := expression.Name("version").Equal(expression.Value(r.Version))
	e, err := expression.NewBuilder().WithUpdate(upd).WithCondition(cond).Build()
	if err != nil {
		return fmt.Errorf("build identity update: %w", err)
	}
	ident.Update = &types.Update{
		TableName: &st.table, Key: identityKey(r.Identity), UpdateExpression: e.Update(),
		ConditionExpression: e.Condition(), ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
	}
	cu := expression.Set(expression.Name("conversationIds"),
		expression.ListAppend(expression.Name("conversationIds"), expression.Value([]string{conv.ID})))
	ce, err := expression.NewBuilder().WithUpdate(cu).Build()
	if err != nil {
		return fmt.Errorf("build contact update: %w", err)
	}
	contact.Update = &types.Update{
		TableName: &st.table, Key: contactKey(conv.ContactID), UpdateExpression: ce.Update(),
		ExpressionAttributeNames: ce.Names(), ExpressionAttributeValues: ce.Values(),
	}
	_, err = st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems: []types.TransactWriteItem{
			ident, contact,
			{Put: &types.Put{TableName: &st.table, Item: convItem, ConditionExpression: notExists}},
			{Put: &types.Put{TableName: &st.table, Item: mItem, ConditionExpression: notExists}},
		},
	})
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		reasons := tce.CancellationReasons
		if len(reasons) > 0 && aws.ToString(reasons[0].Code) == "ConditionalCheckFailed" {
			return conversation.ErrConflict
		}
		if len(reasons) > 3 && aws.ToString(reasons[3].Code) == "ConditionalCheckFailed" {
			return conversation.ErrDuplicate // stored before, on a conversation since closed
		}
	}
	if err != nil {
		return fmt.Errorf("open conversation: %w", err)
	}
	return nil
}

// newIdentityItems are a new customer's identity and contact items.
func (st *Store) newIdentityItems(o conversation.Open) (ident, contact map[string]types.AttributeValue, err error) {
	conv, r := o.Conversation, o.Route
	ident, err = attributevalue.MarshalMap(identityItem{
		Kind: r.Identity.Kind, Address: r.Identity.Address, ContactID: conv.ContactID,
		ConversationID: conv.ID, OpenedBy: conv.OpenedBy, Named: o.Name != "", Version: 1, ErasedBefore: r.Erased,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("encode identity: %w", err)
	}
	for k, v := range identityKey(r.Identity) {
		ident[k] = v
	}
	ident["type"] = s(TypeIdentity)
	contact, err = attributevalue.MarshalMap(conversation.Contact{
		ID: conv.ContactID, Name: o.Name, Language: o.Language, CreatedAt: conv.CreatedAt,
		Identities: []conversation.Identity{r.Identity}, ConversationIDs: []string{conv.ID},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("encode contact: %w", err)
	}
	for k, v := range contactKey(conv.ContactID) {
		contact[k] = v
	}
	contact["type"] = s(TypeContact)
	return ident, contact, nil
}

// unclaimedGrace is how long a new contact may wait for its first message's
// projection before its expiresAt deletes it (stream records live 24 hours).
const unclaimedGrace = 7 * 24 * time.Hour

// openingAttribute marks a new customer's conversation until a message of
// it is projected (Project then clears the contact's expiry).
const openingAttribute = "opening"

// openNew opens a new customer's first conversation in ordered writes
// rather than one transaction, which bills every item and index entry twice
// (20 write units as DynamoDB Local reports them; these are 6: contact,
// conversation and its inbox entry, identity, message and its timeline
// entry):
//
//  1. the message's key is read, strongly consistent: a message stored
//     before (on a conversation closed since) undoes step 2 and changes
//     nothing;
//  2. beside that read, the contact, expiring in a week, and the
//     conversation, marked opening, are put: no identity names them yet;
//  3. the identity is put, conditioned on its absence: the commit. Losing
//     that race (another first message of the same person) deletes what
//     step 2 put and answers ErrConflict: the service reads the route again
//     and appends to the winner's conversation. A failure that leaves it
//     unknown whether the put was applied is settled by reading it back;
//  4. the message is put; its projection removes the mark and the
//     contact's expiry (Project).
//
// Whatever fails, the request fails (a 5xx or a spill, then a retry): after
// a failure at 3 what step 2 put is deleted (an undeletable contact
// expires); after 4 failed, the open conversation without messages is the
// one the retry (the provider's, the spill's replay) or the person's next
// message fills.
func (st *Store) openNew(ctx context.Context, o conversation.Open, convItem, msgItem map[string]types.AttributeValue) error {
	ident, contact, err := st.newIdentityItems(o)
	if err != nil {
		return err
	}
	contact[TTLAttribute] = n(time.Now().Add(unclaimedGrace).Unix())
	convItem[openingAttribute] = &types.AttributeValueMemberBOOL{Value: true}
	// Steps 1 and 2 side by side: one round trip.
	var wg sync.WaitGroup
	var seen bool
	errs := make([]error, 3)
	wg.Add(3)
	go func() {
		defer wg.Done()
		out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.table, Key: msgKey(o.Message.Key),
			ConsistentRead: aws.Bool(true), ProjectionExpression: aws.String("PK")})
		seen, errs[0] = err == nil && out.Item != nil, err
	}()
	for i, item := range []map[string]types.AttributeValue{contact, convItem} {
		go func() {
			defer wg.Done()
			_, errs[i+1] = st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &st.table, Item: item, ConditionExpression: notExists})
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil || seen {
		st.unopen(o)
		if err != nil {
			return fmt.Errorf("open conversation: %w", err)
		}
		return conversation.ErrDuplicate // stored before, on a conversation since closed
	}
	_, err = st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &st.table, Item: ident, ConditionExpression: notExists})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		st.unopen(o)
		return conversation.ErrConflict
	}
	if err != nil {
		// Perhaps written (a timeout after the commit): the identity says.
		if it, rerr := st.getIdentity(ctx, o.Route.Identity); rerr == nil && it.ConversationID == o.Conversation.ID {
			err = nil
		} else if rerr == nil || errors.Is(rerr, conversation.ErrNotFound) {
			st.unopen(o)
		} // unreadable: left as it is; the contact expires if nothing names it
	}
	if err != nil {
		return fmt.Errorf("open conversation: put identity: %w", err)
	}
	_, err = st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &st.table, Item: msgItem, ConditionExpression: notExists})
	if errors.As(err, &ccf) {
		return conversation.ErrDuplicate // a copy of it, appended by a racing delivery
	}
	if err != nil {
		return fmt.Errorf("open conversation: put message: %w", err)
	}
	return nil
}

// unopen deletes what openNew put before losing: both items are its own
// (new ids), and nothing names them. Best effort, on a context of its own
// (the request's may be what failed): a leftover contact expires.
func (st *Store) unopen(o conversation.Open) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, k := range []map[string]types.AttributeValue{contactKey(o.Conversation.ContactID), convKey(o.Conversation.ID)} {
		_, _ = st.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &st.table, Key: k})
	}
}

// maxProjectAttempts bounds the optimistic read-apply-write loop; only two
// consumers projecting one conversation at the same moment ever retry.
const maxProjectAttempts = 8

// Project implements conversation.Store.
func (st *Store) Project(ctx context.Context, m conversation.Message, window time.Duration, at time.Time) (conversation.Conversation, error) {
	c, err := st.projectSummary(ctx, m, window, at)
	if err != nil {
		return c, err
	}
	if m.ProfileName != "" {
		if err := st.nameContact(ctx, m); err != nil {
			return c, err
		}
	}
	if m.OptOut == conversation.OptOutStop || m.OptOut == conversation.OptOutStart {
		if err := st.recordOptOut(ctx, m); err != nil {
			return c, err
		}
	}
	return c, nil
}

func (st *Store) projectSummary(ctx context.Context, m conversation.Message, window time.Duration, at time.Time) (conversation.Conversation, error) {
	for range maxProjectAttempts {
		c, opening, err := st.readConversation(ctx, m.ConversationID)
		if err != nil {
			return c, err
		}
		read := c.Version
		if !c.Project(&m, window, at) && !opening {
			return c, nil
		}
		if opening { // a new customer's (openNew): its contact stays, before the mark goes
			if _, err := st.update(ctx, contactKey(c.ContactID), expression.Remove(expression.Name(TTLAttribute)),
				expression.AttributeExists(expression.Name("PK"))); err != nil {
				return c, fmt.Errorf("keep contact: %w", err)
			}
		}
		upd := expression.Set(expression.Name("channels"), expression.Value(&types.AttributeValueMemberSS{Value: channelStrings(c.Channels)})).
			Set(expression.Name("version"), expression.Value(read+1)).
			// A snoozed conversation the customer woke is open again.
			Set(expression.Name("status"), expression.Value(c.Status)).
			Set(expression.Name("unreadCount"), expression.Value(c.Unread)).
			Set(expression.Name("activeAt"), expression.Value(c.ActiveAt)).
			Set(expression.Name("GSI1PK"), expression.Value(inboxPK(c.Status))).
			Set(expression.Name("GSI1SK"), expression.Value(c.ActivityKey()))
		if c.SnoozeUntil.IsZero() {
			upd = upd.Remove(expression.Name("snoozeUntil"))
		}
		if c.Cursor != "" { // a quiet message (a ringing call) alone leaves no last activity
			upd = upd.Set(expression.Name("cursor"), expression.Value(c.Cursor)).
				Set(expression.Name("lastMessageAt"), expression.Value(c.LastMessageAt))
		}
		upd = set(upd, "lastPreview", c.LastPreview, c.LastPreview == "")
		upd = set(upd, "firstResponseAt", c.FirstResponseAt, c.FirstResponseAt.IsZero())
		if c.ReadCursor != "" {
			upd = upd.Set(expression.Name("readCursor"), expression.Value(c.ReadCursor))
		}
		if c.NotifyKey != "" {
			upd = upd.Set(expression.Name("notifyKey"), expression.Value(c.NotifyKey))
		}
		upd = set(upd, "notifyUntil", c.NotifyUntil, c.NotifyUntil.IsZero())
		// Customer care: a survey's window, its first answer.
		upd = set(upd, "surveyUntil", c.SurveyUntil, c.SurveyUntil.IsZero())
		if c.CSAT != nil {
			upd = upd.Set(expression.Name("csat"), expression.Value(c.CSAT))
		}
		upd = set(upd, "unreadOverflow", c.UnreadOverflow, c.UnreadOverflow == 0)
		upd = set(upd, "unread", &types.AttributeValueMemberSS{Value: c.UnreadCursors}, len(c.UnreadCursors) == 0)
		if opening {
			upd = upd.Remove(expression.Name(openingAttribute))
		}
		ok, err := st.update(ctx, convKey(c.ID), upd, expression.Name("version").Equal(expression.Value(read)))
		if err != nil {
			return c, fmt.Errorf("update summary: %w", err)
		}
		if ok {
			c.Version = read + 1
			return c, nil
		}
	}
	return conversation.Conversation{}, fmt.Errorf("update summary of %s: version kept changing", m.ConversationID)
}

func channelStrings(cs []conversation.Channel) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = string(c)
	}
	return out
}

// update runs one UpdateItem and reports whether its condition held; a
// failed condition is not an error (the update was already applied, or
// superseded).
func (st *Store) update(ctx context.Context, k map[string]types.AttributeValue, upd expression.UpdateBuilder, cond expression.ConditionBuilder) (bool, error) {
	e, err := expression.NewBuilder().WithUpdate(upd).WithCondition(cond).Build()
	if err != nil {
		return false, fmt.Errorf("build update: %w", err)
	}
	_, err = st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &st.table, Key: k, UpdateExpression: e.Update(), ConditionExpression: e.Condition(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, nil
}

func (st *Store) nameContact(ctx context.Context, m conversation.Message) error {
	noName := expression.AttributeNotExists(expression.Name("name")) // names are stored omitempty
	if _, err := st.update(ctx, contactKey(m.ContactID),
		expression.Set(expression.Name("name"), expression.Value(m.ProfileName)),
		expression.AttributeExists(expression.Name("PK")).And(noName)); err != nil {
		return fmt.Errorf("name contact: %w", err)
	}
	if _, err := st.update(ctx, identityKey(m.Identity),
		expression.Set(expression.Name("named"), expression.Value(true)),
		expression.AttributeExists(expression.Name("PK"))); err != nil {
		return fmt.Errorf("mark identity named: %w", err)
	}
	return nil
}

func (st *Store) recordOptOut(ctx context.Context, m conversation.Message) error {
	cur := m.Cursor()
	upd := expression.Set(expression.Name("optedOut"), expression.Value(m.OptOut == conversation.OptOutStop)).
		Set(expression.Name("optOutAt"), expression.Value(m.CreatedAt)).
		Set(expression.Name("optCursor"), expression.Value(cur))
	cond := expression.AttributeExists(expression.Name("PK")).And(
		expression.AttributeNotExists(expression.Name("optCursor")).Or(expression.Name("optCursor").LessThan(expression.Value(cur))))
	if _, err := st.update(ctx, identityKey(m.Identity), upd, cond); err != nil {
		return fmt.Errorf("record opt-out: %w", err)
	}
	return nil
}

// UpdateStatus implements conversation.Store.
func (st *Store) UpdateStatus(ctx context.Context, provider, providerMessageID string, u conversation.StatusUpdate) (bool, error) {
	k, err := st.findOutbound(ctx, provider, providerMessageID)
	if err != nil {
		return false, err
	}
	rank := int64(conversation.StatusRank(u.Status))
	upd := expression.Set(expression.Name("status"), expression.Value(u.Status)).
		Set(expression.Name("statusRank"), expression.Value(rank)).
		Set(expression.Name("updatedAt"), expression.Value(u.At.UTC()))
	if u.ErrorCode != "" {
		upd = upd.Set(expression.Name("errorCode"), expression.Value(u.ErrorCode))
	}
	upd = appendStatus(upd, u.Status, u.At)
	cond := expression.AttributeExists(expression.Name("PK")).And(expression.Name("statusRank").LessThan(expression.Value(rank)))
	ok, err := st.update(ctx, k, upd, cond)
	if err != nil {
		return false, fmt.Errorf("update status: %w", err)
	}
	return ok, nil
}

// findOutbound returns the key of the outbound message the provider knows as
// providerMessageID (GSI2).
func (st *Store) findOutbound(ctx context.Context, provider, providerMessageID string) (map[string]types.AttributeValue, error) {
	out, err := st.db.Query(ctx, &dynamodb.QueryInput{
		TableName: &st.table, IndexName: aws.String(GSI2),
		KeyConditionExpression:    aws.String("GSI2PK = :k"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":k": s(providerKey(provider, providerMessageID))},
		Limit:                     aws.Int32(1),
	})
	if err != nil {
		return nil, fmt.Errorf("find message by provider id: %w", err)
	}
	if len(out.Items) == 0 {
		return nil, conversation.ErrNotFound
	}
	return map[string]types.AttributeValue{"PK": out.Items[0]["PK"], "SK": out.Items[0]["SK"]}, nil
}

// OutboundConversation implements conversation.Store.
func (st *Store) OutboundConversation(ctx context.Context, provider, providerMessageID string) (string, error) {
	k, err := st.findOutbound(ctx, provider, providerMessageID)
	if err != nil {
		return "", err
	}
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.table, Key: k,
		ProjectionExpression: aws.String("conversationId")})
	if err != nil {
		return "", fmt.Errorf("read message by provider id: %w", err)
	}
	c, _ := out.Item["conversationId"].(*types.AttributeValueMemberS)
	if c == nil {
		return "", conversation.ErrNotFound
	}
	return c.Value, nil
}

// RecordFailure implements conversation.Store.
func (st *Store) RecordFailure(ctx context.Context, f conversation.Failure) error {
	f.At = f.At.UTC()
	item, err := attributevalue.MarshalMap(f)
	if err != nil {
		return fmt.Errorf("encode failure: %w", err)
	}
	item["PK"], item["SK"], item["type"] = s("FAILURE#"+f.Source), s(f.Ref), s(TypeFailure)
	if _, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &st.table, Item: item}); err != nil {
		return fmt.Errorf("record failure: %w", err)
	}
	return nil
}

// Failures implements conversation.Store.
func (st *Store) Failures(ctx context.Context, source string, limit int) ([]conversation.Failure, error) {
	var out []conversation.Failure
	p := dynamodb.NewQueryPaginator(st.db, &dynamodb.QueryInput{
		TableName: &st.table, KeyConditionExpression: aws.String("PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": s("FAILURE#" + source)},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list failures: %w", err)
		}
		var fs []conversation.Failure
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &fs); err != nil {
			return nil, fmt.Errorf("decode failures: %w", err)
		}
		out = append(out, fs...)
	}
	return conversation.OldestFirst(out, limit), nil
}

// EditMessage implements conversation.Store. Edits are rare, so it reads the
// message, and writes the edit conditioned on no later edit having landed
// (editedAtMs, a number, so the comparison is exact).
func (st *Store) EditMessage(ctx context.Context, conversationID, key, body string, editedAt time.Time) (bool, error) {
	k := msgKey(key)
	m, err := st.Message(ctx, conversationID, key)
	if err != nil {
		return false, err
	}
	if !m.EditedAt.IsZero() && !m.EditedAt.Before(editedAt) {
		return false, nil
	}
	upd := expression.Set(expression.Name("editedAt"), expression.Value(editedAt.UTC())).
		Set(expression.Name("editedAtMs"), expression.Value(editedAt.UnixMilli()))
	if body != "" {
		upd = upd.Set(expression.Name("body"), expression.Value(body))
	} else {
		upd = upd.Remove(expression.Name("body"))
	}
	if m.EditedAt.IsZero() && m.Body != "" {
		upd = upd.Set(expression.Name("originalBody"), expression.Value(m.Body))
	}
	later := expression.AttributeNotExists(expression.Name("editedAtMs")).
		Or(expression.Name("editedAtMs").LessThan(expression.Value(editedAt.UnixMilli())))
	ok, err := st.update(ctx, k, upd, later)
	if err != nil {
		return false, fmt.Errorf("edit message: %w", err)
	}
	return ok, nil
}

// AmendMessage implements conversation.Store.
func (st *Store) AmendMessage(ctx context.Context, conversationID, key string, a conversation.Amend) error {
	var upd expression.UpdateBuilder
	n := 0
	set := func(name string, v any) { upd = upd.Set(expression.Name(name), expression.Value(v)); n++ }
	if a.Status != "" {
		set("status", a.Status)
		set("statusRank", int64(conversation.StatusRank(a.Status)))
	}
	if a.DurationSeconds != 0 {
		set("durationSeconds", a.DurationSeconds)
	}
	if len(a.Media) > 0 {
		av, err := attributevalue.Marshal(a.Media)
		if err != nil {
			return fmt.Errorf("encode media: %w", err)
		}
		set("media", av)
		// The flag the stream filter passes: media to copy (a voicemail's
		// recording arrives by amendment, after the message).
		if conversation.AnyPending(a.Media) {
			set(MediaPendingAttribute, true)
		} else {
			upd = upd.Remove(expression.Name(MediaPendingAttribute))
		}
	}
	if a.Transcript != "" {
		set("transcript", a.Transcript)
	}
	if a.TranscriptStatus != "" {
		set("transcriptStatus", a.TranscriptStatus)
	}
	if a.Unsent {
		set("unsent", true)
	}
	if n == 0 {
		return nil
	}
	ok, err := st.update(ctx, msgKey(key), upd, expression.Name("conversationId").Equal(expression.Value(conversationID)))
	if err != nil {
		return fmt.Errorf("amend message: %w", err)
	}
	if !ok {
		return conversation.ErrNotFound
	}
	return nil
}

// Message implements conversation.Store (strongly consistent).
func (st *Store) Message(ctx context.Context, conversationID, key string) (conversation.Message, error) {
	var m conversation.Message
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.table, Key: msgKey(key), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return m, fmt.Errorf("read message: %w", err)
	}
	if out.Item == nil {
		return m, conversation.ErrNotFound
	}
	if err := attributevalue.UnmarshalMap(out.Item, &m); err != nil {
		return m, fmt.Errorf("decode message: %w", err)
	}
	if m.ConversationID != conversationID {
		return conversation.Message{}, conversation.ErrNotFound
	}
	return m, nil
}

// Summary implements conversation.Store.
func (st *Store) Summary(ctx context.Context, id string) (conversation.Conversation, error) {
	return st.getConversation(ctx, id)
}

func (st *Store) getConversation(ctx context.Context, id string) (conversation.Conversation, error) {
	c, _, err := st.readConversation(ctx, id)
	return c, err
}

// readConversation reads the summary, and whether it is a new customer's
// not yet projected (openNew's mark).
func (st *Store) readConversation(ctx context.Context, id string) (conversation.Conversation, bool, error) {
	var c conversation.Conversation
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.table, Key: convKey(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return c, false, fmt.Errorf("get conversation: %w", err)
	}
	if out.Item == nil {
		return c, false, conversation.ErrNotFound
	}
	if erased(out.Item) {
		return c, false, conversation.ErrErased
	}
	_, opening := out.Item[openingAttribute]
	c, err = decodeConversation(out.Item)
	return c, opening, err
}

func decodeConversation(item map[string]types.AttributeValue) (conversation.Conversation, error) {
	var c conversation.Conversation
	if err := attributevalue.UnmarshalMap(item, &c); err != nil {
		return c, fmt.Errorf("decode conversation: %w", err)
	}
	return c, nil
}

func inboxPK(status string) string { return "INBOX#" + status }

// zeroTime is how attributevalue encodes time.Time{}.
const zeroTime = "0001-01-01T00:00:00Z"

// InboxAttributes are the summary's attributes GSI1 projects: the inbox's
// list view, so that a page is one Query. The unread cursors, the
// notification window and the version stay out, which keeps an index entry
// well under 1 KB (one write unit each time it moves).
var InboxAttributes = []string{"conversationId", "contactId", "status", "team", "assignee", "channels", "channel", "createdAt", "activeAt",
	"lastMessageAt", "lastPreview", "unreadCount", "snoozeUntil", "closedAt", "labels", "priority", "reopenCount", "firstResponseAt"}

// Inbox implements conversation.Store: one Query of GSI1 on INBOX#<status>,
// highest activity key first, the filters as a FilterExpression, Limit the
// entries to examine.
func (st *Store) Inbox(ctx context.Context, r conversation.InboxRange) (conversation.InboxRead, error) {
	key := expression.Key("GSI1PK").Equal(expression.Value(inboxPK(r.Filter.Status)))
	switch sk := expression.Key("GSI1SK"); {
	case r.Above != "" && r.Below != "":
		// between is inclusive; the bounds are keys of listed entries or
		// floors no entry equals, and an entry equal to one is dropped below
		key = key.And(sk.Between(expression.Value(r.Above), expression.Value(r.Below)))
	case r.Above != "":
		key = key.And(sk.GreaterThan(expression.Value(r.Above)))
	case r.Below != "":
		key = key.And(sk.LessThan(expression.Value(r.Below)))
	}
	b := expression.NewBuilder().WithKeyCondition(key)
	if f, ok := inboxFilter(r.Filter); ok {
		b = b.WithFilter(f)
	}
	e, err := b.Build()
	if err != nil {
		return conversation.InboxRead{}, fmt.Errorf("build inbox query: %w", err)
	}
	out, err := st.db.Query(ctx, &dynamodb.QueryInput{
		TableName: &st.table, IndexName: aws.String(GSI1), ScanIndexForward: aws.Bool(false),
		KeyConditionExpression: e.KeyCondition(), FilterExpression: e.Filter(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(), Limit: aws.Int32(int32(r.Scan)),
	})
	if err != nil {
		return conversation.InboxRead{}, fmt.Errorf("query inbox: %w", err)
	}
	var res conversation.InboxRead
	for _, it := range out.Items {
		if k, _ := it["GSI1SK"].(*types.AttributeValueMemberS); k != nil && (k.Value == r.Above || k.Value == r.Below) {
			continue
		}
		c, err := decodeConversation(it)
		if err != nil {
			return res, err
		}
		if len(res.Conversations) == r.Limit { // more matched than asked: continue after the last one given
			res.Last = res.Conversations[r.Limit-1].ActivityKey()
			return res, nil
		}
		res.Conversations = append(res.Conversations, c)
	}
	if k, _ := out.LastEvaluatedKey["GSI1SK"].(*types.AttributeValueMemberS); k != nil {
		res.Last = k.Value
	}
	return res, nil
}

// inboxFilter is the filter expression of the narrowing filters.
func inboxFilter(f conversation.InboxFilter) (expression.ConditionBuilder, bool) {
	var cs []expression.ConditionBuilder
	if f.Team != "" {
		cs = append(cs, expression.Name("team").Equal(expression.Value(f.Team)))
	}
	if f.Assignee != "" {
		cs = append(cs, expression.Name("assignee").Equal(expression.Value(f.Assignee)))
	}
	if f.Unassigned {
		cs = append(cs, expression.AttributeNotExists(expression.Name("assignee")))
	}
	if f.Channel != "" {
		cs = append(cs, expression.Contains(expression.Name("channels"), string(f.Channel)))
	}
	if f.Label != "" {
		cs = append(cs, expression.Contains(expression.Name("labels"), f.Label))
	}
	switch len(cs) {
	case 0:
		return expression.ConditionBuilder{}, false
	case 1:
		return cs[0], true
	}
	return expression.And(cs[0], cs[1], cs[2:]...), true
}

// Conversation implements conversation.Store: the summary (GetItem), then
// its timeline from GSI3 in cursor order.
func (st *Store) Conversation(ctx context.Context, id string) (conversation.Conversation, []conversation.Message, error) {
	conv, err := st.getConversation(ctx, id)
	if err != nil {
		return conv, nil, err
	}
	var msgs []conversation.Message
	p := dynamodb.NewQueryPaginator(st.db, &dynamodb.QueryInput{
		TableName: &st.table, IndexName: aws.String(GSI3), KeyConditionExpression: aws.String("GSI3PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": s("CONV#" + id)},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return conv, nil, fmt.Errorf("query timeline: %w", err)
		}
		var ms []conversation.Message
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &ms); err != nil {
			return conv, nil, fmt.Errorf("decode messages: %w", err)
		}
		msgs = append(msgs, ms...)
	}
	conversation.SortMessages(msgs) // GSI3SK is the cursor already; this keeps ties of equal cursors stable
	return conv, msgs, nil
}

// Timeline implements conversation.Store: one Query of GSI3, newest first
// from the cursor, limit+1 items (the extra one says whether a page
// follows); the summary is not read unless the page is empty.
func (st *Store) Timeline(ctx context.Context, id, before string, limit int) ([]conversation.Message, string, error) {
	cond := "GSI3PK = :pk"
	vals := map[string]types.AttributeValue{":pk": s("CONV#" + id)}
	if before != "" {
		cond += " AND GSI3SK < :before"
		vals[":before"] = s(before)
	}
	out, err := st.db.Query(ctx, &dynamodb.QueryInput{
		TableName: &st.table, IndexName: aws.String(GSI3), KeyConditionExpression: &cond,
		ExpressionAttributeValues: vals, ScanIndexForward: aws.Bool(false), Limit: aws.Int32(int32(limit + 1)),
	})
	if err != nil {
		return nil, "", fmt.Errorf("query timeline: %w", err)
	}
	var msgs []conversation.Message
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &msgs); err != nil {
		return nil, "", fmt.Errorf("decode messages: %w", err)
	}
	if len(msgs) == 0 {
		if _, err := st.getConversation(ctx, id); err != nil {
			return nil, "", err
		}
	}
	return conversation.TimelinePage(msgs, limit)
}

// Contact implements conversation.Store.
func (st *Store) Contact(ctx context.Context, id string) (conversation.Contact, error) {
	var c conversation.Contact
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.table, Key: contactKey(id)})
	if err != nil {
		return c, fmt.Errorf("get contact: %w", err)
	}
	if out.Item == nil {
		return c, conversation.ErrNotFound
	}
	if erased(out.Item) {
		return c, conversation.ErrErased
	}
	if err := attributevalue.UnmarshalMap(out.Item, &c); err != nil {
		return c, fmt.Errorf("decode contact: %w", err)
	}
	return c, nil
}

// IdentityState implements conversation.Store.
func (st *Store) IdentityState(ctx context.Context, id conversation.Identity) (conversation.IdentityState, error) {
	it, err := st.getIdentity(ctx, id)
	if err != nil {
		return conversation.IdentityState{}, err
	}
	return conversation.IdentityState{Identity: id, ContactID: it.ContactID, OptedOut: it.OptedOut, OptOutAt: it.OptOutAt}, nil
}

// ChangeConversation implements conversation.Store: one TransactWriteItems
// of the summary (conditioned on the version read), each identity's pointer,
// the timeline events and the customer's message.
func (st *Store) ChangeConversation(ctx context.Context, ch conversation.Change) error {
	items, firstEvent, _, err := st.changeItems(ch)
	if err != nil {
		return err
	}
	_, err = st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		for i, r := range tce.CancellationReasons {
			if aws.ToString(r.Code) != "ConditionalCheckFailed" {
				continue
			}
			switch {
			case i == 0:
				return conversation.ErrConflict // the summary moved since it was read
			case i < firstEvent && ch.Pointer == conversation.PointerSet:
				return conversation.ErrNewerOpen
			case i < firstEvent:
				return conversation.ErrConflict
			default: // an event stored before (a request sent again), or the customer's message
				return conversation.ErrDuplicate
			}
		}
	}
	if err != nil {
		return fmt.Errorf("change conversation %s: %w", ch.After.ID, err)
	}
	return nil
}

// changeItems are a Change's transaction items: the summary's update first,
// then the identities', the events' and timers' puts from firstEvent, and
// the customer's message at msgAt (-1: none).
func (st *Store) changeItems(ch conversation.Change) (items []types.TransactWriteItem, firstEvent, msgAt int, err error) {
	a := ch.After
	upd := expression.Set(expression.Name("status"), expression.Value(a.Status)).
		Set(expression.Name("contactId"), expression.Value(a.ContactID)).
		Set(expression.Name("team"), expression.Value(a.Team)).
		Set(expression.Name("version"), expression.Value(a.Version)).
		Set(expression.Name("unreadCount"), expression.Value(a.Unread)).
		Set(expression.Name("activeAt"), expression.Value(a.ActiveAt.UTC())).
		Set(expression.Name("GSI1PK"), expression.Value(inboxPK(a.Status))).
		Set(expression.Name("GSI1SK"), expression.Value(a.ActivityKey()))
	upd = set(upd, "assignee", a.Assignee, a.Assignee == "")
	upd = set(upd, "labels", &types.AttributeValueMemberSS{Value: a.Labels}, len(a.Labels) == 0)
	upd = set(upd, "priority", a.Priority, a.Priority == "")
	upd = set(upd, "snoozeUntil", a.SnoozeUntil.UTC(), a.SnoozeUntil.IsZero())
	upd = set(upd, "closedAt", a.ClosedAt.UTC(), a.ClosedAt.IsZero())
	upd = set(upd, "closedBy", a.ClosedBy, a.ClosedBy == "")
	upd = set(upd, "reopenCount", a.ReopenCount, a.ReopenCount == 0)
	upd = set(upd, "mergedInto", a.MergedInto, a.MergedInto == "")
	upd = set(upd, "unread", &types.AttributeValueMemberSS{Value: a.UnreadCursors}, len(a.UnreadCursors) == 0)
	upd = set(upd, "unreadOverflow", a.UnreadOverflow, a.UnreadOverflow == 0)
	upd = set(upd, "readCursor", a.ReadCursor, a.ReadCursor == "")
	conv, err := st.updateItem(convKey(a.ID), upd, expression.Name("version").Equal(expression.Value(ch.Before.Version)))
	if err != nil {
		return nil, 0, 0, err
	}
	items = []types.TransactWriteItem{{Update: conv}}
	at := a.ClosedAt
	if at.IsZero() {
		at = time.Now().UTC()
	}
	for _, id := range ch.Identities {
		var u expression.UpdateBuilder
		var cond expression.ConditionBuilder
		here := expression.Name("conversationId").Equal(expression.Value(a.ID))
		none := expression.AttributeNotExists(expression.Name("conversationId"))
		switch ch.Pointer {
		case conversation.PointerClear:
			u = expression.Set(expression.Name("lastConversationId"), expression.Value(a.ID)).
				Set(expression.Name("lastClosedAt"), expression.Value(at.UTC())).
				Remove(expression.Name("conversationId")).Remove(expression.Name("openedBy"))
			cond = here.Or(none)
		case conversation.PointerSet:
			u = expression.Set(expression.Name("conversationId"), expression.Value(a.ID))
			cond = here.Or(none)
		default:
			continue
		}
		u = u.Add(expression.Name("version"), expression.Value(1))
		it, err := st.updateItem(identityKey(id), u, expression.AttributeExists(expression.Name("PK")).And(cond))
		if err != nil {
			return nil, 0, 0, err
		}
		items = append(items, types.TransactWriteItem{Update: it})
	}
	firstEvent = len(items)
	for _, m := range ch.Events {
		item, err := messageItem(m)
		if err != nil {
			return nil, 0, 0, err
		}
		items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: &st.table, Item: item, ConditionExpression: notExists}})
	}
	for _, tm := range ch.Timers {
		item, err := timerItem(tm)
		if err != nil {
			return nil, 0, 0, err
		}
		items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: &st.table, Item: item}})
	}
	msgAt = -1
	if ch.Message != nil {
		item, err := messageItem(*ch.Message)
		if err != nil {
			return nil, 0, 0, err
		}
		msgAt = len(items)
		items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: &st.table, Item: item, ConditionExpression: notExists}})
	}
	return items, firstEvent, msgAt, nil
}

// set sets name to v on u, or removes it when empty (the items keep no
// empty attributes).
func set(u expression.UpdateBuilder, name string, v any, empty bool) expression.UpdateBuilder {
	if empty {
		return u.Remove(expression.Name(name))
	}
	return u.Set(expression.Name(name), expression.Value(v))
}

// updateItem builds one transaction Update.
func (st *Store) updateItem(k map[string]types.AttributeValue, upd expression.UpdateBuilder, cond expression.ConditionBuilder) (*types.Update, error) {
	e, err := expression.NewBuilder().WithUpdate(upd).WithCondition(cond).Build()
	if err != nil {
		return nil, fmt.Errorf("build update: %w", err)
	}
	return &types.Update{TableName: &st.table, Key: k, UpdateExpression: e.Update(), ConditionExpression: e.Condition(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values()}, nil
}

// TimerRetention is how long an unfired timer is kept (TTL) past its due
// time: a sweeper down longer than that has bigger troubles.
const TimerRetention = 7 * 24 * time.Hour

var _ conversation.TimerStore = (*Store)(nil)

func timerPK(minute time.Time) string {
	return "TIMER#" + conversation.Minute(minute).Format(time.RFC3339)
}

func timerItem(tm conversation.Timer) (map[string]types.AttributeValue, error) {
	tm.Due = tm.Due.UTC()
	item, err := attributevalue.MarshalMap(tm)
	if err != nil {
		return nil, fmt.Errorf("encode timer: %w", err)
	}
	item["PK"] = s(timerPK(tm.Due))
	item["SK"] = s(tm.Due.Format(time.RFC3339Nano) + "#" + tm.Kind + "#" + tm.ConversationID + "#" + tm.Ref)
	item["type"] = s(TypeTimer)
	item[TTLAttribute] = n(tm.Due.Add(TimerRetention).Unix())
	return item, nil
}

// DueTimers implements conversation.TimerStore: one Query of the minute's
// partition (strongly consistent: a timer set a moment ago is seen).
func (st *Store) DueTimers(ctx context.Context, minute time.Time) ([]conversation.Timer, error) {
	var out []conversation.Timer
	p := dynamodb.NewQueryPaginator(st.db, &dynamodb.QueryInput{
		TableName: &st.table, KeyConditionExpression: aws.String("PK = :pk"), ConsistentRead: aws.Bool(true),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": s(timerPK(minute))},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("query timers: %w", err)
		}
		var ts []conversation.Timer
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &ts); err != nil {
			return nil, fmt.Errorf("decode timers: %w", err)
		}
		out = append(out, ts...)
	}
	return out, nil
}

// PutTimer implements conversation.TimerWriter: one PutItem (setting the
// same timer again writes the same item).
func (st *Store) PutTimer(ctx context.Context, tm conversation.Timer) error {
	item, err := timerItem(tm)
	if err != nil {
		return err
	}
	if _, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &st.table, Item: item}); err != nil {
		return fmt.Errorf("put timer: %w", err)
	}
	return nil
}

// DeleteTimer implements conversation.TimerStore.
func (st *Store) DeleteTimer(ctx context.Context, tm conversation.Timer) error {
	item, err := timerItem(tm)
	if err != nil {
		return err
	}
	if _, err := st.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &st.table,
		Key: map[string]types.AttributeValue{"PK": item["PK"], "SK": item["SK"]}}); err != nil {
		return fmt.Errorf("delete timer: %w", err)
	}
	return nil
}

func sweepKey() map[string]types.AttributeValue { return key("SWEEP", "timers") }

// Swept implements conversation.TimerStore.
func (st *Store) Swept(ctx context.Context) (time.Time, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.table, Key: sweepKey(), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return time.Time{}, fmt.Errorf("read sweep progress: %w", err)
	}
	var v struct {
		Minute time.Time `dynamodbav:"minute"`
	}
	if out.Item == nil {
		return time.Time{}, nil
	}
	if err := attributevalue.UnmarshalMap(out.Item, &v); err != nil {
		return time.Time{}, fmt.Errorf("decode sweep progress: %w", err)
	}
	return v.Minute, nil
}

// SetSwept implements conversation.TimerStore: it only moves forward.
func (st *Store) SetSwept(ctx context.Context, minute time.Time) error {
	minute = conversation.Minute(minute)
	_, err := st.update(ctx, sweepKey(),
		expression.Set(expression.Name("minute"), expression.Value(minute)).Set(expression.Name("type"), expression.Value("sweep")),
		expression.AttributeNotExists(expression.Name("minute")).Or(expression.Name("minute").LessThan(expression.Value(minute))))
	if err != nil {
		return fmt.Errorf("record sweep progress: %w", err)
	}
	return nil
}

// ChangeContact implements conversation.Store: one transaction of the
// contact and its identities' blocked flag.
func (st *Store) ChangeContact(ctx context.Context, before, after conversation.Contact) error {
	upd := set(expression.UpdateBuilder{}, "name", after.Name, after.Name == "")
	upd = set(upd, "language", after.Language, after.Language == "")
	upd = set(upd, "blocked", true, !after.Blocked)
	upd = set(upd, "email", after.Email, after.Email == "")
	exists := expression.AttributeExists(expression.Name("PK"))
	ct, err := st.updateItem(contactKey(after.ID), upd, exists)
	if err != nil {
		return err
	}
	items := []types.TransactWriteItem{{Update: ct}}
	if after.Blocked != before.Blocked {
		for _, id := range after.Identities {
			u := set(expression.UpdateBuilder{}, "blocked", true, !after.Blocked)
			if after.Name != "" {
				u = u.Set(expression.Name("named"), expression.Value(true))
			}
			it, err := st.updateItem(identityKey(id), u, exists)
			if err != nil {
				return err
			}
			items = append(items, types.TransactWriteItem{Update: it})
		}
	}
	_, err = st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		return conversation.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("change contact %s: %w", after.ID, err)
	}
	return nil
}

// Secret implements conversation.Store: item SECRET#<name>, made on first
// use with a conditional put, so that every caller gets the first one made.
func (st *Store) Secret(ctx context.Context, name string) ([]byte, error) {
	if v, ok := st.secrets.Load(name); ok {
		return v.([]byte), nil
	}
	b, err := st.secret(ctx, name)
	if err == nil {
		st.secrets.Store(name, b)
	}
	return b, err
}

func (st *Store) secret(ctx context.Context, name string) ([]byte, error) {
	k := key("SECRET#"+name, "SECRET")
	for range 2 {
		out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.table, Key: k, ConsistentRead: aws.Bool(true)})
		if err != nil {
			return nil, fmt.Errorf("read secret %s: %w", name, err)
		}
		if v, ok := out.Item["value"].(*types.AttributeValueMemberB); ok {
			return v.Value, nil
		}
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("make secret: %w", err)
		}
		item := key("SECRET#"+name, "SECRET")
		item["type"], item["value"] = s("secret"), &types.AttributeValueMemberB{Value: b}
		_, err = st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &st.table, Item: item, ConditionExpression: notExists})
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			continue // another caller made it first: read theirs
		}
		if err != nil {
			return nil, fmt.Errorf("store secret %s: %w", name, err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("secret %s: made and not found", name)
}

// Merge implements conversation.Store: one TransactWriteItems of both
// contacts (neither merged since: attribute_not_exists(mergedInto)), every
// identity (conditioned on its version) and the conversation changes with
// their events.
func (st *Store) Merge(ctx context.Context, m conversation.Merge) error {
	notMerged := expression.AttributeExists(expression.Name("PK")).And(expression.AttributeNotExists(expression.Name("mergedInto")))
	from, err := st.updateItem(contactKey(m.From.ID), expression.Set(expression.Name("mergedInto"), expression.Value(m.Into.ID)), notMerged)
	if err != nil {
		return err
	}
	into, err := st.updateItem(contactKey(m.Into.ID), expression.
		Set(expression.Name("identities"), expression.ListAppend(expression.Name("identities"), expression.Value(m.From.Identities))).
		Set(expression.Name("conversationIds"), expression.ListAppend(expression.Name("conversationIds"), expression.Value(nonNil(m.From.ConversationIDs)))).
		Set(expression.Name("mergedFrom"), expression.ListAppend(expression.IfNotExists(expression.Name("mergedFrom"), expression.Value([]string{})), expression.Value([]string{m.From.ID}))), notMerged)
	if err != nil {
		return err
	}
	items := []types.TransactWriteItem{{Update: from}, {Update: into}}
	for _, r := range m.Identities {
		u := expression.Set(expression.Name("contactId"), expression.Value(r.ContactID)).
			Set(expression.Name("version"), expression.Value(r.Route.Version+1)).
			Set(expression.Name("named"), expression.Value(r.Named))
		u = set(u, "conversationId", r.ConversationID, r.ConversationID == "")
		u = set(u, "openedBy", r.OpenedBy, r.OpenedBy == "")
		u = set(u, "blocked", true, !r.Blocked)
		it, err := st.updateItem(identityKey(r.Route.Identity), u, expression.Name("version").Equal(expression.Value(r.Route.Version)))
		if err != nil {
			return err
		}
		items = append(items, types.TransactWriteItem{Update: it})
	}
	for _, ch := range m.Changes {
		ci, _, _, err := st.changeItems(ch)
		if err != nil {
			return err
		}
		items = append(items, ci...)
	}
	_, err = st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		for _, r := range tce.CancellationReasons {
			if aws.ToString(r.Code) == "ConditionalCheckFailed" {
				return conversation.ErrConflict
			}
		}
	}
	if err != nil {
		return fmt.Errorf("merge %s into %s: %w", m.From.ID, m.Into.ID, err)
	}
	return nil
}

func nonNil(ids []string) []string {
	if ids == nil {
		return []string{}
	}
	return ids
}

// MoveConversations implements conversation.Store: one conditional
// UpdateItem per conversation.
func (st *Store) MoveConversations(ctx context.Context, from, to string, ids []string) error {
	for _, id := range ids {
		if _, err := st.update(ctx, convKey(id), expression.Set(expression.Name("contactId"), expression.Value(to)),
			expression.Name("contactId").Equal(expression.Value(from))); err != nil {
			return fmt.Errorf("move conversation %s: %w", id, err)
		}
	}
	return nil
}

// MoveMessage implements conversation.Store: the message's conversationId
// and its timeline index key, conditioned on it still being on from.
func (st *Store) MoveMessage(ctx context.Context, k, from, to string) error {
	if _, err := st.update(ctx, msgKey(k),
		expression.Set(expression.Name("conversationId"), expression.Value(to)).Set(expression.Name("GSI3PK"), expression.Value("CONV#"+to)),
		expression.Name("conversationId").Equal(expression.Value(from))); err != nil {
		return fmt.Errorf("move message %s: %w", k, err)
	}
	return nil
}

// FactRetention is how long a recorded fact's marker is kept (TTL): longer
// than the stream keeps a record (24 hours), so a redelivery finds it.
const FactRetention = 72 * time.Hour

func rollupKey(team, day string) map[string]types.AttributeValue { return key("ROLLUP#"+team, day) }

// RecordFact implements conversation.Store: one TransactWriteItems of the
// fact's marker (FACT#<id>, attribute_not_exists: a fact counts once) and
// the ADD of its counters to the team's day (ROLLUP#<team>, <day>).
func (st *Store) RecordFact(ctx context.Context, f conversation.Fact) error {
	marker := key("FACT#"+f.ID, "FACT")
	marker["type"], marker[TTLAttribute] = s("fact"), n(time.Now().Add(FactRetention).Unix())
	var add expression.UpdateBuilder
	one := expression.Value(1)
	switch f.Kind {
	case conversation.FactOpened:
		add = add.Add(expression.Name("opened_"+string(f.Channel)), one)
	case conversation.FactReopened:
		add = add.Add(expression.Name("reopened"), one)
	case conversation.FactCSAT:
		if f.Score < 1 || f.Score > 5 {
			return fmt.Errorf("csat fact %s: score %d", f.ID, f.Score)
		}
		add = add.Add(expression.Name(fmt.Sprintf("csat_%d", f.Score)), one)
	case conversation.FactClosed, conversation.FactFirstResponse:
		p := "res"
		if f.Kind == conversation.FactFirstResponse {
			p = "fr"
		} else {
			add = add.Add(expression.Name("closed"), one)
		}
		add = add.Add(expression.Name(fmt.Sprintf("%s_%d", p, conversation.Bucket(f.Duration))), one).
			Add(expression.Name(p+"SumMs"), expression.Value(f.Duration.Milliseconds()))
	default:
		return fmt.Errorf("unknown fact %q", f.Kind)
	}
	add = add.Set(expression.Name("type"), expression.Value("rollup"))
	e, err := expression.NewBuilder().WithUpdate(add).Build()
	if err != nil {
		return fmt.Errorf("build rollup update: %w", err)
	}
	up := &types.Update{TableName: &st.table, Key: rollupKey(f.Team, f.Day), UpdateExpression: e.Update(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values()}
	_, err = st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: &st.table, Item: marker, ConditionExpression: notExists}},
		{Update: up},
	}})
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) && len(tce.CancellationReasons) > 0 && aws.ToString(tce.CancellationReasons[0].Code) == "ConditionalCheckFailed" {
		return nil // counted before
	}
	if err != nil {
		return fmt.Errorf("record fact %s: %w", f.ID, err)
	}
	return nil
}

// Rollups implements conversation.Store: one Query of ROLLUP#<team>
// between the days.
func (st *Store) Rollups(ctx context.Context, team, from, to string) ([]conversation.Rollup, error) {
	var out []conversation.Rollup
	p := dynamodb.NewQueryPaginator(st.db, &dynamodb.QueryInput{
		TableName: &st.table, KeyConditionExpression: aws.String("PK = :pk AND SK BETWEEN :from AND :to"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": s("ROLLUP#" + team), ":from": s(from), ":to": s(to)},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("query rollups: %w", err)
		}
		for _, it := range page.Items {
			var raw map[string]any
			if err := attributevalue.UnmarshalMap(it, &raw); err != nil {
				return nil, fmt.Errorf("decode rollup: %w", err)
			}
			out = append(out, decodeRollup(team, raw))
		}
	}
	return out, nil
}

func decodeRollup(team string, raw map[string]any) conversation.Rollup {
	r := conversation.Rollup{Team: team, Opened: map[conversation.Channel]int{},
		FirstResponse: make([]int, len(conversation.Buckets)+1), Resolution: make([]int, len(conversation.Buckets)+1)}
	r.Day, _ = raw["SK"].(string)
	for k, v := range raw {
		f, ok := v.(float64)
		if !ok {
			continue
		}
		n := int(f)
		var i int
		switch {
		case strings.HasPrefix(k, "opened_"):
			r.Opened[conversation.Channel(strings.TrimPrefix(k, "opened_"))] += n
		case k == "closed":
			r.Closed = n
		case k == "reopened":
			r.Reopened = n
		case k == "frSumMs":
			r.FirstResponseSum = time.Duration(f) * time.Millisecond
		case k == "resSumMs":
			r.ResolutionSum = time.Duration(f) * time.Millisecond
		case scan(k, "fr_%d", &i) && i < len(r.FirstResponse):
			r.FirstResponse[i] = n
		case scan(k, "res_%d", &i) && i < len(r.Resolution):
			r.Resolution[i] = n
		case scan(k, "csat_%d", &i) && i >= 1 && i <= len(r.CSAT):
			r.CSAT[i-1] = n
		}
	}
	return r
}

func scan(s, format string, i *int) bool {
	_, err := fmt.Sscanf(s, format, i)
	return err == nil
}

// appendStatus adds a statusHistory entry.
func appendStatus(u expression.UpdateBuilder, status string, at time.Time) expression.UpdateBuilder {
	h := expression.Name("statusHistory")
	return u.Set(h, expression.ListAppend(expression.IfNotExists(h, expression.Value([]conversation.StatusChange{})),
		expression.Value([]conversation.StatusChange{{Status: status, At: at.UTC()}})))
}

// RecordSend implements conversation.Store: one UpdateItem of the message,
// conditioned on its status ranking below r's (a status callback that came
// first is not overwritten), which also indexes the provider id (GSI2) for
// the callbacks to come.
func (st *Store) RecordSend(ctx context.Context, m conversation.Message, r conversation.SendResult) (bool, error) {
	rank := int64(conversation.StatusRank(r.Status))
	upd := expression.Set(expression.Name("status"), expression.Value(r.Status)).
		Set(expression.Name("statusRank"), expression.Value(rank)).
		Set(expression.Name("updatedAt"), expression.Value(r.At.UTC()))
	upd = appendStatus(upd, r.Status, r.At)
	if r.ProviderMessageID != "" {
		upd = upd.Set(expression.Name("providerMessageId"), expression.Value(r.ProviderMessageID))
	}
	upd = set(upd, "errorCode", r.ErrorCode, r.ErrorCode == "")
	upd = set(upd, "reason", r.Reason, r.Reason == "")
	cond := expression.Name("conversationId").Equal(expression.Value(m.ConversationID)).
		And(expression.Name("statusRank").LessThan(expression.Value(rank)))
	if r.ProviderMessageID != "" {
		upd = upd.Set(expression.Name("GSI2PK"), expression.Value(providerKey(m.Provider, r.ProviderMessageID)))
	}
	ok, err := st.update(ctx, msgKey(m.Key), upd, cond)
	if err != nil {
		return false, fmt.Errorf("record send: %w", err)
	}
	if !ok { // not newer, or not stored: tell which
		if _, err := st.Message(ctx, m.ConversationID, m.Key); err != nil {
			return false, err
		}
	}
	return ok, nil
}
