package webhook_test

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/webhook"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// standardHeaders are the three Standard Webhooks headers of a delivery of
// body with message id sent at t.
func standardHeaders(secret, id string, t time.Time, body []byte) http.Header {
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", strconv.FormatInt(t.Unix(), 10))
	h.Set("webhook-signature", webhook.SignStandard(secret, id, t, body))
	return h
}

// oldSecret is a secret as Roster made them before issue 25: whsec_ and
// unpadded URL-safe base64 of 32 random bytes.
func oldSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return "whsec_" + base64.RawURLEncoding.EncodeToString(b)
}

// TestSignStandard_SpecificationVector: the signature of the example the
// specification's libraries test with, byte for byte.
func TestSignStandard_SpecificationVector(t *testing.T) {
	got := webhook.SignStandard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
		time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("SignStandard = %q, want %q", got, want)
	}
}

// TestNewSecret_StandardForm: a new secret is whsec_ and the padded
// standard base64 of 32 bytes, different each time; the library takes it
// as it is shown and verifies what Roster signs with it.
func TestNewSecret_StandardForm(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		s := webhook.NewSecret()
		if seen[s] {
			t.Fatalf("secret %q made twice", s)
		}
		seen[s] = true
		rest, ok := strings.CutPrefix(s, "whsec_")
		key, err := base64.StdEncoding.Strict().DecodeString(rest)
		if !ok || err != nil || len(key) != 32 {
			t.Fatalf("secret %q: want whsec_ and the standard base64 of 32 bytes (%v)", s, err)
		}
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			t.Fatalf("the library refuses %q: %v", s, err)
		}
		body := []byte(`{"id":"evt_1","type":"webhook.test"}`)
		if err := wh.Verify(body, standardHeaders(s, "evt_1", time.Now(), body)); err != nil {
			t.Fatalf("the library does not verify a signature made with %q: %v", s, err)
		}
	}
}

// TestSignStandard_OldSecretIsItsOwnKey: a secret made before issue 25
// is not in the standard form (the library's NewWebhook refuses it, so a
// receiver cannot verify with a wrong key by mistake); its key is its own
// string, which the library's raw constructor takes, the key of its
// Roster-Signature too.
func TestSignStandard_OldSecretIsItsOwnKey(t *testing.T) {
	for range 20 {
		s := oldSecret()
		if _, err := standardwebhooks.NewWebhook(s); err == nil {
			t.Fatalf("the library takes the old secret %q as a standard one", s)
		}
		if got := string(webhook.StandardKey(s)); got != s {
			t.Fatalf("the key of %q is %q, want the secret itself", s, got)
		}
		wh, err := standardwebhooks.NewWebhookRaw([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		body := []byte(`{"id":"evt_2"}`)
		if err := wh.Verify(body, standardHeaders(s, "evt_2", time.Now(), body)); err != nil {
			t.Fatalf("old secret %q: %v", s, err)
		}
	}
	if got := string(webhook.StandardKey("not-prefixed!")); got != "not-prefixed!" {
		t.Errorf("the key of a secret that is not base64 is %q", got)
	}
}

// TestSign_RosterSignatureKeyedWithTheWholeSecret: Roster-Signature is
// what it always was, whatever the secret's form: t=<seconds>,v1=<hex
// HMAC-SHA256 of "<t>.<body>"> keyed with the secret's whole string (the
// whsec_ prefix included, never the bytes it encodes).
func TestSign_RosterSignatureKeyedWithTheWholeSecret(t *testing.T) {
	at := time.Unix(1765000000, 0)
	body := []byte(`{"id":"evt_3"}`)
	for _, s := range []string{webhook.NewSecret(), oldSecret(), "whsec_test"} {
		m := hmac.New(sha256.New, []byte(s))
		m.Write([]byte("1765000000." + string(body)))
		if got, want := webhook.Sign(s, at, body), "t=1765000000,v1="+hex.EncodeToString(m.Sum(nil)); got != want {
			t.Errorf("Sign(%q) = %q, want %q", s, got, want)
		}
	}
}

// TestSignStandard_LibraryRefusesTamperingAndOldTimestamps: the checks a
// receiver relies on fail when they should: another body, another id,
// another secret, a timestamp older than the library's tolerance (though
// correctly signed) and a missing header.
func TestSignStandard_LibraryRefusesTamperingAndOldTimestamps(t *testing.T) {
	s := webhook.NewSecret()
	wh, err := standardwebhooks.NewWebhook(s)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"id":"evt_4","type":"member.joined"}`)
	now := time.Now()
	other, _ := standardwebhooks.NewWebhook(webhook.NewSecret())
	for _, c := range []struct {
		name   string
		wh     *standardwebhooks.Webhook
		body   []byte
		header http.Header
		want   error
	}{
		{"another body", wh, []byte(`{"id":"evt_4","type":"member.removed"}`), standardHeaders(s, "evt_4", now, body), standardwebhooks.ErrNoMatchingSignature},
		{"another id", wh, body, func() http.Header {
			h := standardHeaders(s, "evt_4", now, body)
			h.Set("webhook-id", "evt_5")
			return h
		}(), standardwebhooks.ErrNoMatchingSignature},
		{"another secret", other, body, standardHeaders(s, "evt_4", now, body), standardwebhooks.ErrNoMatchingSignature},
		{"ten minutes old", wh, body, standardHeaders(s, "evt_4", now.Add(-10*time.Minute), body), standardwebhooks.ErrMessageTooOld},
		{"no id", wh, body, func() http.Header {
			h := standardHeaders(s, "evt_4", now, body)
			h.Del("webhook-id")
			return h
		}(), standardwebhooks.ErrRequiredHeaders},
	} {
		if err := c.wh.Verify(c.body, c.header); !errors.Is(err, c.want) {
			t.Errorf("%s: Verify = %v, want %v", c.name, err, c.want)
		}
	}
	// The old one is refused for its age alone: its signature is right.
	if err := wh.VerifyIgnoringTimestamp(body, standardHeaders(s, "evt_4", now.Add(-10*time.Minute), body)); err != nil {
		t.Errorf("ten minutes old, the time not checked: %v", err)
	}
}
