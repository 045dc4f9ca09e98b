package service

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/store"
)

// Idempotency keys (issue 26). A client that presents an Idempotency-Key
// with a write may repeat the request (after a cut connection, a timeout,
// a 5xx) without doing the work twice: within IdempotencyRetention the
// same key and the same request answer the first answer again, and do
// nothing. The rules are here; the edge (httpapi) decides which routes take
// a key and what an answer is (bytes to this file).
//
// The database never holds the key nor what it would unlock: the row is
// named by SHA-256 of the caller's scope and the key, the request's
// fingerprint is an HMAC, and the answer (which may show a secret once: an
// API key, a session) is sealed with AES-256-GCM, both under keys derived
// from the Idempotency-Key with HKDF-SHA256. A random key (a UUIDv4) is
// therefore what keeps a stored answer unreadable.

// IdempotencyHeader is the request header that carries the key.
const IdempotencyHeader = "Idempotency-Key"

// IdempotencyRetention is how long a key holds (store.IdempotencyRetention).
const IdempotencyRetention = store.IdempotencyRetention

// IdempotencyLease is how long a request holds its key before a retry may
// take it for dead (crashed): only when nothing it did had committed.
const IdempotencyLease = time.Minute

// CheckIdempotencyKey checks the key's syntax: 1 to 255 printable ASCII
// characters. Errors: EINVALID (field Idempotency-Key).
func CheckIdempotencyKey(key string) error {
	if len(key) < 1 || len(key) > 255 {
		return roster.FieldErrorf(IdempotencyHeader, roster.EINVALID, "The Idempotency-Key header must be 1 to 255 printable ASCII characters (a UUID is best)")
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return roster.FieldErrorf(IdempotencyHeader, roster.EINVALID, "The Idempotency-Key header must be 1 to 255 printable ASCII characters (a UUID is best)")
		}
	}
	return nil
}

// IdempotencyScope names who the caller is for their Idempotency-Keys, so
// that two callers' keys never meet: a session's user, a personal API key,
// an account's credentials. ok is false for a caller the gate did not
// authenticate (the edge names those: the service or operator token, or
// an anonymous client by address).
func (c *Caller) IdempotencyScope() (scope string, ok bool) {
	switch c.Via {
	case ViaSession:
		return "user:" + strconv.FormatInt(c.User.ID, 10), true
	case ViaAPIKey:
		return "api_key:" + c.key, true
	case ViaAccount:
		return "account:" + c.Account.ID, true
	}
	return "", false
}

// IdempotentRequest is a request that holds its Idempotency-Key: it
// stores its answer (Answer) or gives the key up (Release).
type IdempotentRequest struct {
	db        *store.DB
	id, token []byte
	aead      cipher.AEAD
}

// ClaimIdempotencyKey claims key, in scope, for request (the method, path
// and body, as the edge writes them). When the key is new (or its holder
// died before doing anything) it returns a context in which every
// transaction marks the key's work done, and the held key: run the request
// with that context, then Answer or Release. When the key's first request
// was answered, it returns that answer (opened) to be sent again, and no
// request. Errors: EINVALID (the key's syntax); ECONFLICT when the key was
// used for another request, when its first request is still running (with
// Retry-After), and when its first request completed but its answer was
// lost (never done twice).
func (s *Service) ClaimIdempotencyKey(ctx context.Context, scope, key string, request []byte) (context.Context, *IdempotentRequest, []byte, error) {
	if err := CheckIdempotencyKey(key); err != nil {
		return ctx, nil, nil, err
	}
	h := sha256.New()
	h.Write([]byte(scope))
	h.Write([]byte{0})
	h.Write([]byte(key))
	id := h.Sum(nil)
	sealKey, err := hkdf.Key(sha256.New, []byte(key), []byte(scope), "roster idempotency answer", 32)
	if err != nil {
		return ctx, nil, nil, err
	}
	fpKey, err := hkdf.Key(sha256.New, []byte(key), []byte(scope), "roster idempotency fingerprint", 32)
	if err != nil {
		return ctx, nil, nil, err
	}
	mac := hmac.New(sha256.New, fpKey)
	mac.Write(request)
	block, err := aes.NewCipher(sealKey)
	if err != nil {
		return ctx, nil, nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return ctx, nil, nil, err
	}
	token := make([]byte, 16)
	rand.Read(token)
	c, err := s.core.DB.ClaimIdempotencyKey(ctx, id, mac.Sum(nil), token, IdempotencyLease)
	if err != nil {
		return ctx, nil, nil, err
	}
	req := &IdempotentRequest{db: s.core.DB, id: id, token: token, aead: aead}
	switch c.State {
	case store.IdempotencyClaimed:
		return store.WithIdempotencyKey(ctx, id, token), req, nil, nil
	case store.IdempotencyAnswered:
		answer, err := req.open(c.Answer)
		return ctx, nil, answer, err
	case store.IdempotencyRunning:
		return ctx, nil, nil, roster.Retry(roster.ECONFLICT, time.Second,
			"A request with this Idempotency-Key is still being handled: try again in a second")
	case store.IdempotencyLost:
		return ctx, nil, nil, roster.FieldErrorf(IdempotencyHeader, roster.ECONFLICT,
			"The first request with this Idempotency-Key was completed, but its answer was lost: read what it changed instead of repeating it")
	}
	return ctx, nil, nil, roster.FieldErrorf(IdempotencyHeader, roster.ECONFLICT,
		"This Idempotency-Key was used for another request (another method, path or body) within the last 24 hours: a new request needs a new key")
}

// Answer stores the request's answer (sealed), to be sent again to every
// retry with its key. Call it before sending the answer, so a retry that
// follows the answer finds it.
func (r *IdempotentRequest) Answer(ctx context.Context, answer []byte) error {
	nonce := make([]byte, r.aead.NonceSize())
	rand.Read(nonce)
	sealed := r.aead.Seal(nonce, nonce, answer, r.id)
	if err := r.db.AnswerIdempotencyKey(ctx, r.id, r.token, sealed); err != nil {
		return fmt.Errorf("service: store the answer of an idempotency key: %w", err)
	}
	return nil
}

// Release gives the key up after a failure that is no answer (5xx, 429):
// a retry runs the request again when nothing of this one committed, and
// learns that its answer was lost when something did.
func (r *IdempotentRequest) Release(ctx context.Context) error {
	if err := r.db.ReleaseIdempotencyKey(ctx, r.id, r.token); err != nil && !errors.Is(err, store.ErrNoRows) {
		return fmt.Errorf("service: release an idempotency key: %w", err)
	}
	return nil
}

func (r *IdempotentRequest) open(sealed []byte) ([]byte, error) {
	n := r.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("service: a stored idempotent answer is too short")
	}
	answer, err := r.aead.Open(nil, sealed[:n], sealed[n:], r.id)
	if err != nil {
		return nil, fmt.Errorf("service: open a stored idempotent answer: %w", err)
	}
	return answer, nil
}
