package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestReplicas_SCIMDeactivationDeniedOnTheOther: a member deactivated by
// the directory through replica A is denied by replica B's check within
// 100 ms (the notification path: followers poll only every 5 s), and
// allowed again once reactivated. The figure is logged:
//
//	ROSTER_TEST_DATABASE=postgres://... go test -count=1 ./server -run TestReplicas_SCIMDeactivation -v
func TestReplicas_SCIMDeactivationDeniedOnTheOther(t *testing.T) {
	a, b := replicas(t, nil)
	owner, acct := a.SignUp(t, "owner@acme-corp.com", "Owner")
	a.Commit(t, acct)
	_, devID := a.Join(t, owner, acct, "dev@acme-corp.com", "developer")
	a.VerifyDomain(t, owner, acct, "acme-corp.com")
	token := owner.Must(201, "POST", "/v1/accounts/"+acct+"/scim-tokens", map[string]string{"name": "Okta"}).Str("token")
	platformB := b.Platform(t)
	check := map[string]any{"account_id": acct, "user_id": devID, "permission": "numbers.view"}
	waitUntil(t, func() bool { return platformB.Must(200, "POST", "/v1/authz/check", check).JSON["allowed"] == true })

	patch := func(active string) time.Time {
		t.Helper()
		body := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":` + active + `}}]}`
		req, _ := http.NewRequest("PATCH", a.URL+"/scim/v2/Users/"+itoa(devID), strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/scim+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("PATCH active %s: %d", active, resp.StatusCode)
		}
		return time.Now()
	}
	took := func(from time.Time, want bool) time.Duration {
		t.Helper()
		for {
			r := platformB.Must(200, "POST", "/v1/authz/check", check)
			if r.JSON["allowed"] == want {
				if !want && r.JSON["reason"] != "deactivated" {
					t.Errorf("denied with reason %v, want deactivated", r.JSON["reason"])
				}
				return time.Since(from)
			}
			if time.Since(from) > 10*time.Second {
				t.Fatalf("B's check never answered allowed %v", want)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	deny := took(patch("false"), false)
	t.Logf("deactivate (SCIM on A) to deny (check on B): %v", deny)
	if deny > 100*time.Millisecond {
		t.Errorf("denied after %v, want within 100 ms", deny)
	}
	allow := took(patch("true"), true)
	t.Logf("reactivate (SCIM on A) to allow (check on B): %v", allow)
}

func itoa(n int64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return string(b[i:])
}
