package core

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/rosterhq/roster/store"
)

// event is an event's ID and the body its deliveries carry.
func event(at time.Time, authID, typ string, data map[string]any) (string, []byte, error) {
	b := make([]byte, 16)
	rand.Read(b)
	id := "evt_" + hex.EncodeToString(b)
	if data == nil {
		data = map[string]any{}
	}
	body, err := json.Marshal(map[string]any{"id": id, "type": typ, "created_at": at, "account_id": authID, "data": data})
	return id, body, err
}

// Emit records an event for the account's webhooks in tx, the
// transaction of the change it announces.
func (s *Core) Emit(ctx context.Context, tx *store.Tx, accountSeq int64, authID, typ string, data map[string]any) error {
	id, body, err := event(tx.Now(), authID, typ, data)
	if err != nil {
		return err
	}
	return tx.EnqueueEvent(ctx, accountSeq, id, typ, body)
}

// SendTo records an event for one webhook of the account alone, whatever
// it subscribes to (the test event), and returns its delivery's ID.
// store.ErrNoRows when the account has no such webhook.
func (s *Core) SendTo(ctx context.Context, tx *store.Tx, accountSeq, webhookID int64, authID, typ string, data map[string]any) (int64, error) {
	id, body, err := event(tx.Now(), authID, typ, data)
	if err != nil {
		return 0, err
	}
	return tx.EnqueueDelivery(ctx, accountSeq, webhookID, id, typ, body)
}
