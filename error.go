package roster

import (
	"errors"
	"fmt"
	"time"
)

// Application error codes. The HTTP edge maps each to one status.
const (
	EINVALID          = "invalid_request"       // 400
	EUNAUTHENTICATED  = "unauthenticated"       // 401
	EFORBIDDEN        = "forbidden"             // 403
	EPLANREQUIRED     = "plan_required"         // 403
	EOWNERIMMUTABLE   = "owner_immutable"       // 403
	EEMAILUNVERIFIED  = "email_unverified"      // 403
	EMFAREQUIRED      = "mfa_required"          // 403: the account requires two-factor sign-in; 401 at login (Error.Challenge)
	EDEACTIVATED      = "member_deactivated"    // 403: the company's directory deactivated the member here
	ESSOREQUIRED      = "sso_required"          // 403: the account requires its single sign-on of this member
	ENOTFOUND         = "not_found"             // 404
	ESSONOTCONFIG     = "sso_not_configured"    // 404: no enabled single sign-on for the address's domain
	ECONFLICT         = "conflict"              // 409
	EALREADYMEMBER    = "already_member"        // 409
	EINVITEPENDING    = "invitation_pending"    // 409
	EDOMAINUNVERIFIED = "domain_unverified"     // 409: the domain's TXT record was not found (or no verified domain yet)
	EDOMAINTAKEN      = "domain_taken"          // 409: another account verified the domain
	EINVITEINVALID    = "invitation_invalid"    // 410
	ETOOLARGE         = "request_too_large"     // 413
	EPERSONALDOMAIN   = "personal_email_domain" // 422
	ESSOINVALID       = "sso_invalid"           // 422: the identity provider's discovery or metadata is unusable
	ERATELIMITED      = "rate_limited"          // 429
	EINTERNAL         = "internal"              // 500
	EUNAVAILABLE      = "unavailable"           // 503

	// The edge's refusals of a request body (edge.LimitBody).
	ETIMEOUT   = "request_timeout"        // 408: the body stalled past the server's read timeout
	EMEDIATYPE = "unsupported_media_type" // 415: a multipart body (a file) where the route takes none

	// The router's refusal of a method its path does not take (Allow
	// names those it does); an unknown path is ENOTFOUND.
	EMETHOD = "method_not_allowed" // 405
)

// Error is an application error: a code from the list above and a message
// meant for a person. Anything else returned by a service is internal.
type Error struct {
	Code    string
	Message string
	// RetryAfter, for ERATELIMITED and EUNAVAILABLE, says when trying
	// again can succeed (0: not by waiting).
	RetryAfter time.Duration
	// Field names the input the error is about ("email", "password"),
	// so a form can show the message next to it; "" for the whole request.
	Field string
	// Challenge marks a refusal that asks for another credential (a
	// second factor at login): it is answered as unauthenticated (401).
	Challenge bool
}

func (e *Error) Error() string {
	return fmt.Sprintf("roster error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of an application error, "" for nil and
// EINTERNAL for any other error.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of an application error, or
// "internal error" for any other error so causes never reach a response.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// RetryAfter returns err's wait before a retry can succeed, 0 when none.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// Retry returns an error with the code and message that says to try again
// after d.
func Retry(code string, d time.Duration, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), RetryAfter: d}
}

// FieldErrorf returns an error about one input field.
func FieldErrorf(field, code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Field: field}
}

// FieldOf returns the input field an application error is about, "" when
// none (or for any other error).
func FieldOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

// OnField returns err about field: an application error gets it (as a
// copy, in place of any it had); anything else is returned as it is.
func OnField(field string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		c := *e
		c.Field = field
		return &c
	}
	return err
}
