package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard/switchboard/shared/conversation"
)

// Erasure items (conversation.EraseStore):
//
//	tombstone (tombstone)  ERASED#<hmac>        ERASED     at: an erased identity's or inbound message key's HMAC
//	                                                       (conversation.TombstoneHash), never expiring
//	contact (contact)      CONTACT#<id>         CONTACT    contactId, erasedAt and nothing else, once erased
//	conversation           CONV#<id>            #CONV      conversationId, erasedAt and nothing else (no GSI1 keys:
//	                                                       out of the inbox), once erased
//	audit (audit)          AUDIT#<yyyy-mm-dd>   <at>#<id>  action, agent, contactId, at: who exported or erased whom
const (
	TypeTombstone = "tombstone"
	TypeAudit     = "audit"
)

func tombKey(hash string) map[string]types.AttributeValue { return key("ERASED#"+hash, "ERASED") }

// Tombstone implements conversation.EraseStore: a BatchWriteItem of 25
// tombstones at a time (writing one again is harmless).
func (st *Store) Tombstone(ctx context.Context, hashes []string, at time.Time) error {
	reqs := make([]types.WriteRequest, 0, len(hashes))
	for _, h := range hashes {
		item := tombKey(h)
		item["type"], item["at"] = s(TypeTombstone), s(at.UTC().Format(time.RFC3339))
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
	}
	return st.batchWrite(ctx, reqs)
}

// batchWrite writes reqs in batches of 25, retrying what DynamoDB leaves
// unprocessed.
func (st *Store) batchWrite(ctx context.Context, reqs []types.WriteRequest) error {
	seen := map[string]bool{} // a batch may not name an item twice
	reqs = slices.DeleteFunc(reqs, func(r types.WriteRequest) bool {
		var k map[string]types.AttributeValue
		if r.PutRequest != nil {
			k = r.PutRequest.Item
		} else {
			k = r.DeleteRequest.Key
		}
		id := k["PK"].(*types.AttributeValueMemberS).Value + "\x00" + k["SK"].(*types.AttributeValueMemberS).Value
		dup := seen[id]
		seen[id] = true
		return dup
	})
	for len(reqs) > 0 {
		n := min(25, len(reqs))
		batch := reqs[:n]
		reqs = reqs[n:]
		for attempt := 0; len(batch) > 0; attempt++ {
			if attempt == 8 {
				return fmt.Errorf("batch write: %d items left unprocessed", len(batch))
			}
			if attempt > 0 {
				time.Sleep(time.Duration(1<<attempt) * 10 * time.Millisecond)
			}
			out, err := st.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{st.table: batch}})
			if err != nil {
				return fmt.Errorf("batch write: %w", err)
			}
			batch = out.UnprocessedItems[st.table]
		}
	}
	return nil
}

// Tombstoned implements conversation.EraseStore: one strongly consistent
// GetItem.
func (st *Store) Tombstoned(ctx context.Context, hash string) (bool, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.table, Key: tombKey(hash), ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String("PK")})
	if err != nil {
		return false, fmt.Errorf("get tombstone: %w", err)
	}
	return out.Item != nil, nil
}

// EraseIdentity implements conversation.EraseStore: a DeleteItem of the
// identity conditioned on its contactId.
func (st *Store) EraseIdentity(ctx context.Context, id conversation.Identity, contactID string) error {
	cond, err := expression.NewBuilder().WithCondition(expression.Name("contactId").Equal(expression.Value(contactID))).Build()
	if err != nil {
		return err
	}
	_, err = st.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &st.table, Key: identityKey(id),
		ConditionExpression: cond.Condition(), ExpressionAttributeNames: cond.Names(), ExpressionAttributeValues: cond.Values()})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil // gone already, or someone else's since
	}
	if err != nil {
		return fmt.Errorf("delete identity: %w", err)
	}
	return nil
}

// EraseMessages implements conversation.EraseStore: BatchWriteItem deletes
// of each message item, its report fact marker and the delivery records.
func (st *Store) EraseMessages(ctx context.Context, conversationID string, keys, deliveries []string) error {
	reqs := make([]types.WriteRequest, 0, 2*len(keys)+len(deliveries))
	del := func(k map[string]types.AttributeValue) {
		reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: k}})
	}
	for _, k := range keys {
		del(msgKey(k))
		del(key("FACT#"+k, "FACT"))
	}
	for _, d := range deliveries {
		del(deliveryKey(d))
	}
	return st.batchWrite(ctx, reqs)
}

// EraseConversation implements conversation.EraseStore: the summary item
// is put back as its tombstone, and the timers deleted.
func (st *Store) EraseConversation(ctx context.Context, id string, timers []conversation.Timer, at time.Time) error {
	item := convKey(id)
	item["type"], item["conversationId"], item["erasedAt"] = s(TypeConversation), s(id), s(at.UTC().Format(time.RFC3339Nano))
	if _, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &st.table, Item: item}); err != nil {
		return fmt.Errorf("put conversation tombstone: %w", err)
	}
	for _, tm := range timers {
		if err := st.DeleteTimer(ctx, tm); err != nil {
			return err
		}
	}
	return nil
}

// EraseContact implements conversation.EraseStore: the contact item is put
// back as its tombstone.
func (st *Store) EraseContact(ctx context.Context, id string, at time.Time) error {
	item := contactKey(id)
	item["type"], item["contactId"], item["erasedAt"] = s(TypeContact), s(id), s(at.UTC().Format(time.RFC3339Nano))
	if _, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &st.table, Item: item}); err != nil {
		return fmt.Errorf("put contact tombstone: %w", err)
	}
	return nil
}

// Audit implements conversation.EraseStore.
func (st *Store) Audit(ctx context.Context, a conversation.AuditEntry) error {
	item, err := attributevalue.MarshalMap(a)
	if err != nil {
		return fmt.Errorf("encode audit entry: %w", err)
	}
	at := a.At.UTC()
	item["PK"], item["SK"] = s("AUDIT#"+at.Format(time.DateOnly)), s(at.Format(time.RFC3339Nano)+"#"+a.ID)
	item["type"] = s(TypeAudit)
	if _, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &st.table, Item: item}); err != nil {
		return fmt.Errorf("put audit entry: %w", err)
	}
	return nil
}

// erased reports whether an item read is a tombstone (erasedAt set).
func erased(item map[string]types.AttributeValue) bool {
	_, ok := item["erasedAt"]
	return ok
}
