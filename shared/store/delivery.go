package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard/switchboard/shared/delivery"
)

// Delivery records live on the same table: PK DELIV#<job id>, SK DELIV, with
// the TTL attribute set so the table forgets them after delivery.Retention.
var _ delivery.Records = (*Store)(nil)

func deliveryKey(id string) map[string]types.AttributeValue { return key("DELIV#"+id, "DELIV") }

// Claim implements delivery.Records: one conditional update.
func (st *Store) Claim(ctx context.Context, id string, now time.Time, lease time.Duration) (delivery.Claim, error) {
	upd := expression.Set(expression.Name("state"), expression.Value(delivery.Sending)).
		Set(expression.Name("leaseUntil"), expression.Value(now.Add(lease).UnixMilli())).
		Set(expression.Name("type"), expression.Value("delivery")).
		Set(expression.Name(TTLAttribute), expression.Value(now.Add(delivery.Retention).Unix())).
		Add(expression.Name("attempts"), expression.Value(1))
	cond := expression.AttributeNotExists(expression.Name("PK")).
		Or(expression.Name("state").Equal(expression.Value(delivery.Retry))).
		Or(expression.Name("state").Equal(expression.Value(delivery.Sending)).
			And(expression.Name("leaseUntil").LessThan(expression.Value(now.UnixMilli()))))
	ok, err := st.update(ctx, deliveryKey(id), upd, cond)
	if err != nil {
		return delivery.Claim{}, fmt.Errorf("claim delivery %s: %w", id, err)
	}
	if ok {
		return delivery.Claim{OK: true}, nil
	}
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &st.table, Key: deliveryKey(id), ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String("#s"), ExpressionAttributeNames: map[string]string{"#s": "state"},
	})
	if err != nil {
		return delivery.Claim{}, fmt.Errorf("read delivery %s: %w", id, err)
	}
	state, _ := out.Item["state"].(*types.AttributeValueMemberS)
	if state == nil {
		return delivery.Claim{}, errors.New("delivery " + id + " has no state")
	}
	return delivery.Claim{State: state.Value}, nil
}

// Finish implements delivery.Records.
func (st *Store) Finish(ctx context.Context, id, state, reason string, at time.Time) error {
	upd := expression.Set(expression.Name("state"), expression.Value(state)).
		Set(expression.Name("finishedAt"), expression.Value(at.UTC()))
	if reason != "" {
		upd = upd.Set(expression.Name("reason"), expression.Value(reason))
	}
	if _, err := st.update(ctx, deliveryKey(id), upd, expression.AttributeExists(expression.Name("PK"))); err != nil {
		return fmt.Errorf("finish delivery %s: %w", id, err)
	}
	return nil
}
