package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// secretPrefix starts every webhook secret; in the Standard Webhooks form
// (https://www.standardwebhooks.com) the rest is the standard, padded
// base64 of the key's bytes.
const secretPrefix = "whsec_"

// NewSecret is a new webhook's signing secret, in the Standard Webhooks
// form: whsec_ and the standard base64 of 32 random bytes (256 bits).
// Roster-Signature is keyed with the whole string, as before; the
// webhook-signature with the 32 bytes (StandardKey), so a Standard
// Webhooks library verifies with the secret as shown.
func NewSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return secretPrefix + base64.StdEncoding.EncodeToString(b)
}

// StandardKey is the key of secret's webhook-signature: the bytes it
// encodes when it is in the Standard Webhooks form, read as the
// specification's own libraries read it (the whsec_ prefix dropped, the
// rest standard padded base64, not empty); any other secret's own bytes,
// as given. Secrets made before Roster sent the standard headers are
// whsec_ and 43 characters of unpadded URL-safe base64, which never read
// as padded base64: their key is the whole string, the key of their
// Roster-Signature too, and a receiver verifies them with the libraries'
// raw-key constructor (NewWebhookRaw in Go).
func StandardKey(secret string) []byte {
	if key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, secretPrefix)); err == nil && len(key) > 0 {
		return key
	}
	return []byte(secret)
}

// SignStandard is the Standard Webhooks webhook-signature header of the
// message id sent at t with body: "v1," and the standard base64 of the
// HMAC-SHA256 of "<id>.<unix seconds>.<body>" keyed with StandardKey.
func SignStandard(secret, id string, t time.Time, body []byte) string {
	m := hmac.New(sha256.New, StandardKey(secret))
	m.Write([]byte(id + "." + strconv.FormatInt(t.Unix(), 10) + "."))
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}
