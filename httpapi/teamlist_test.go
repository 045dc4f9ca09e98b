package httpapi_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/rosterhq/roster/loadtest/seed"
	"github.com/rosterhq/roster/server/servertest"
)

// The member and invitation lists search, filter, sort and page both ways
// over /v1, answer their position and counts in meta, and refuse each bad
// parameter with 400 invalid_request.
func TestTeamList_QueryParameters(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	e.Commit(t, acct)
	e.SeedMembers(t, acct, 120)
	e.SeedInvitations(t, acct, 30)
	base := "/v1/accounts/" + acct + "/members"
	meta := func(r servertest.Response) map[string]any { return r.JSON["meta"].(map[string]any) }

	r := owner.Must(200, "GET", base, nil)
	if m := meta(r); m["total_count"] != 121.0 || m["all_count"] != 121.0 || m["start"] != 1.0 || len(r.Objects()) != 20 || m["prev"] != nil {
		t.Errorf("first page: %v, %d rows", m, len(r.Objects()))
	}
	// Search: one late member, by a part of the address in another case.
	r = owner.Must(200, "GET", base+"?q=MEMBER00117", nil)
	if o := r.Objects(); len(o) != 1 || o[0]["email"] != seed.Email(117, "acme-corp.com") || meta(r)["all_count"] != 121.0 {
		t.Errorf("search: %v %v", o, meta(r))
	}
	// Filters and the name sort descending, walked forwards then back.
	q := "?role=support&mfa=off&status=active&sort=name&order=desc&limit=7"
	var fwd []any
	path := base + q
	var last servertest.Response
	for n := 0; n < 20; n++ {
		last = owner.Must(200, "GET", path, nil)
		if meta(last)["start"] != float64(len(fwd)+1) {
			t.Fatalf("page %d start %v after %d", n, meta(last)["start"], len(fwd))
		}
		for _, o := range last.Objects() {
			if o["role"] != "support" {
				t.Errorf("filtered out: %v", o)
			}
			fwd = append(fwd, o["user_id"])
		}
		next, _ := meta(last)["next"].(string)
		if next == "" {
			break
		}
		path = base + q + "&after=" + url.QueryEscape(next)
	}
	if want := meta(last)["total_count"]; float64(len(fwd)) != want || len(fwd) < 15 {
		t.Fatalf("forwards %d of %v", len(fwd), want)
	}
	back := slices.Clone(last.Objects())
	for r := last; ; {
		prev, _ := meta(r)["prev"].(string)
		if prev == "" {
			break
		}
		r = owner.Must(200, "GET", base+q+"&before="+url.QueryEscape(prev), nil)
		back = append(slices.Clone(r.Objects()), back...)
	}
	var ids []any
	for _, o := range back {
		ids = append(ids, o["user_id"])
	}
	if !slices.Equal(ids, fwd) {
		t.Errorf("backwards %v\nforwards %v", ids, fwd)
	}
	// before=last: the last 7 of the same list, in one request.
	r = owner.Must(200, "GET", base+q+"&before=last", nil)
	var lastIDs []any
	for _, o := range r.Objects() {
		lastIDs = append(lastIDs, o["user_id"])
	}
	if m := meta(r); !slices.Equal(lastIDs, fwd[len(fwd)-7:]) || m["start"] != float64(len(fwd)-6) || m["next"] != nil || m["prev"] == nil {
		t.Errorf("before=last: %v %v; want the last 7 of %v", lastIDs, m, fwd)
	}
	// Old clients: paging by offset answers as before.
	r = owner.Must(200, "GET", base+"?limit=5&offset=115", nil)
	if m := meta(r); len(r.Objects()) != 5 || m["offset"] != 115.0 || m["start"] != 116.0 || m["total_count"] != 121.0 {
		t.Errorf("by offset: %v", m)
	}

	inv := "/v1/accounts/" + acct + "/invitations"
	r = owner.Must(200, "GET", inv+"?status=expired&sort=expires&order=desc&limit=2", nil)
	if m := meta(r); m["total_count"] != 3.0 || m["all_count"] != 30.0 || len(r.Objects()) != 2 || r.Objects()[0]["status"] != "expired" {
		t.Errorf("expired invitations: %v %v", m, r.Objects())
	}
	next := meta(r)["next"].(string)
	r = owner.Must(200, "GET", inv+"?status=expired&sort=expires&order=desc&limit=2&after="+url.QueryEscape(next), nil)
	if m := meta(r); len(r.Objects()) != 1 || m["start"] != 3.0 || m["prev"] == nil || m["next"] != nil {
		t.Errorf("the last page of expired invitations: %v", m)
	}
	r = owner.Must(200, "GET", inv+"?q=INVITEE0001&role=developer", nil)
	if m := meta(r); m["total_count"] != 3.0 { // 10, 14 and 18 of 10..19 are developers (role 2 + (i-1)%4)
		t.Errorf("invitations by search and role: %v", m)
	}

	// Each bad parameter: 400 invalid_request with the error envelope.
	for _, bad := range []string{
		base + "?sort=email", base + "?order=up", base + "?status=pending", base + "?mfa=maybe",
		base + "?role=boss", base + "?limit=0", base + "?limit=101", base + "?limit=x",
		base + "?q=" + strings.Repeat("a", 255), base + "?after=garbage", base + "?before=garbage",
		base + "?after=" + url.QueryEscape(next), // an invitation list's cursor
		base + "?sort=name&after=" + url.QueryEscape(meta(owner.Must(200, "GET", base+"?sort=role", nil))["next"].(string)),
		base + "?offset=3&q=a", base + "?offset=3&before=x",
		inv + "?sort=name", inv + "?status=active", inv + "?mfa=on", inv + "?order=sideways", inv + "?after=nope",
	} {
		r := owner.Refused(400, "invalid_request", "GET", bad, nil)
		if msg, _ := r.JSON["error"].(map[string]any)["message"].(string); msg == "" {
			t.Errorf("%s: no message in %v", bad, r.JSON)
		}
	}
}
