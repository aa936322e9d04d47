package store

import (
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard/switchboard/shared/conversation"
)

// ConversationItem is the summary's item, for tests that seed a table at
// scale without a transaction per conversation.
func ConversationItem(c conversation.Conversation) (map[string]types.AttributeValue, error) {
	return conversationItem(c)
}
