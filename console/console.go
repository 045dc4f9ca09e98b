// Package console is Roster's web console: server-rendered pages over the
// same service the JSON API uses, sharing its session cookie. Every form
// works without JavaScript. Unsafe requests pass the server's cross-origin
// check and carry a per-session CSRF token (an HMAC keyed by the session,
// so nothing is stored and every replica accepts it). Every route is an
// entry of a page table (routes.go: what a page outside an account needs;
// pages.go: the permission an account page needs), and the table's wrapper
// authenticates, checks the CSRF token and asks the gate; the navigation
// shows only what the role may view.
package console

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/edge"
	"github.com/rosterhq/roster/service"
)

//go:embed templates/*.html templates/partials/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Console serves the pages.
type Console struct {
	svc     *service.Service
	log     *slog.Logger
	proxies edge.Proxies
	pages   map[string]*template.Template
	opt     Options
}

// Options are the console's settings beyond the service's, read once by
// cmd/roster and passed down through the server's configuration.
type Options struct {
	// UpgradeURL is where the standard plan's notices send a person who
	// wants team members: an http(s) URL or a mailto: (cmd/roster
	// refuses anything else); "" shows no button, and the notice names
	// SupportEmail instead.
	UpgradeURL string
	// SupportEmail is the operator's contact address ("" for none).
	SupportEmail string
}

// New returns a console over the service.
func New(svc *service.Service, proxies edge.Proxies, opt Options) *Console {
	return &Console{svc: svc, log: svc.Log, proxies: proxies, pages: parsePages(), opt: opt}
}

// parsePages parses each page with the layout and the partials it calls
// (and those call): each page is a template set of its own, and every
// partial in every set was 9.2 MB of parse trees, live for the process's
// life and marked by every garbage collection, most of them partials the
// page never calls (2 MB with these alone).
func parsePages() map[string]*template.Template {
	partials, _ := fs.Glob(templateFS, "templates/partials/*.html")
	defines := map[string]string{} // a partial's template name -> its file
	for _, f := range partials {
		for _, m := range defineRE.FindAllStringSubmatch(readTemplate(f), -1) {
			defines[m[1]] = f
		}
	}
	pages := map[string]*template.Template{}
	names, _ := fs.Glob(templateFS, "templates/*.html")
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		files := []string{"templates/layout.html", n}
		for i := 0; i < len(files); i++ { // files grows as partials are found
			for _, m := range callRE.FindAllStringSubmatch(readTemplate(files[i]), -1) {
				if f, ok := defines[m[1]]; ok && !slices.Contains(files, f) {
					files = append(files, f)
				}
			}
		}
		pages[base] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, files...))
	}
	return pages
}

// The actions that define and call a named template.
var (
	defineRE = regexp.MustCompile(`\{\{-?\s*(?:define|block)\s+"([^"]+)"`)
	callRE   = regexp.MustCompile(`\{\{-?\s*(?:template|block)\s+"([^"]+)"`)
)

func readTemplate(name string) string {
	b, err := fs.ReadFile(templateFS, name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

var funcs = template.FuncMap{
	// errFor is the page's error when it is about field: shown next to it.
	"errFor": func(p *page, field string) string {
		if p.Field == field {
			return p.Error
		}
		return ""
	},
	// stepUp is the data of a two-factor form's code fields (profile.html's
	// step-up-code): the page, and the form's name, its fields' prefix.
	"stepUp": func(p *page, form string) stepUpPart { return stepUpPart{p, form} },
	// typed is what was typed into field when a form is shown again, else def.
	// A field the form state does not hold (a secret, or another form's)
	// keeps def.
	"typed": func(p *page, field, def string) string {
		if vs, ok := p.Form[field]; ok && len(vs) > 0 {
			return vs[0]
		}
		return def
	},
	// orphan is true when the page's error belongs to none of fields: it
	// is shown above the form instead.
	"orphan": func(p *page, fields ...string) bool {
		if p.Error == "" {
			return false
		}
		for _, f := range fields {
			if p.Field == f {
				return false
			}
		}
		return true
	},
	"roleLabel": func(r roster.Role) string { return r.Label() },
	// eventLabel is a webhook event type for a person (roster.EventLabel):
	// pages show it, with the type itself in a title and data attribute.
	"eventLabel": roster.EventLabel,
	// held is what the page's user holds in a membership's account, as
	// GET /v1/me/access says it and the gate decides: none while suspended
	// or without the two-factor sign-in the account requires.
	"held": func(p *page, m roster.Membership) service.Held { return service.MembershipHeld(m, *p.User) },
	"date": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2 Jan 2006 15:04 UTC")
	},
	// when is a time for a person: relative ("3 hours ago", "in 6 days")
	// and, beside it in plain sight, the exact time ("6 Dec 2026, 07:12
	// UTC"), in a <time> whose datetime attribute machines read. A time
	// more than a month away is only the exact one. The exact part may
	// wrap onto its own line on a phone (.exact).
	"when": func(t time.Time) template.HTML {
		if t.IsZero() {
			return "—"
		}
		exact := t.UTC().Format("2 Jan 2006, 15:04 UTC")
		rel := relative(t, time.Now())
		inner := `<span class="relative">` + template.HTMLEscapeString(rel) + `</span> <span class="exact">(` + exact + `)</span>`
		if rel == t.UTC().Format("2 Jan 2006") {
			inner = `<span class="exact">` + exact + `</span>`
		}
		return template.HTML(`<time datetime="` + t.UTC().Format(time.RFC3339) + `" title="` + t.UTC().Format("2 Jan 2006 15:04 UTC") + `">` + inner + `</time>`)
	},
	"browser": browserOf,
	"usd":     func(m roster.Money) string { return formatUSD(int64(m)) },
	"micro":   func(v int64) string { return strings.TrimRight(strings.TrimRight(formatMicro(v), "0"), ".") },
}

// relative says how far t is from now in words a person would use.
func relative(t, now time.Time) string {
	d := now.Sub(t)
	past := d >= 0
	if !past {
		d = -d
	}
	var s string
	switch {
	case d < time.Minute:
		if past {
			return "just now"
		}
		return "in under a minute"
	case d < time.Hour:
		s = plural(int(d/time.Minute), "minute")
	case d < 24*time.Hour:
		s = plural(int(d/time.Hour), "hour")
	case d < 30*24*time.Hour:
		s = plural(int(d/(24*time.Hour)), "day")
	default:
		return t.UTC().Format("2 Jan 2006")
	}
	if past {
		return s + " ago"
	}
	return "in " + s
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// page is what every template gets.
type page struct {
	Title    string
	User     *roster.User
	Account  *roster.Account
	Role     roster.Role
	Status   roster.MemberStatus
	Accounts []roster.Membership
	Nav      []navItem
	Active   string
	CSRF     string
	Notice   string
	Error    string
	Code     string     // the error's code, on an error page
	Field    string     // the input Error is about, shown next to it
	Form     url.Values // what was typed, when a form is shown again
	Data     any
	// HTTPStatus, when set, is the status the page answers with (a form
	// shown again with its error).
	HTTPStatus int
	// EnrolMFA is true on an account page when the account requires
	// two-factor sign-in and the caller has none: they hold nothing there
	// until they turn it on, so the sidebar offers that instead of pages
	// that would each refuse.
	EnrolMFA bool
	// Upgrade is where the standard plan's notices send a person
	// (Options.UpgradeURL), and Support the operator's contact
	// (Options.SupportEmail), "" for none.
	Upgrade, Support string
	// State is the one-time form state the page was sent with, nil when
	// none: a page's own outcome (a bulk invite's lines) is read from it.
	State *formState
}

type navItem struct {
	Key, Label, Href string
}

// render writes a page into a buffer first, so a template error is a
// clean 500 and never half a page.
func (c *Console) render(w http.ResponseWriter, status int, name string, p *page) {
	var buf bytes.Buffer
	t, ok := c.pages[name]
	if !ok {
		c.log.Error("no such template", "name", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		c.log.Error("render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'")
	if p.HTTPStatus != 0 {
		status = p.HTTPStatus
	}
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// fail shows an error page for err: 403, 404, or a form message.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, p *page, err error) {
	code := roster.ErrorCode(err)
	if code == roster.EINTERNAL {
		c.log.Error("console", "path", r.URL.Path, "err", err)
	}
	if p == nil {
		p = &page{}
	}
	p.Title = map[string]string{roster.ENOTFOUND: "Not found", roster.EFORBIDDEN: "Not allowed",
		roster.EMFAREQUIRED: "Two-factor sign-in required", roster.ETOOLARGE: "Too much to send",
		roster.EMEDIATYPE: "Form not accepted", roster.ETIMEOUT: "The form took too long to arrive"}[code]
	if p.Title == "" {
		p.Title = "Something went wrong"
	}
	p.Error, p.Code = roster.ErrorMessage(err), code
	edge.SetRetryAfter(w, err) // a 503 (the database failed) says when to try again
	c.render(w, edge.StatusOf(err), "error", p)
}

// csrfToken is an HMAC keyed by the session token itself: bound to that
// session, unguessable without its cookie (256 random bits, HttpOnly), and
// the same on every replica and after every restart, with no key to share
// or keep. The token reveals nothing of the session (HMAC is one-way).
func (c *Console) csrfToken(session string) string {
	m := hmac.New(sha256.New, []byte(session))
	m.Write([]byte("roster console form v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (c *Console) checkCSRF(r *http.Request, session string) error {
	want := c.csrfToken(session)
	if !hmac.Equal([]byte(r.PostFormValue("csrf")), []byte(want)) {
		return roster.Errorf(roster.EFORBIDDEN, "This form expired or came from another site: reload the page and try again")
	}
	return nil
}

// base builds the page frame for a logged-in user.
func (c *Console) base(w http.ResponseWriter, r *http.Request, u roster.User, session, title string) *page {
	p := &page{Title: title, User: &u, CSRF: c.csrfToken(session), Upgrade: c.opt.UpgradeURL, Support: c.opt.SupportEmail}
	if ms, _, err := c.svc.Memberships(r.Context(), u.ID, roster.Page{Limit: 100}); err == nil {
		p.Accounts = ms
	}
	p.Notice = takeFlash(w, r, session)
	return p
}

// formBody and fileBody are what the console's requests may carry: a
// url-encoded form up to edge.FormMax, or, on the pages of filePages only,
// a multipart form with a file up to edge.UploadMax, held in memory.
// Either is read before the handler, so a body too large (413), stalled
// (408) or multipart where no file is taken (415) gets an error page and
// never reaches a handler as empty fields.
var (
	formBody = edge.Body{Max: edge.FormMax, Form: true}
	fileBody = edge.Body{Max: edge.UploadMax, Files: true, Form: true}
)

// filePages are the pages whose form takes a file (enctype
// multipart/form-data); a test holds the templates to it.
var filePages = map[string]bool{
	"POST /accounts/{id}/team/invite-batch": true,
}

// signedInFirst sends a request without a live session to the login page
// before a byte of its body is read: only a signed-in user gets a file
// upload (up to edge.UploadMax, held in memory) read at all, so strangers
// cannot fill the memory with uploads from many connections. The page
// itself authenticates again, with its permission.
func (c *Console) signedInFirst(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := c.authenticate(r)
		if roster.ErrorCode(err) == roster.EUNAUTHENTICATED {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		} else if err != nil {
			c.fail(w, r, nil, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Register adds every route of the console to mux (routes: the page
// tables, each entry behind its table's wrapper), each with its body
// capped; the pages of filePages read a body only for a signed-in user.
func (c *Console) Register(mux *http.ServeMux) {
	fail := func(w http.ResponseWriter, r *http.Request, err error) { c.fail(w, r, nil, err) }
	forms, files := edge.LimitBody(formBody, fail), edge.LimitBody(fileBody, fail)
	for _, rt := range c.routes() {
		if filePages[rt.pattern] {
			mux.Handle(rt.pattern, c.signedInFirst(files(rt.h)))
			continue
		}
		mux.Handle(rt.pattern, forms(rt.h))
	}
}

func (c *Console) home(w http.ResponseWriter, r *http.Request, v *visit) {
	c.land(w, r, v.u)
}

// land sends a logged-in user to their default account, or their first,
// or Manage Accounts.
func (c *Console) land(w http.ResponseWriter, r *http.Request, u roster.User) {
	if u.DefaultAccountID != "" {
		http.Redirect(w, r, "/accounts/"+u.DefaultAccountID, http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/accounts", http.StatusSeeOther)
}

// switchAccount is the account switcher's form (and the sidebar's
// account links): GET /accounts/switch?account={id}&from={section}. It
// keeps the page: a logged-in member whose role in the target account may
// view the section (the navigation table's permission, active members
// only) goes to /accounts/{id}/{section}; anyone else to the account's
// overview, which answers for itself (404 to a non-member). from is only
// ever a key of the navigation table, never a path.
func (c *Console) switchAccount(w http.ResponseWriter, r *http.Request, v *visit) {
	id := r.URL.Query().Get("account")
	if id == "" || strings.ContainsAny(id, "/?#") {
		http.Redirect(w, r, "/accounts", http.StatusSeeOther)
		return
	}
	to := "/accounts/" + id
	if section, ok := c.switchSection(r, v, id, r.URL.Query().Get("from")); ok {
		to += "/" + section
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// switchSection reports whether the logged-in caller may open the section
// from of account id: from names a page of the navigation (not the
// overview), and the caller is an active member there whose role holds
// its permission.
func (c *Console) switchSection(r *http.Request, v *visit, id, from string) (string, bool) {
	var perm roster.Permission
	for _, n := range navigation {
		if n.key == from && n.key != "overview" {
			perm = n.perm
		}
	}
	if perm == roster.PermissionNone {
		return "", false
	}
	// The one gate decides, as it will when the page is opened: role,
	// suspension and the account's two-factor requirement.
	if !v.signedIn {
		return "", false
	}
	caller := v.caller
	return from, c.svc.Authorize(r.Context(), &caller, id, perm) == nil
}

// noListing serves files only: a folder answers 404, never a listing.
func noListing(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}
