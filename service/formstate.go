package service

import (
	"context"
	"crypto/sha256"
	"errors"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/store"
)

// The console's one-time form states: what a refused form said and what
// was typed (or a page's outcome), kept between a POST's redirect and the
// GET page that shows it, in the database so that the GET may reach
// another replica. The edge decides what a state holds; the service keeps
// it bounded, keyed by a hash of the browser's secret, and read once.

// FormStateTTL is how long a form state waits for its page: the redirect
// is followed at once, so minutes are plenty.
const FormStateTTL = 10 * time.Minute

// FormStateMax bounds one state: a bulk invite's 100 result lines and its
// refused lines fit many times over.
const FormStateMax = 64 << 10

func formStateKey(secret string) []byte {
	h := sha256.Sum256([]byte("roster form state v1\x00" + secret))
	return h[:]
}

// KeepFormState keeps data for the browser holding secret (its session,
// or the random id of its form-state cookie), replacing any state kept
// before, for FormStateTTL. Errors: EINVALID (no secret), ETOOLARGE (data
// over FormStateMax).
func (s *Service) KeepFormState(ctx context.Context, secret string, data []byte) error {
	if secret == "" {
		return roster.Errorf(roster.EINVALID, "No key for the form state")
	}
	if len(data) > FormStateMax {
		return roster.Errorf(roster.ETOOLARGE, "The form state is too large")
	}
	return s.core.DB.PutFormState(ctx, formStateKey(secret), data, FormStateTTL)
}

// TakeFormState returns the state kept for secret and deletes it: nil, nil
// when there is none (or it expired).
func (s *Service) TakeFormState(ctx context.Context, secret string) ([]byte, error) {
	if secret == "" {
		return nil, nil
	}
	data, err := s.core.DB.TakeFormState(ctx, formStateKey(secret))
	if errors.Is(err, store.ErrNoRows) {
		return nil, nil
	}
	return data, err
}
