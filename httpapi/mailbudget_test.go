package httpapi_test

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/server/servertest"
)

// Invitation mail has a budget per account: 100 an hour and 500 a day,
// invitations, resends and each row of a batch alike. Past it the answer
// is 429 rate_limited with Retry-After, and nothing is created or sent.

// batchOf is a bulk-invite body of n addresses named prefix-0.. prefix-(n-1).
func batchOf(prefix string, n int) map[string]any {
	rows := make([]map[string]string, n)
	for i := range rows {
		rows[i] = map[string]string{"email": fmt.Sprintf("%s-%d@acme-corp.com", prefix, i), "role": "support"}
	}
	return map[string]any{"invitations": rows}
}

// batchResults counts a batch answer's rows by outcome ("created" or the
// error code) and returns the rows.
func batchResults(t *testing.T, r servertest.Response) (map[string]int, []map[string]any) {
	t.Helper()
	out := map[string]int{}
	var rows []map[string]any
	for _, x := range r.JSON["results"].([]any) {
		row := x.(map[string]any)
		rows = append(rows, row)
		if e, ok := row["error"].(map[string]any); ok {
			out[e["code"].(string)]++
		} else {
			out[row["status"].(string)]++
		}
	}
	return out, rows
}

// mailsTo counts the mails whose recipient starts with prefix.
func mailsTo(e *servertest.Env, prefix string) int {
	n := 0
	for _, m := range e.Mail.Messages() {
		for _, to := range m.To {
			if strings.HasPrefix(to, prefix) {
				n++
			}
		}
	}
	return n
}

func retryAfter(t *testing.T, r servertest.Response, most time.Duration) time.Duration {
	t.Helper()
	s, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || s <= 0 || time.Duration(s)*time.Second > most {
		t.Fatalf("Retry-After %q, want 1 to %s", r.Header.Get("Retry-After"), most)
	}
	return time.Duration(s) * time.Second
}

func TestInvitationMail_AccountBudgetPerHourAndDay(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	e.Commit(t, acct)
	base := "/v1/accounts/" + acct + "/invitations"
	pending := func() int { return owner.Must(200, "GET", base, nil).Total() }

	// 95 in one batch, then a batch of 10: its first 5 go, the other 5
	// are refused row by row (with their wait), create nothing, mail nothing.
	res, _ := batchResults(t, owner.Must(200, "POST", base+"/batch", batchOf("a", 95)))
	if res["created"] != 95 {
		t.Fatalf("first batch: %v", res)
	}
	res, rows := batchResults(t, owner.Must(200, "POST", base+"/batch", batchOf("b", 10)))
	if res["created"] != 5 || res["rate_limited"] != 5 {
		t.Fatalf("batch past the hour's budget: %v, want 5 created and 5 rate_limited", res)
	}
	for i, row := range rows[5:] {
		e := row["error"].(map[string]any)
		if ra, _ := e["retry_after"].(float64); ra <= 0 || ra > 3600 {
			t.Errorf("row %d: retry_after %v", i+5, e["retry_after"])
		}
		if !strings.Contains(e["message"].(string), "in the last hour") {
			t.Errorf("row %d: message %q does not say which limit", i+5, e["message"])
		}
	}
	if n := mailsTo(e, "a-") + mailsTo(e, "b-"); n != 100 {
		t.Errorf("%d invitation mails sent, want 100", n)
	}
	for i := 5; i < 10; i++ {
		if n := servertest.MailCount(e.Mail, fmt.Sprintf("b-%d@acme-corp.com", i)); n != 0 {
			t.Errorf("refused row b-%d was mailed", i)
		}
	}
	if n := pending(); n != 100 {
		t.Fatalf("%d pending invitations, want 100", n)
	}

	// One more, alone or in a batch: 429 with Retry-After, nothing made.
	r := owner.Refused(429, "rate_limited", "POST", base, map[string]string{"email": "one-more@acme-corp.com", "role": "support"})
	retryAfter(t, r, time.Hour)
	r = owner.Refused(429, "rate_limited", "POST", base+"/batch", batchOf("c", 3))
	retryAfter(t, r, time.Hour)
	// A resend is a mail too.
	first := owner.Must(200, "GET", base+"?limit=1", nil).Objects()[0]
	later(e, 2*time.Minute) // past the resend interval: only the budget refuses it
	owner.Refused(429, "rate_limited", "POST", fmt.Sprintf("%s/%v/resend", base, first["id"]), nil)
	if n := pending(); n != 100 {
		t.Errorf("refusals left %d pending invitations, want 100", n)
	}
	if n := mailsTo(e, "one-more") + mailsTo(e, "c-") + servertest.MailCount(e.Mail, first["email"].(string)); n != 1 {
		t.Errorf("refusals sent %d mails (want only the first invitation's)", n-1)
	}

	// The next hours allow 100 each, up to 500 in the day.
	for h := 1; h <= 4; h++ {
		later(e, time.Hour)
		res, _ := batchResults(t, owner.Must(200, "POST", base+"/batch", batchOf(fmt.Sprintf("h%d", h), 100)))
		if res["created"] != 100 {
			t.Fatalf("hour %d: %v, want 100 created", h, res)
		}
	}
	later(e, time.Hour)
	r = owner.Refused(429, "rate_limited", "POST", base, map[string]string{"email": "next-day@acme-corp.com", "role": "support"})
	if wait := retryAfter(t, r, 24*time.Hour); wait < 18*time.Hour {
		t.Errorf("the day's budget spent: Retry-After %s, want the rest of the day", wait)
	}
	if !strings.Contains(string(r.Body), "in the last 24 hours") {
		t.Errorf("message does not say the day's limit: %s", r.Body)
	}
	if n := pending(); n != 500 {
		t.Errorf("%d pending invitations, want 500", n)
	}
	if n := servertest.MailCount(e.Mail, "next-day@acme-corp.com"); n != 0 {
		t.Errorf("a refused invitation was mailed")
	}
}

// Revoking and inviting the same address again is a resend: within the
// resend interval it is refused, and one address gets at most 10 a day.
func TestInvitationMail_RevokeAndInviteAgainIsAResend(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	e.Commit(t, acct)
	base := "/v1/accounts/" + acct + "/invitations"
	const dan = "dan@acme-corp.com"
	_, id := e.InviteToken(t, owner, acct, dan, "developer")
	owner.Must(204, "DELETE", fmt.Sprintf("%s/%d", base, id), nil)
	r := owner.Refused(429, "rate_limited", "POST", base, map[string]string{"email": dan, "role": "developer"})
	retryAfter(t, r, time.Minute)
	if !strings.Contains(string(r.Body), "moments ago") {
		t.Errorf("message %s", r.Body)
	}
	if n := owner.Must(200, "GET", base, nil).Total(); n != 0 {
		t.Errorf("the refused invitation was created (%d pending)", n)
	}
	if n := servertest.MailCount(e.Mail, dan); n != 1 {
		t.Errorf("%d mails to %s, want 1", n, dan)
	}
	// A minute on it goes; ten mails in a day are the most.
	for i := 2; i <= 10; i++ {
		later(e, 61*time.Second)
		_, id = e.InviteToken(t, owner, acct, dan, "developer")
		owner.Must(204, "DELETE", fmt.Sprintf("%s/%d", base, id), nil)
	}
	later(e, 61*time.Second)
	r = owner.Refused(429, "rate_limited", "POST", base, map[string]string{"email": dan, "role": "developer"})
	if wait := retryAfter(t, r, 24*time.Hour); wait < 23*time.Hour {
		t.Errorf("Retry-After %s, want until the first of the ten leaves the day", wait)
	}
	if n := servertest.MailCount(e.Mail, dan); n != 10 {
		t.Errorf("%d mails to %s, want 10", n, dan)
	}
	// Another address is not held back by dan's.
	owner.Must(201, "POST", base, map[string]string{"email": "eve@acme-corp.com", "role": "support"})
}

// Two admins inviting at once cannot pass the budget together: the sends
// are counted in the database, in the transaction that makes them.
func TestInvitationMail_BudgetHoldsUnderConcurrency(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	e.Commit(t, acct)
	admin, _ := e.Join(t, owner, acct, "admin@acme-corp.com", "admin") // one mail of the hour's 100
	base := "/v1/accounts/" + acct + "/invitations"
	var mu sync.Mutex
	total := map[string]int{}
	var wg sync.WaitGroup
	for i, c := range []*servertest.Client{owner, admin, owner, admin} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := c.Do("POST", base+"/batch", batchOf(fmt.Sprintf("p%d", i), 50))
			mu.Lock()
			defer mu.Unlock()
			if r.Status == 429 {
				total["batch 429"]++
				return
			}
			if r.Status != 200 {
				t.Errorf("batch %d: %d %s", i, r.Status, r.Body)
				return
			}
			res, _ := batchResults(t, r)
			for k, v := range res {
				total[k] += v
			}
		}()
	}
	wg.Wait()
	if total["created"] != 99 {
		t.Errorf("four batches of 50 at once: %v, want 99 created (100 less the admin's own invitation)", total)
	}
	if n := owner.Must(200, "GET", base, nil).Total(); n != 99 {
		t.Errorf("%d pending invitations, want 99", n)
	}
	if n := mailsTo(e, "p"); n != 99 {
		t.Errorf("%d invitation mails, want 99", n)
	}
}
