package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Web chat connections live on the same table, two items each, with the
// TTL attribute set past API Gateway's 2-hour connection cap (a
// $disconnect is best-effort: what it misses, a 410 or the TTL removes):
//
//	connection (chatconn)  CHATV#<visitor>  CONN#<connection id>  connectedAt: a visitor's live sockets (Query)
//	connection (chatconn)  CHATC#<id>       CHATC                 visitor: who a $disconnect's id was
//
// The stream's filter passes only message items: these notify no one.
const TypeConnection = "chatconn"

// ConnectionTTL is how long a connection item outlives its opening.
const ConnectionTTL = 2*time.Hour + 10*time.Minute

// AddConnection records a visitor's new socket (both items, one transaction).
func (st *Store) AddConnection(ctx context.Context, visitor, id string, at time.Time) error {
	exp := n(at.Add(ConnectionTTL).Unix())
	_, err := st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: &st.table, Item: map[string]types.AttributeValue{"PK": s("CHATV#" + visitor), "SK": s("CONN#" + id),
			"type": s(TypeConnection), "connectedAt": n(at.UnixMilli()), TTLAttribute: exp}}},
		{Put: &types.Put{TableName: &st.table, Item: map[string]types.AttributeValue{"PK": s("CHATC#" + id), "SK": s("CHATC"),
			"type": s(TypeConnection), "visitor": s(visitor), TTLAttribute: exp}}},
	}})
	if err != nil {
		return fmt.Errorf("add connection: %w", err)
	}
	return nil
}

// Connections lists a visitor's live socket ids (those not yet expired).
func (st *Store) Connections(ctx context.Context, visitor string) ([]string, error) {
	var ids []string
	var start map[string]types.AttributeValue
	now := time.Now().Unix()
	for {
		out, err := st.db.Query(ctx, &dynamodb.QueryInput{TableName: &st.table,
			KeyConditionExpression:    aws.String("PK = :pk AND begins_with(SK, :conn)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": s("CHATV#" + visitor), ":conn": s("CONN#")},
			ConsistentRead:            aws.Bool(true), ExclusiveStartKey: start})
		if err != nil {
			return nil, fmt.Errorf("connections: %w", err)
		}
		for _, it := range out.Items {
			if e, ok := it[TTLAttribute].(*types.AttributeValueMemberN); ok {
				if exp, err := strconv.ParseInt(e.Value, 10, 64); err == nil && exp < now {
					continue // expired, not yet removed by TTL
				}
			}
			if sk, ok := it["SK"].(*types.AttributeValueMemberS); ok {
				ids = append(ids, strings.TrimPrefix(sk.Value, "CONN#"))
			}
		}
		if start = out.LastEvaluatedKey; len(start) == 0 {
			return ids, nil
		}
	}
}

// RemoveConnection forgets one socket; visitor "" looks it up (a
// $disconnect names only the connection). An unknown id is no error.
func (st *Store) RemoveConnection(ctx context.Context, visitor, id string) error {
	if visitor == "" {
		out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.table, Key: key("CHATC#"+id, "CHATC"), ConsistentRead: aws.Bool(true)})
		if err != nil {
			return fmt.Errorf("read connection: %w", err)
		}
		v, ok := out.Item["visitor"].(*types.AttributeValueMemberS)
		if !ok {
			return nil
		}
		visitor = v.Value
	}
	_, err := st.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Delete: &types.Delete{TableName: &st.table, Key: key("CHATV#"+visitor, "CONN#"+id)}},
		{Delete: &types.Delete{TableName: &st.table, Key: key("CHATC#"+id, "CHATC")}},
	}})
	if err != nil {
		return fmt.Errorf("remove connection: %w", err)
	}
	return nil
}
