package sso

import (
	"encoding/json"
	"testing"
)

// The email claims a provider may send: a verified address is
// email_verified true (JSON or quoted), or Entra ID's xms_edov.
func TestClaimTrue(t *testing.T) {
	for raw, want := range map[string]bool{
		`true`: true, `"true"`: true, `false`: false, `"false"`: false, `"True"`: false, `1`: false, ``: false, `null`: false,
	} {
		if got := claimTrue(json.RawMessage(raw)); got != want {
			t.Errorf("claimTrue(%s) = %v, want %v", raw, got, want)
		}
	}
	var c struct {
		EmailVerified json.RawMessage `json:"email_verified"`
		EDOV          json.RawMessage `json:"xms_edov"`
	}
	if err := json.Unmarshal([]byte(`{"email":"a@acme-corp.com","xms_edov":true}`), &c); err != nil {
		t.Fatal(err)
	}
	if claimTrue(c.EmailVerified) || !claimTrue(c.EDOV) {
		t.Errorf("an Entra ID token with xms_edov: %s %s", c.EmailVerified, c.EDOV)
	}
}
