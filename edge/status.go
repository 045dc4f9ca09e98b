package edge

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/rosterhq/roster"
)

// statusOf maps each application error code to its HTTP status: the one
// table both edges answer by.
var statusOf = map[string]int{
	roster.EINVALID:          http.StatusBadRequest,
	roster.EUNAUTHENTICATED:  http.StatusUnauthorized,
	roster.EFORBIDDEN:        http.StatusForbidden,
	roster.EPLANREQUIRED:     http.StatusForbidden,
	roster.EOWNERIMMUTABLE:   http.StatusForbidden,
	roster.EEMAILUNVERIFIED:  http.StatusForbidden,
	roster.EMFAREQUIRED:      http.StatusForbidden,
	roster.EDEACTIVATED:      http.StatusForbidden,
	roster.ESSOREQUIRED:      http.StatusForbidden,
	roster.ESSONOTCONFIG:     http.StatusNotFound,
	roster.EDOMAINUNVERIFIED: http.StatusConflict,
	roster.EDOMAINTAKEN:      http.StatusConflict,
	roster.ESSOINVALID:       http.StatusUnprocessableEntity,
	roster.ENOTFOUND:         http.StatusNotFound,
	roster.EMETHOD:           http.StatusMethodNotAllowed,
	roster.ECONFLICT:         http.StatusConflict,
	roster.EALREADYMEMBER:    http.StatusConflict,
	roster.EINVITEPENDING:    http.StatusConflict,
	roster.ETIMEOUT:          http.StatusRequestTimeout,
	roster.EINVITEINVALID:    http.StatusGone,
	roster.ETOOLARGE:         http.StatusRequestEntityTooLarge,
	roster.EMEDIATYPE:        http.StatusUnsupportedMediaType,
	roster.EPERSONALDOMAIN:   http.StatusUnprocessableEntity,
	roster.ERATELIMITED:      http.StatusTooManyRequests,
	roster.EINTERNAL:         http.StatusInternalServerError,
	roster.EUNAVAILABLE:      http.StatusServiceUnavailable,
}

// StatusClientClosed is the status a request is logged with when its
// client went away before the answer (nginx's 499): no client reads it,
// and it is neither a failure of the server (5xx) nor of the request.
const StatusClientClosed = 499

// StatusOf returns the HTTP status of an error. An error of a request
// whose context was canceled (the client went away: store.ErrCanceled
// wraps it) is StatusClientClosed.
func StatusOf(err error) int {
	var e *roster.Error
	if errors.As(err, &e) && e.Challenge {
		return http.StatusUnauthorized
	}
	if errors.Is(err, context.Canceled) {
		return StatusClientClosed
	}
	if st, ok := statusOf[roster.ErrorCode(err)]; ok {
		return st
	}
	return http.StatusInternalServerError
}

// RetryAfterSeconds is d as a Retry-After value: whole seconds, rounded up.
func RetryAfterSeconds(d time.Duration) string {
	return strconv.Itoa(int((d + time.Second - 1) / time.Second))
}

// SetRetryAfter adds Retry-After when err says when to try again.
func SetRetryAfter(w http.ResponseWriter, err error) {
	if d := roster.RetryAfter(err); d > 0 {
		w.Header().Set("Retry-After", RetryAfterSeconds(d))
	}
}
