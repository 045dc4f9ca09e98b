package console

import (
	"context"
	"sort"
	"strconv"
	"strings"

	"github.com/rosterhq/roster"
)

// TEMPORARY (issue 21): the service's MemberList and InvitationList are
// being built on branch i21-list; until they are merged, the Team page
// reads its lists through this in-memory stand-in over the old pages.
// It is deleted at the merge.

func (c *Console) memberList(ctx context.Context, a roster.Account, q roster.MemberQuery) (roster.MemberList, error) {
	var all []roster.Member
	p := roster.Page{Limit: 100}
	for {
		ms, _, next, err := c.svc.Members(ctx, a, p)
		if err != nil {
			return roster.MemberList{}, err
		}
		all = append(all, ms...)
		if next == "" || len(ms) == 0 {
			break
		}
		p.After = next
	}
	out := roster.MemberList{All: len(all)}
	var ms []roster.Member
	for _, m := range all {
		s := strings.ToLower(q.Search)
		if s != "" && !strings.Contains(strings.ToLower(m.Name), s) && !strings.Contains(strings.ToLower(m.Email), s) {
			continue
		}
		if q.Role != 0 && m.Role != q.Role || q.Status != "" && m.Status != q.Status || q.MFA == "on" && !m.MFA || q.MFA == "off" && m.MFA {
			continue
		}
		ms = append(ms, m)
	}
	switch q.Sort {
	case "name":
		sort.SliceStable(ms, func(i, j int) bool { return ms[i].Name < ms[j].Name })
	case "role":
		sort.SliceStable(ms, func(i, j int) bool { return ms[i].Role < ms[j].Role })
	case "joined":
		sort.SliceStable(ms, func(i, j int) bool { return ms[i].JoinedAt.Before(ms[j].JoinedAt) })
	}
	if q.Desc {
		for i, j := 0, len(ms)-1; i < j; i, j = i+1, j-1 {
			ms[i], ms[j] = ms[j], ms[i]
		}
	}
	out.Total = len(ms)
	from, err := shimCursor(q.After, q.Before, q.Limit)
	if err != nil {
		return roster.MemberList{}, err
	}
	to := min(from+q.Limit, len(ms))
	if from > len(ms) {
		from = len(ms)
	}
	out.Members = ms[from:to]
	if len(out.Members) > 0 {
		out.Start = from + 1
	}
	if to < len(ms) {
		out.Next = "o" + strconv.Itoa(to)
	}
	if from > 0 {
		out.Prev = "o" + strconv.Itoa(from)
	}
	return out, nil
}

func shimCursor(after, before string, limit int) (int, error) {
	parse := func(s string) (int, error) {
		n, err := strconv.Atoi(strings.TrimPrefix(s, "o"))
		if err != nil || !strings.HasPrefix(s, "o") || n < 0 {
			return 0, roster.Errorf(roster.EINVALID, "bad cursor")
		}
		return n, nil
	}
	switch {
	case after != "":
		return parse(after)
	case before != "":
		n, err := parse(before)
		return max(n-limit, 0), err
	}
	return 0, nil
}

func (c *Console) invitationList(ctx context.Context, a roster.Account, q roster.InvitationQuery) (roster.InvitationList, error) {
	all, err := c.svc.AllInvitations(ctx, a)
	if err != nil {
		return roster.InvitationList{}, err
	}
	out := roster.InvitationList{All: len(all)}
	var is []roster.Invitation
	for _, inv := range all {
		if q.Search != "" && !strings.Contains(strings.ToLower(inv.Email), strings.ToLower(q.Search)) {
			continue
		}
		if q.Role != 0 && inv.Role != q.Role || q.Status != "" && inv.Status != q.Status {
			continue
		}
		is = append(is, inv)
	}
	out.Total = len(is)
	from, err := shimCursor(q.After, q.Before, q.Limit)
	if err != nil {
		return roster.InvitationList{}, err
	}
	from = min(from, len(is))
	to := min(from+q.Limit, len(is))
	out.Invitations = is[from:to]
	if len(out.Invitations) > 0 {
		out.Start = from + 1
	}
	if to < len(is) {
		out.Next = "o" + strconv.Itoa(to)
	}
	if from > 0 {
		out.Prev = "o" + strconv.Itoa(from)
	}
	return out, nil
}
