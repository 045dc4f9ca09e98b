package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/rosterhq/roster"
)

// SCIM 2.0 provisioning (issue 23): the members as the company's
// directory sees them (scim_users), and its groups (scim_groups,
// scim_group_members). Every query names the account.

// SCIMUser is a member of the account as SCIM shows it: every member is
// one (the directory can find and link a member it did not create);
// Provisioned when the directory created or claimed it (a scim_users row).
type SCIMUser struct {
	UserID      int64
	Email       string
	Name        string
	Role        roster.Role
	Active      bool // members.deactivated_at is NULL
	ExternalID  string
	NamedRole   roster.Role // 0: none; the role comes from the groups or the default
	Provisioned bool
	JoinedAt    time.Time
	Groups      []SCIMGroupRef
}

// SCIMGroupRef names a group a member is in.
type SCIMGroupRef struct {
	ID          int64
	DisplayName string
}

// SCIMGroup is one of the directory's groups with its members.
type SCIMGroup struct {
	ID          int64
	DisplayName string
	ExternalID  string
	CreatedAt   time.Time
	Members     []SCIMGroupMember
}

// SCIMGroupMember is a member of a group: the user's ID and address.
type SCIMGroupMember struct {
	UserID int64
	Email  string
}

// SCIMFilter is a filter on SCIM users the store can answer: Op "eq"
// compares Attr ("email" or "external_id") with Value; "and" and "or"
// join Left and Right.
type SCIMFilter struct {
	Op          string
	Attr, Value string
	Left, Right *SCIMFilter
}

// sql returns the filter as a condition with ? placeholders.
func (f *SCIMFilter) sql() (string, []any, error) {
	switch f.Op {
	case "eq":
		switch f.Attr {
		case "email":
			return `u.email = ?`, []any{f.Value}, nil
		case "external_id":
			return `COALESCE(su.external_id, '') = ?`, []any{f.Value}, nil
		}
	case "and", "or":
		if f.Left == nil || f.Right == nil {
			break
		}
		l, la, err := f.Left.sql()
		if err != nil {
			return "", nil, err
		}
		r, ra, err := f.Right.sql()
		if err != nil {
			return "", nil, err
		}
		return "(" + l + " " + strings.ToUpper(f.Op) + " " + r + ")", append(la, ra...), nil
	}
	return "", nil, fmt.Errorf("store: SCIM filter %q on %q cannot be answered", f.Op, f.Attr)
}

const scimUserCols = `u.id, u.email, u.name, m.role, m.deactivated_at, COALESCE(su.external_id, ''), COALESCE(su.named_role, 0), su.user_id, m.joined_at`

const scimUserFrom = ` FROM members m JOIN users u ON u.id = m.user_id
	LEFT JOIN scim_users su ON su.account_id = m.account_id AND su.user_id = m.user_id
	WHERE m.account_id = ?`

func scanSCIMUser(sc interface{ Scan(...any) error }, u *SCIMUser) error {
	var role, named int
	var deactivated, provisioned sql.NullInt64
	var joined int64
	if err := sc.Scan(&u.UserID, &u.Email, &u.Name, &role, &deactivated, &u.ExternalID, &named, &provisioned, &joined); err != nil {
		return err
	}
	u.Role, u.NamedRole = roster.Role(role), roster.Role(named)
	u.Active, u.Provisioned, u.JoinedAt = !deactivated.Valid, provisioned.Valid, fromMicros(joined)
	return nil
}

// SCIMUsers lists the account's members matching the filter (nil: all),
// oldest member first, offset and limit applied, with how many match.
func (db *DB) SCIMUsers(ctx context.Context, accountSeq int64, f *SCIMFilter, offset, limit int) ([]SCIMUser, int, error) {
	where, args := "", []any{accountSeq}
	if f != nil {
		cond, fa, err := f.sql()
		if err != nil {
			return nil, 0, err
		}
		where, args = " AND "+cond, append(args, fa...)
	}
	var total int
	if err := db.oneRow(ctx, `SELECT COUNT(*)`+scimUserFrom+where, args...).Scan(&total); err != nil {
		return nil, 0, db.d.mapErr(err)
	}
	rows, err := db.query(ctx, `SELECT `+scimUserCols+scimUserFrom+where+` ORDER BY m.joined_at, u.id LIMIT ? OFFSET ?`, append(args, limit, offset)...)
	out, err := collect(rows, err, func(rows *sql.Rows) (SCIMUser, error) {
		var u SCIMUser
		return u, scanSCIMUser(rows, &u)
	})
	if err != nil {
		return nil, 0, db.d.mapErr(err)
	}
	if err := db.fillGroups(ctx, accountSeq, out); err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// SCIMUser returns one member of the account as SCIM shows it, or
// ErrNoRows (another account's member too).
func (tx *Tx) SCIMUser(ctx context.Context, accountSeq, userID int64) (SCIMUser, error) {
	var u SCIMUser
	err := scanSCIMUser(tx.row(ctx, `SELECT `+scimUserCols+scimUserFrom+` AND m.user_id = ?`, accountSeq, userID), &u)
	if err != nil {
		return u, tx.db.mapNoRows(err)
	}
	rows, err := tx.query(ctx, `SELECT g.id, g.display_name FROM scim_group_members gm JOIN scim_groups g ON g.id = gm.group_id
		WHERE gm.account_id = ? AND g.account_id = ? AND gm.user_id = ? ORDER BY g.display_name`, accountSeq, accountSeq, userID)
	u.Groups, err = collect(rows, err, func(rows *sql.Rows) (SCIMGroupRef, error) {
		var g SCIMGroupRef
		return g, rows.Scan(&g.ID, &g.DisplayName)
	})
	return u, tx.db.d.mapErr(err)
}

// fillGroups sets the groups of each user of a page.
func (db *DB) fillGroups(ctx context.Context, accountSeq int64, us []SCIMUser) error {
	if len(us) == 0 {
		return nil
	}
	at := map[int64]int{}
	args := []any{accountSeq, accountSeq}
	for i, u := range us {
		at[u.UserID] = i
		args = append(args, u.UserID)
	}
	rows, err := db.query(ctx, `SELECT gm.user_id, g.id, g.display_name FROM scim_group_members gm JOIN scim_groups g ON g.id = gm.group_id
		WHERE gm.account_id = ? AND g.account_id = ? AND gm.user_id IN (?`+strings.Repeat(", ?", len(us)-1)+`) ORDER BY g.display_name`, args...)
	return db.d.mapErr(eachRow(rows, err, func(rows *sql.Rows) error {
		var uid int64
		var g SCIMGroupRef
		if err := rows.Scan(&uid, &g.ID, &g.DisplayName); err != nil {
			return err
		}
		us[at[uid]].Groups = append(us[at[uid]].Groups, g)
		return nil
	}))
}

// SetSCIMUser records that the directory manages the member: its
// externalId ("" for none) and the role it named (0 for none). ErrUnique
// when another member of the account has the externalId.
func (tx *Tx) SetSCIMUser(ctx context.Context, accountSeq, userID int64, externalID string, namedRole roster.Role) error {
	_, err := tx.exec(ctx, `INSERT INTO scim_users (account_id, user_id, external_id, named_role, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (account_id, user_id) DO UPDATE SET external_id = excluded.external_id, named_role = excluded.named_role`,
		accountSeq, userID, externalID, int(namedRole), micros(tx.now))
	return err
}

// SCIMGroupNamesOf returns the display names of the account's groups the
// member is in.
func (tx *Tx) SCIMGroupNamesOf(ctx context.Context, accountSeq, userID int64) ([]string, error) {
	rows, err := tx.query(ctx, `SELECT g.display_name FROM scim_group_members gm JOIN scim_groups g ON g.id = gm.group_id
		WHERE gm.account_id = ? AND g.account_id = ? AND gm.user_id = ?`, accountSeq, accountSeq, userID)
	out, err := collect(rows, err, func(rows *sql.Rows) (string, error) {
		var s string
		return s, rows.Scan(&s)
	})
	return out, tx.db.d.mapErr(err)
}

// CreateSCIMGroup adds a group to the account and returns its ID.
// ErrUnique when the account has a group of that display name.
func (tx *Tx) CreateSCIMGroup(ctx context.Context, accountSeq int64, displayName, externalID string) (int64, error) {
	var id int64
	err := tx.queryRow(ctx, `INSERT INTO scim_groups (account_id, display_name, external_id, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
		[]any{accountSeq, displayName, externalID, micros(tx.now)}, &id)
	return id, err
}

// UpdateSCIMGroup renames one of the account's groups and sets its
// externalId. ErrNoRows, ErrUnique.
func (tx *Tx) UpdateSCIMGroup(ctx context.Context, accountSeq, id int64, displayName, externalID string) error {
	r, err := tx.exec(ctx, `UPDATE scim_groups SET display_name = ?, external_id = ? WHERE id = ? AND account_id = ?`, displayName, externalID, id, accountSeq)
	return affected(r, err)
}

// DeleteSCIMGroup removes one of the account's groups. ErrNoRows.
func (tx *Tx) DeleteSCIMGroup(ctx context.Context, accountSeq, id int64) error {
	r, err := tx.exec(ctx, `DELETE FROM scim_groups WHERE id = ? AND account_id = ?`, id, accountSeq)
	return affected(r, err)
}

const scimGroupCols = `id, display_name, external_id, created_at`

func scanSCIMGroup(sc interface{ Scan(...any) error }, g *SCIMGroup) error {
	var created int64
	if err := sc.Scan(&g.ID, &g.DisplayName, &g.ExternalID, &created); err != nil {
		return err
	}
	g.CreatedAt = fromMicros(created)
	return nil
}

// SCIMGroup returns one of the account's groups with its members, or
// ErrNoRows (another account's group too).
func (tx *Tx) SCIMGroup(ctx context.Context, accountSeq, id int64) (SCIMGroup, error) {
	var g SCIMGroup
	if err := scanSCIMGroup(tx.row(ctx, `SELECT `+scimGroupCols+` FROM scim_groups WHERE id = ? AND account_id = ?`, id, accountSeq), &g); err != nil {
		return g, tx.db.mapNoRows(err)
	}
	rows, err := tx.query(ctx, `SELECT u.id, u.email FROM scim_group_members gm JOIN users u ON u.id = gm.user_id
		WHERE gm.group_id = ? AND gm.account_id = ? ORDER BY u.id`, id, accountSeq)
	g.Members, err = collect(rows, err, func(rows *sql.Rows) (SCIMGroupMember, error) {
		var m SCIMGroupMember
		return m, rows.Scan(&m.UserID, &m.Email)
	})
	return g, tx.db.d.mapErr(err)
}

// SCIMGroups lists the account's groups (of that display name when it is
// not ""), oldest first, offset and limit applied, with their members and
// how many match.
func (db *DB) SCIMGroups(ctx context.Context, accountSeq int64, displayName string, offset, limit int) ([]SCIMGroup, int, error) {
	where, args := ` WHERE account_id = ?`, []any{accountSeq}
	if displayName != "" {
		where, args = where+` AND display_name = ?`, append(args, displayName)
	}
	var total int
	if err := db.oneRow(ctx, `SELECT COUNT(*) FROM scim_groups`+where, args...).Scan(&total); err != nil {
		return nil, 0, db.d.mapErr(err)
	}
	rows, err := db.query(ctx, `SELECT `+scimGroupCols+` FROM scim_groups`+where+` ORDER BY id LIMIT ? OFFSET ?`, append(args, limit, offset)...)
	out, err := collect(rows, err, func(rows *sql.Rows) (SCIMGroup, error) {
		var g SCIMGroup
		return g, scanSCIMGroup(rows, &g)
	})
	if err != nil || len(out) == 0 {
		return out, total, db.d.mapErr(err)
	}
	at := map[int64]int{}
	margs := []any{accountSeq}
	for i, g := range out {
		at[g.ID] = i
		margs = append(margs, g.ID)
	}
	rows, err = db.query(ctx, `SELECT gm.group_id, u.id, u.email FROM scim_group_members gm JOIN users u ON u.id = gm.user_id
		WHERE gm.account_id = ? AND gm.group_id IN (?`+strings.Repeat(", ?", len(out)-1)+`) ORDER BY u.id`, margs...)
	err = eachRow(rows, err, func(rows *sql.Rows) error {
		var gid int64
		var m SCIMGroupMember
		if err := rows.Scan(&gid, &m.UserID, &m.Email); err != nil {
			return err
		}
		out[at[gid]].Members = append(out[at[gid]].Members, m)
		return nil
	})
	return out, total, db.d.mapErr(err)
}

// AddSCIMGroupMember puts a member of the account in one of its groups
// (nothing when they are in it). ErrNoRows when the group is not the
// account's or the user is not its member.
func (tx *Tx) AddSCIMGroupMember(ctx context.Context, accountSeq, groupID, userID int64) error {
	r, err := tx.exec(ctx, `INSERT INTO scim_group_members (group_id, account_id, user_id)
		SELECT g.id, m.account_id, m.user_id FROM scim_groups g JOIN members m ON m.account_id = g.account_id
		WHERE g.id = ? AND g.account_id = ? AND m.user_id = ?
		ON CONFLICT (group_id, user_id) DO NOTHING`, groupID, accountSeq, userID)
	if err != nil {
		return err
	}
	if n, err := r.RowsAffected(); err != nil || n > 0 {
		return err
	}
	// Nothing inserted: already in the group, or no such group or member.
	var one int
	return tx.queryRow(ctx, `SELECT 1 FROM scim_groups g JOIN members m ON m.account_id = g.account_id
		WHERE g.id = ? AND g.account_id = ? AND m.user_id = ?`, []any{groupID, accountSeq, userID}, &one)
}

// RemoveSCIMGroupMembers takes members out of one of the account's
// groups: those named, or all when userIDs is nil.
func (tx *Tx) RemoveSCIMGroupMembers(ctx context.Context, accountSeq, groupID int64, userIDs []int64) error {
	if userIDs == nil {
		_, err := tx.exec(ctx, `DELETE FROM scim_group_members WHERE group_id = ? AND account_id = ?`, groupID, accountSeq)
		return err
	}
	for _, uid := range userIDs {
		if _, err := tx.exec(ctx, `DELETE FROM scim_group_members WHERE group_id = ? AND account_id = ? AND user_id = ?`, groupID, accountSeq, uid); err != nil {
			return err
		}
	}
	return nil
}
