package store

import (
	"context"
	"errors"
)

// A member the company's directory deactivated (SCIM active: false, issue
// 23) keeps their row and role; members.deactivated_at says since when
// they hold nothing in the account. The owner is never deactivated: the
// writes below never match the owner's row, as SetMemberRole's do not.

// MemberDeactivated reports whether the directory deactivated the member,
// or ErrNoRows when the user is not a member of the account.
func (tx *Tx) MemberDeactivated(ctx context.Context, accountSeq, userID int64) (bool, error) {
	var deactivated bool
	err := tx.queryRow(ctx, `SELECT deactivated_at IS NOT NULL FROM members WHERE account_id = ? AND user_id = ?`,
		[]any{accountSeq, userID}, &deactivated)
	return deactivated, err
}

// SetMemberDeactivated deactivates a non-owner member (deactivated true:
// deactivated_at is set to the transaction's time) or reactivates them
// (false: cleared), and records a change of the member so every
// replica's check index reloads them. changed is false, and nothing is
// written or recorded, when the member already was in that state.
// ErrNoRows when there is no such member, or the member is the owner.
func (tx *Tx) SetMemberDeactivated(ctx context.Context, accountSeq, userID int64, deactivated bool) (changed bool, err error) {
	q := `UPDATE members SET deactivated_at = NULL
		WHERE account_id = ? AND user_id = ? AND ` + notOwner + ` AND deactivated_at IS NOT NULL`
	args := []any{accountSeq, userID}
	if deactivated {
		q = `UPDATE members SET deactivated_at = ?
			WHERE account_id = ? AND user_id = ? AND ` + notOwner + ` AND deactivated_at IS NULL`
		args = append([]any{micros(tx.now)}, args...)
	}
	r, err := tx.exec(ctx, q, args...)
	if err != nil {
		return false, err
	}
	if err := oneRow(r); errors.Is(err, ErrNoRows) {
		// Nothing matched: the member is in that state already, or is
		// the owner, or is no member at all.
		var role int
		err := tx.queryRow(ctx, `SELECT role FROM members WHERE account_id = ? AND user_id = ? AND `+notOwner,
			[]any{accountSeq, userID}, &role)
		return false, err
	} else if err != nil {
		return false, err
	}
	_, err = tx.Changed(ctx, accountSeq, userID)
	return err == nil, err
}
