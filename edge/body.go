package edge

import (
	"errors"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"strings"

	"github.com/rosterhq/roster"
)

// The caps of request bodies that are forms (the console's). The JSON
// API's cap is its own (httpapi.MaxBody): a batch of 1,000 checks needs
// more than a form.
const (
	// FormMax is the largest form post: far above any form of the console
	// (a pasted batch of 100 invitations is under 10 KiB).
	FormMax = 64 << 10
	// FileMax is the largest file a form takes (the bulk-invite CSV).
	FileMax = 1 << 20
	// UploadMax is the largest form with a file: the file and the rest
	// of the form (FormMax).
	UploadMax = FileMax + FormMax
)

// Body says what request body a route takes.
type Body struct {
	// Max is the most bytes of body read; a body past it answers
	// 413 request_too_large.
	Max int64
	// Files takes multipart/form-data (a form with a file). Without it a
	// multipart body answers 415 unsupported_media_type unread: no route
	// that expects no file ever parses one.
	Files bool
	// Form parses the form here, before the handler, so that a body over
	// Max, one that stalls or one that is malformed is refused by the
	// edge (413, 408, 400) rather than read by a handler as empty fields
	// (Request.FormValue drops the error). A form with a file is held in
	// memory, never written to disk (Max bounds it).
	Form bool
	// UnsafeOnly refuses a multipart body only on methods that carry one
	// (not GET, HEAD, OPTIONS): for an edge whose handlers never read a
	// form, so a GET's body is never read at all.
	UnsafeOnly bool
}

// LimitBody returns middleware that holds each request to b: the body
// capped at b.Max, multipart refused unless b.Files, the form parsed when
// b.Form; fail writes a refusal the way the edge answers errors (the JSON
// envelope, the console's page). Errors given to fail: ETOOLARGE,
// EMEDIATYPE, ETIMEOUT, EINVALID.
//
// Any file the form holds is removed when the handler returns. It is
// parsed here, on the request this middleware was given, and the
// handlers get that request: net/http removes the files of the request it
// made, and a middleware before this one (RequestLog) hands on a copy of
// it, whose form net/http never sees.
//
// Wrap each route's handler, inside the ServeMux, so that no middleware
// copies the request between this one and the handler.
func LimitBody(b Body, fail func(http.ResponseWriter, *http.Request, error)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !b.Files && multipartBody(r) && (!b.UnsafeOnly || unsafeMethod(r.Method)) {
				// Refused unread: net/http then closes the connection
				// rather than read what is left of a large body.
				fail(w, r, roster.Errorf(roster.EMEDIATYPE, "No file is taken here: send the request without a multipart body"))
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, b.Max)
			defer func() {
				if r.MultipartForm != nil {
					r.MultipartForm.RemoveAll()
				}
			}()
			if b.Form && unsafeMethod(r.Method) {
				if err := parseForm(r, b); err != nil {
					fail(w, r, err)
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// parseForm reads the form: url-encoded, or multipart when b takes files,
// held in memory (no part can be larger than the body's cap, so
// multipart's spill to disk past maxMemory never happens).
func parseForm(r *http.Request, b Body) error {
	var err error
	if b.Files && multipartBody(r) {
		err = r.ParseMultipartForm(b.Max + 1)
	} else {
		err = r.ParseForm()
	}
	if err == nil {
		return nil
	}
	if e := BodyError(err); e != nil {
		return e
	}
	return roster.Errorf(roster.EINVALID, "The form could not be read")
}

// BodyError returns the refusal for an error met while reading a request
// body that the client, not the body's content, is to blame for: ETOOLARGE
// past the body's cap (http.MaxBytesReader) or multipart's own limits,
// ETIMEOUT when the body stalled past the server's read deadline
// (http.Server.ReadTimeout). It returns nil for any other error: the
// caller says what was wrong with the body.
func BodyError(err error) error {
	var mbe *http.MaxBytesError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &mbe):
		return roster.Errorf(roster.ETOOLARGE, "The request body is larger than %d bytes", mbe.Limit)
	case errors.Is(err, multipart.ErrMessageTooLarge):
		return roster.Errorf(roster.ETOOLARGE, "The form has too many parts")
	case errors.Is(err, os.ErrDeadlineExceeded):
		return roster.Errorf(roster.ETIMEOUT, "The request body did not arrive in time")
	}
	return nil
}

// multipartBody reports whether the request says its body is multipart:
// what Request.ParseMultipartForm would read.
func multipartBody(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	// Only a type that starts with "multipart/" can parse as one: the
	// others (application/json on every API call) skip the parser, which
	// allocates.
	if t := strings.TrimLeft(ct, " \t"); len(t) < 10 || !strings.EqualFold(t[:10], "multipart/") {
		return false
	}
	mt, _, _ := mime.ParseMediaType(ct) // lower case; "" when unreadable, which nothing parses
	return strings.HasPrefix(mt, "multipart/")
}

func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}
