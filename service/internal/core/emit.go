package core

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"

	"github.com/rosterhq/roster/store"
)

// transaction of the change it announces.
func (s *Core) Emit(ctx context.Context, tx *store.Tx, accountSeq int64, authID, typ string, data map[string]any) error {
	b := make([]byte, 16)
	rand.Read(b)
	id := "evt_" + hex.EncodeToString(b)
	if data == nil {
		data = map[string]any{}
	}
	body, err := json.Marshal(map[string]any{"id": id, "type": typ, "created_at": tx.Now(), "account_id": authID, "data": data})
	if err != nil {
		return err
	}
	return tx.EnqueueEvent(ctx, accountSeq, id, typ, body)
}
