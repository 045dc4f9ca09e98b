package console

import (
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/rosterhq/roster/service"
)

// Read-your-writes across a post/redirect/get: a form whose write changed
// who may do what answers with a short-lived cookie naming the revision it
// made (the API's X-Roster-Revision, kept by the browser); the pages that
// follow wait for this replica's index to apply it and read from a
// standby (ROSTER_DATABASE_READ) only once the standby holds it, else from
// the primary. So the team list after a role change shows the new role,
// whichever replica and whichever database serve it.

const revisionCookie = "roster_rev"

// readYourWrites wraps every console route (routes).
func (c *Console) readYourWrites(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			if ck, err := r.Cookie(revisionCookie); err == nil {
				if rev, err := strconv.ParseInt(ck.Value, 10, 64); err == nil && rev > 0 {
					// Best effort: a page is shown even if this replica has
					// not caught up in time; its reads then go to the primary.
					_ = c.svc.AwaitRevision(r.Context(), rev)
					r = r.WithContext(service.ReadAtLeast(r.Context(), rev))
				}
			}
			h.ServeHTTP(w, r)
			return
		}
		ctx, rev := service.WithRevisionSink(r.Context())
		h.ServeHTTP(&revisionCookieWriter{ResponseWriter: w, rev: rev}, r.WithContext(ctx))
	})
}

// revisionCookieWriter sets the revision cookie on the answer of a form
// that made a revision.
type revisionCookieWriter struct {
	http.ResponseWriter
	rev   *atomic.Int64
	wrote bool
}

func (w *revisionCookieWriter) WriteHeader(status int) {
	if !w.wrote {
		w.wrote = true
		if rev := w.rev.Load(); rev > 0 {
			http.SetCookie(w.ResponseWriter, &http.Cookie{Name: revisionCookie, Value: strconv.FormatInt(rev, 10),
				Path: "/", MaxAge: 60, HttpOnly: true, SameSite: http.SameSiteLaxMode})
		}
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *revisionCookieWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (w *revisionCookieWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
