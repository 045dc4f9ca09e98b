package store

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/rosterhq/roster"
)

// The team list at any size (issue 21): an account's members and pending
// invitations searched, filtered, sorted and paged by keyset in both
// directions. Every page is one count of the matches, one read of at most
// a page of rows from the position the cursor names, and (past the first
// page) one count of the matches before it, so a late page costs what an
// early one does: no OFFSET walks the rows before it.

// listKey is one column of a list's order: its SQL expression and whether
// its values are text (else integers), which a cursor's values must match.
type listKey struct {
	expr string
	text bool
}

// listOrder is one sort of a list: its keys, the last of them unique in
// the account (the tiebreak that makes the order total), and whether the
// order without Desc is descending.
type listOrder struct {
	keys []listKey
	desc bool
}

// foldSQL is expr in lower case, compared byte by byte, the same on both
// databases: SQLite's own LOWER folds only ASCII, so it calls roster_lower
// (Go's strings.ToLower, registered in sqlite.go); PostgreSQL's LOWER folds
// by the database's character type (UTF-8), and COLLATE "C" orders bytes
// as SQLite's BINARY does, whatever the database's locale.
func (db *DB) foldSQL(expr string) string {
	if db.d.name() == "sqlite" {
		return "roster_lower(" + expr + ")"
	}
	return "LOWER(" + expr + `) COLLATE "C"`
}

// bytesSQL is a text column compared byte by byte (see foldSQL).
func (db *DB) bytesSQL(expr string) string {
	if db.d.name() == "sqlite" {
		return expr
	}
	return expr + ` COLLATE "C"`
}

// memberOrder is the member list's sort named by s ("" is today's order:
// the owner first, then by join time).
func (db *DB) memberOrder(s string) (listOrder, bool) {
	id := listKey{expr: "m.user_id"}
	name := listKey{expr: db.foldSQL("u.name"), text: true}
	switch s {
	case "":
		return listOrder{keys: []listKey{{expr: ownerFirst}, {expr: "m.joined_at"}, id}}, true
	case "joined":
		return listOrder{keys: []listKey{{expr: "m.joined_at"}, id}}, true
	case "name":
		return listOrder{keys: []listKey{name, id}}, true
	case "role":
		return listOrder{keys: []listKey{{expr: "m.role"}, name, id}}, true
	}
	return listOrder{}, false
}

// invitationOrder is the invitation list's sort named by s ("" is today's
// order: the newest first).
func (db *DB) invitationOrder(s string) (listOrder, bool) {
	id := listKey{expr: "i.id"}
	email := listKey{expr: db.bytesSQL("i.email"), text: true}
	switch s {
	case "":
		return listOrder{keys: []listKey{id}, desc: true}, true
	case "email":
		return listOrder{keys: []listKey{email, id}}, true
	case "role":
		return listOrder{keys: []listKey{{expr: "i.role"}, email, id}}, true
	case "sent":
		return listOrder{keys: []listKey{{expr: "i.last_sent_at"}, id}}, true
	case "expires":
		return listOrder{keys: []listKey{{expr: "i.expires_at"}, id}}, true
	}
	return listOrder{}, false
}

// listCursor is what a list's cursor holds: the list and the sort it was
// made for, and the sort keys' values of the row it points at.
type listCursor struct {
	List string `json:"l"` // "members" or "invitations"
	Sort string `json:"s"`
	Desc bool   `json:"d,omitempty"`
	Keys []any  `json:"k"`
}

func encodeCursor(c listCursor) string {
	b, _ := json.Marshal(c) // strings and int64s only
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor reads a cursor made for this list, sort and direction, with
// values of the order's kinds; anything else is ErrBadCursor.
func decodeCursor(s, list, sort string, desc bool, o listOrder) ([]any, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, ErrBadCursor
	}
	var c listCursor
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil || dec.More() {
		// A cursor of the member list as it was before issue 21 (its
		// default order only): a client that kept one still pages on.
		if list == "members" && sort == "" && !desc {
			if rank, joined, uid, err := parseMemberCursor(s); err == nil {
				return []any{rank, joined, uid}, nil
			}
		}
		return nil, ErrBadCursor
	}
	if c.List != list || c.Sort != sort || c.Desc != desc || len(c.Keys) != len(o.keys) {
		return nil, ErrBadCursor
	}
	vals := make([]any, len(o.keys))
	for i, k := range o.keys {
		switch v := c.Keys[i].(type) {
		case string:
			if !k.text {
				return nil, ErrBadCursor
			}
			vals[i] = v
		case json.Number:
			n, err := strconv.ParseInt(string(v), 10, 64)
			if err != nil || k.text {
				return nil, ErrBadCursor
			}
			vals[i] = n
		default:
			return nil, ErrBadCursor
		}
	}
	return vals, nil
}

// listQuery is one page's question to runList.
type listQuery struct {
	list          string // "members" or "invitations", bound into its cursors
	sort          string
	desc          bool
	order         listOrder
	cols, from    string // the row's columns (scanned first) and the FROM clause
	countFrom     string // the FROM clause of the count of matches, when lighter than from
	where         string // the matches' conditions, the account named first
	args          []any
	limit         int
	after, before string
}

// listPage is what runList answers.
type listPage[T any] struct {
	rows       []T
	total      int
	start      int
	next, prev string
}

// runList reads one page of q: the matches' count, the rows after (or
// before) the cursor in q's order, and the page's position. scan reads a
// row's columns from sc, whose Scan then fills the sort keys.
func runList[T any](ctx context.Context, db *DB, q listQuery, scan func(sc interface{ Scan(...any) error }) (T, error)) (listPage[T], error) {
	var out listPage[T]
	if q.limit < 1 {
		return out, fmt.Errorf("store: a list page of %d rows", q.limit)
	}
	if q.after != "" && q.before != "" {
		return out, ErrBadCursor
	}
	desc := q.order.desc != q.desc // the order asked for, after Desc
	var keyExprs []string
	for _, k := range q.order.keys {
		keyExprs = append(keyExprs, k.expr)
	}
	tuple := "(" + strings.Join(keyExprs, ", ") + ")"
	marks := "(" + strings.Repeat("?, ", len(keyExprs)-1) + "?)"
	// beyond is the condition "the key tuple lies after (or, before, before)
	// vals in the order asked for".
	beyond := func(before bool) string {
		if before != desc {
			return " AND " + tuple + " < " + marks
		}
		return " AND " + tuple + " > " + marks
	}
	countFrom := cmp.Or(q.countFrom, q.from)
	if err := db.oneRow(ctx, `SELECT COUNT(*) FROM `+countFrom+` WHERE `+q.where, q.args...).Scan(&out.total); err != nil {
		return out, db.d.mapErr(err)
	}

	where, args := q.where, slices.Clone(q.args)
	backwards := q.before != "" // read the page before the cursor: in reverse, then turn it round
	if c := q.after + q.before; c != "" {
		vals, err := decodeCursor(c, q.list, q.sort, q.desc, q.order)
		if err != nil {
			return out, err
		}
		where += beyond(backwards)
		args = append(args, vals...)
	}
	dir := " ASC"
	if desc != backwards {
		dir = " DESC"
	}
	order := strings.Join(keyExprs, dir+", ") + dir
	rows, err := db.query(ctx, `SELECT `+q.cols+`, `+strings.Join(keyExprs, ", ")+` FROM `+q.from+
		` WHERE `+where+` ORDER BY `+order+` LIMIT ?`, append(args, q.limit)...)
	var keys [][]any
	out.rows, err = collect(rows, err, func(rows *sql.Rows) (T, error) {
		k := make([]any, len(keyExprs))
		ptrs := make([]any, len(k))
		for i := range k {
			ptrs[i] = &k[i]
		}
		v, err := scan(withExtra{rows, ptrs})
		if err != nil {
			return v, err
		}
		for i, x := range k {
			switch x := x.(type) {
			case []byte:
				k[i] = string(x)
			case int32:
				k[i] = int64(x)
			}
		}
		keys = append(keys, k)
		return v, nil
	})
	if err != nil {
		return out, db.d.mapErr(err)
	}
	if backwards {
		slices.Reverse(out.rows)
		slices.Reverse(keys)
	}
	if len(out.rows) == 0 {
		return out, nil
	}
	// The matches before the page's first row give its position; the first
	// page (no cursor) has none.
	before := 0
	if q.after != "" || q.before != "" {
		from := countFrom
		if strings.Contains(tuple, "u.") {
			from = q.from // the order reads the users table
		}
		err := db.oneRow(ctx, `SELECT COUNT(*) FROM `+from+` WHERE `+q.where+beyond(true),
			append(slices.Clone(q.args), keys[0]...)...).Scan(&before)
		if err != nil {
			return out, db.d.mapErr(err)
		}
	}
	out.start = before + 1
	cursor := func(k []any) string {
		return encodeCursor(listCursor{List: q.list, Sort: q.sort, Desc: q.desc, Keys: k})
	}
	if before > 0 {
		out.prev = cursor(keys[0])
	}
	if before+len(out.rows) < out.total {
		out.next = cursor(keys[len(keys)-1])
	}
	return out, nil
}

// likeContains is the LIKE pattern (with ESCAPE '\') that finds s, in
// lower case, anywhere in a text.
func likeContains(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(strings.ToLower(s)) + "%"
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// errUnknownSort: a sort the service should have refused.
var errUnknownSort = errors.New("store: unknown sort")

// MemberList answers one page of the account's members that match q (see
// roster.MemberQuery): q.Limit rows (1 or more) after q.After or before
// q.Before, with the matches' count, the account's, the page's position
// and the cursors of the pages either side. A cursor made for another list
// or sort, or not made by a list at all, is ErrBadCursor. Status is
// deactivated for a member the directory deactivated, else follows a's
// plan, as each member's does (roster.StatusOf).
func (db *DB) MemberList(ctx context.Context, a roster.Account, q roster.MemberQuery) (roster.MemberList, error) {
	db = db.reader(ctx) // a standby's when there is a read pool (replicas.go)
	o, ok := db.memberOrder(q.Sort)
	if !ok {
		return roster.MemberList{}, errUnknownSort
	}
	where, args := `m.account_id = ?`, []any{a.Seq}
	filtered := false
	countFrom := `members m` // the count needs users only to search or filter by two-factor
	if q.Search != "" {
		// SQLite's LIKE ignores the case of ASCII letters by itself: a
		// search of ASCII letters needs no Go call per row (roster_lower),
		// which costs more than the rest of the search.
		name := db.foldSQL("u.name")
		if db.d.name() == "sqlite" && isASCII(q.Search) {
			name = "u.name"
		}
		where += ` AND (LOWER(u.email) LIKE ? ESCAPE '\' OR ` + name + ` LIKE ? ESCAPE '\')`
		p := likeContains(q.Search)
		args = append(args, p, p)
		filtered = true
		countFrom = ""
	}
	if q.Role != roster.RoleNone {
		where += ` AND m.role = ?`
		args = append(args, int(q.Role))
		filtered = true
	}
	switch q.Status {
	case "":
	case roster.MemberDeactivated:
		where += ` AND m.deactivated_at IS NOT NULL`
		filtered = true
	default:
		// A member's status, unless the directory deactivated them, is
		// their role's under the account's plan (roster.StatusOf): the
		// owner's, or every other role's.
		where += ` AND m.deactivated_at IS NULL`
		owner := roster.StatusOf(roster.RoleOwner, a.Plan) == q.Status
		others := roster.StatusOf(roster.RoleSupport, a.Plan) == q.Status
		switch {
		case owner && others:
		case owner:
			where += ` AND m.` + isOwner
		case others:
			where += ` AND m.` + notOwner
		default:
			where += ` AND 1 = 0`
		}
		filtered = true
	}
	switch q.MFA {
	case "":
	case "on":
		where += ` AND ` + hasSecondFactor
		filtered, countFrom = true, ""
	case "off":
		where += ` AND NOT ` + hasSecondFactor
		filtered, countFrom = true, ""
	default:
		return roster.MemberList{}, fmt.Errorf("store: two-factor filter %q", q.MFA)
	}
	p, err := runList(ctx, db, listQuery{
		list: "members", sort: q.Sort, desc: q.Desc, order: o,
		cols: memberCols,
		from: `members m JOIN users u ON u.id = m.user_id`, countFrom: countFrom,
		where: where, args: args, limit: q.Limit, after: q.After, before: q.Before,
	}, func(sc interface{ Scan(...any) error }) (roster.Member, error) {
		return scanMember(sc, a)
	})
	if err != nil {
		return roster.MemberList{}, err
	}
	out := roster.MemberList{Members: p.rows, Total: p.total, All: p.total, Start: p.start, Next: p.next, Prev: p.prev}
	if filtered {
		if err := db.oneRow(ctx, `SELECT COUNT(*) FROM members WHERE account_id = ?`, a.Seq).Scan(&out.All); err != nil {
			return roster.MemberList{}, db.d.mapErr(err)
		}
	}
	return out, nil
}

// InvitationList answers one page of the account's pending invitations
// (expired and suspended ones included, with that status, as Invitations
// lists them) that match q, as MemberList does members. The status is
// the one each invitation shows: pending (unexpired, on the committed
// plan), expired, or suspended (unexpired, the account off that plan).
func (db *DB) InvitationList(ctx context.Context, a roster.Account, q roster.InvitationQuery) (roster.InvitationList, error) {
	db = db.reader(ctx) // a standby's when there is a read pool (replicas.go)
	o, ok := db.invitationOrder(q.Sort)
	if !ok {
		return roster.InvitationList{}, errUnknownSort
	}
	now := db.Now()
	const committed = `a.plan = '` + string(roster.PlanCommitted) + `'`
	where, args := `i.account_id = ? AND i.status = 'pending'`, []any{a.Seq}
	filtered := false
	if q.Search != "" {
		where += ` AND LOWER(i.email) LIKE ? ESCAPE '\'`
		args = append(args, likeContains(q.Search))
		filtered = true
	}
	if q.Role != roster.RoleNone {
		where += ` AND i.role = ?`
		args = append(args, int(q.Role))
		filtered = true
	}
	switch q.Status {
	case "":
	case roster.InvitationPending:
		where += ` AND i.expires_at > ? AND ` + committed
		args = append(args, micros(now))
	case roster.InvitationExpired:
		where += ` AND i.expires_at <= ?`
		args = append(args, micros(now))
	case roster.InvitationSuspended:
		where += ` AND i.expires_at > ? AND NOT ` + committed
		args = append(args, micros(now))
	default:
		return roster.InvitationList{}, fmt.Errorf("store: invitation status %q", q.Status)
	}
	filtered = filtered || q.Status != ""
	p, err := runList(ctx, db, listQuery{
		list: "invitations", sort: q.Sort, desc: q.Desc, order: o,
		cols:  invitationCols,
		from:  `invitations i JOIN accounts a ON a.id = i.account_id`,
		where: where, args: args, limit: q.Limit, after: q.After, before: q.Before,
	}, func(sc interface{ Scan(...any) error }) (roster.Invitation, error) { return scanInvitation(sc, now) })
	if err != nil {
		return roster.InvitationList{}, err
	}
	out := roster.InvitationList{Invitations: p.rows, Total: p.total, All: p.total, Start: p.start, Next: p.next, Prev: p.prev}
	if filtered {
		err := db.oneRow(ctx, `SELECT COUNT(*) FROM invitations WHERE account_id = ? AND status = 'pending'`, a.Seq).Scan(&out.All)
		if err != nil {
			return roster.InvitationList{}, db.d.mapErr(err)
		}
	}
	return out, nil
}
