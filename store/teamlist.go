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
	// splitFirst: the first key is an expression of few values (the
	// owner first): a page after a cursor is read as the rows of the
	// cursor's value of it after the cursor, then those of the values
	// beyond, each from the index's range; SQLite reads a row value
	// compared with an expression by walking the range from its start.
	splitFirst bool
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
	// The name folded as foldSQL does, copied onto the membership
	// (refreshMemberKeys) so that the sort reads an index of members.
	name := listKey{expr: "m.name_key", text: true}
	switch s {
	case "":
		return listOrder{keys: []listKey{{expr: ownerFirst}, {expr: "m.joined_at"}, id}, splitFirst: true}, true
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
	// Pos is the 1-based position among the matches of the row the cursor
	// points at, when the list made it: the next page's Start without a
	// count of the rows before it (issue 26). 0 in older cursors.
	Pos int `json:"p,omitempty"`
}

func encodeCursor(c listCursor) string {
	b, _ := json.Marshal(c) // strings and int64s only
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor reads a cursor made for this list, sort and direction, with
// values of the order's kinds, and the position it carries (0 if none);
// anything else is ErrBadCursor.
func decodeCursor(s, list, sort string, desc bool, o listOrder) ([]any, int, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, 0, ErrBadCursor
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
				return []any{rank, joined, uid}, 0, nil
			}
		}
		return nil, 0, ErrBadCursor
	}
	if c.List != list || c.Sort != sort || c.Desc != desc || len(c.Keys) != len(o.keys) || c.Pos < 0 {
		return nil, 0, ErrBadCursor
	}
	vals := make([]any, len(o.keys))
	for i, k := range o.keys {
		switch v := c.Keys[i].(type) {
		case string:
			if !k.text {
				return nil, 0, ErrBadCursor
			}
			vals[i] = v
		case json.Number:
			n, err := strconv.ParseInt(string(v), 10, 64)
			if err != nil || k.text {
				return nil, 0, ErrBadCursor
			}
			vals[i] = n
		default:
			return nil, 0, ErrBadCursor
		}
	}
	return vals, c.Pos, nil
}

// listQuery is one page's question to runList.
type listQuery struct {
	list          string // "members" or "invitations", bound into its cursors
	sort          string
	desc          bool
	order         listOrder
	cols, from    string              // the row's columns (scanned first) and the FROM clause
	countFrom     string              // the FROM clause of the count of matches, when lighter than from
	count         func() (int, error) // the matches' count, when cheaper than counting them; nil counts
	where         string              // the matches' conditions, the account named first
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

	// parts are the conditions of the page's rows, read in turn until the
	// page is full: one, or two for an order that splits its first key.
	type part struct {
		where string
		args  []any
		from  int // the first key of the order to name in ORDER BY: 1 when the part fixes the first
	}
	parts := []part{{q.where, slices.Clone(q.args), 0}}
	backwards := q.before != ""         // read the page before the cursor: in reverse, then turn it round
	last := q.before == roster.LastPage // the page before the end: no cursor
	pos := 0                            // the position the cursor carries, 0 if none
	if c := q.after + q.before; c != "" && !last {
		vals, p, err := decodeCursor(c, q.list, q.sort, q.desc, q.order)
		if err != nil {
			return out, err
		}
		pos = p
		if q.order.splitFirst {
			op := " > "
			if backwards != desc {
				op = " < "
			}
			rest := "(" + strings.Join(keyExprs[1:], ", ") + ")"
			restMarks := "(" + strings.Repeat("?, ", len(keyExprs)-2) + "?)"
			parts = []part{
				{q.where + " AND " + keyExprs[0] + " = ? AND " + rest + op + restMarks, append(slices.Clone(q.args), vals...), 1},
				{q.where + " AND " + keyExprs[0] + op + "?", append(slices.Clone(q.args), vals[0]), 0},
			}
		} else {
			parts[0].where += beyond(backwards)
			parts[0].args = append(parts[0].args, vals...)
		}
	}
	dir := " ASC"
	if desc != backwards {
		dir = " DESC"
	}
	var keys [][]any
	for _, pt := range parts {
		if len(out.rows) == q.limit {
			break
		}
		rows, err := db.query(ctx, `SELECT `+q.cols+`, `+strings.Join(keyExprs, ", ")+` FROM `+q.from+
			` WHERE `+pt.where+` ORDER BY `+strings.Join(keyExprs[pt.from:], dir+", ")+dir+` LIMIT ?`, append(pt.args, q.limit-len(out.rows))...)
		got, err := collect(rows, err, func(rows *sql.Rows) (T, error) {
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
		out.rows = append(out.rows, got...)
	}
	if backwards {
		slices.Reverse(out.rows)
		slices.Reverse(keys)
	}
	// The matches' count: the caller's when it gave one; else a first page
	// that is not full holds every match, so a search that finds a few
	// costs one read, not two (a trigram search of 100,000 members read its
	// index twice: p99 11.6 ms on PostgreSQL, issue 26); else the
	// database's.
	switch {
	case q.count != nil:
		n, err := q.count()
		if err != nil {
			return out, err
		}
		out.total = n
	case q.after == "" && q.before == "" && len(out.rows) < q.limit:
		out.total = len(out.rows)
	default:
		if err := db.oneRow(ctx, `SELECT COUNT(*) FROM `+countFrom+` WHERE `+q.where, q.args...).Scan(&out.total); err != nil {
			return out, db.d.mapErr(err)
		}
	}
	if len(out.rows) == 0 {
		return out, nil
	}
	// The matches before the page's first row give its position; the first
	// page (no cursor) has none. A cursor this list made carries its row's
	// position, so the page after it starts one further and the page before
	// it (a short one is the first page) as many rows earlier, without
	// counting the rows before it, a pass over up to every match: a position
	// as of the page the cursor came from, which changes made since before
	// it shift until the list is read from its first page again (issue 26).
	before, known := 0, false
	switch {
	case q.after == "" && q.before == "":
		known = true
	case last:
		before, known = max(0, out.total-len(out.rows)), true
	case pos > 0 && !backwards:
		before, known = pos, true
	case pos > 0 && len(out.rows) < q.limit:
		known = true // a short page before a cursor is the first
	case pos > 0 && pos-1-len(out.rows) >= 0:
		before, known = pos-1-len(out.rows), true
	}
	if !known {
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
	cursor := func(k []any, pos int) string {
		return encodeCursor(listCursor{List: q.list, Sort: q.sort, Desc: q.desc, Keys: k, Pos: pos})
	}
	if before > 0 {
		out.prev = cursor(keys[0], before+1)
	}
	if before+len(out.rows) < out.total {
		out.next = cursor(keys[len(keys)-1], before+len(out.rows))
	}
	return out, nil
}

// likeContains is the LIKE pattern (with ESCAPE '\') that finds s, in
// lower case, anywhere in a text.
func likeContains(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(strings.ToLower(s)) + "%"
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
	return db.memberList(ctx, a, q, nil)
}

// MemberListCounted is MemberList for a caller that knows the account's
// members by role (byRole[role]; the check index does, service/team):
// the matches' count of a page without a search or a filter other than
// the role's, and the account's, are taken from byRole instead of a count
// in the database, a pass over the account's members on every page
// (issue 26: 100,000 take milliseconds to count).
func (db *DB) MemberListCounted(ctx context.Context, a roster.Account, q roster.MemberQuery, byRole [8]int) (roster.MemberList, error) {
	return db.memberList(ctx, a, q, &byRole)
}

func (db *DB) memberList(ctx context.Context, a roster.Account, q roster.MemberQuery, byRole *[8]int) (roster.MemberList, error) {
	db = db.reader(ctx) // a standby's when there is a read pool (replicas.go)
	o, ok := db.memberOrder(q.Sort)
	if !ok {
		return roster.MemberList{}, errUnknownSort
	}
	where, args := `m.account_id = ?`, []any{a.Seq}
	filtered := false
	countFrom := `members m` // the count needs users only to filter by two-factor
	// The matches' count without a search or a filter other than the role's
	// is byRole's, when the caller gave it.
	counted := byRole != nil
	if q.Search != "" {
		// The name and the address, folded, are on the membership
		// (refreshMemberKeys), split by a unit separator (31) that no
		// search spans, so one LIKE of one column finds either, by a
		// trigram index where PostgreSQL has one.
		p := likeContains(q.Search)
		if strings.ContainsRune(q.Search, 31) {
			where += ` AND (m.name_key LIKE ? ESCAPE '\' OR ` + db.foldSQL("u.email") + ` LIKE ? ESCAPE '\')`
			args = append(args, p, p)
			countFrom = ""
		} else {
			where += ` AND m.search_key LIKE ? ESCAPE '\'`
			args = append(args, p)
		}
		filtered, counted = true, false
	}
	if q.Role != roster.RoleNone && (q.Role < 0 || int(q.Role) >= len(byRole)) {
		counted = false
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
		filtered, counted = true, false
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
		filtered, counted = true, false
	}
	switch q.MFA {
	case "":
	case "on":
		where += ` AND ` + hasSecondFactor
		filtered, counted, countFrom = true, false, ""
	case "off":
		where += ` AND NOT ` + hasSecondFactor
		filtered, counted, countFrom = true, false, ""
	default:
		return roster.MemberList{}, fmt.Errorf("store: two-factor filter %q", q.MFA)
	}
	var count func() (int, error)
	if counted {
		count = func() (int, error) {
			if q.Role != roster.RoleNone {
				return byRole[q.Role], nil
			}
			return sum(byRole[:]), nil
		}
	}
	p, err := runList(ctx, db, listQuery{
		list: "members", sort: q.Sort, desc: q.Desc, order: o,
		cols: memberCols,
		from: `members m JOIN users u ON u.id = m.user_id`, countFrom: countFrom, count: count,
		where: where, args: args, limit: q.Limit, after: q.After, before: q.Before,
	}, func(sc interface{ Scan(...any) error }) (roster.Member, error) {
		return scanMember(sc, a)
	})
	if err != nil {
		return roster.MemberList{}, err
	}
	out := roster.MemberList{Members: p.rows, Total: p.total, All: p.total, Start: p.start, Next: p.next, Prev: p.prev}
	if filtered && byRole != nil {
		out.All = sum(byRole[:])
	} else if filtered {
		if err := db.oneRow(ctx, `SELECT COUNT(*) FROM members WHERE account_id = ?`, a.Seq).Scan(&out.All); err != nil {
			return roster.MemberList{}, db.d.mapErr(err)
		}
	}
	return out, nil
}

func sum(ns []int) int {
	t := 0
	for _, n := range ns {
		t += n
	}
	return t
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
