package console_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"mime/multipart"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/rosterhq/roster/server/servertest"
)

// accessFixture is a committed account with its owner and a developer
// (who holds neither team.view nor team.edit), both using the console.
type accessFixture struct {
	e          *servertest.Env
	acct       string
	owner, dev *formClient
	api        *servertest.Client
	devID      int64
}

func newAccessFixture(t *testing.T) *accessFixture {
	e := servertest.New(t)
	api, acct := e.SignUp(t, "olga@acme-corp.com", "Olga Owner")
	e.Commit(t, acct)
	dev, devID := e.Join(t, api, acct, "dev@acme-corp.com", "developer")
	return &accessFixture{e: e, acct: acct, owner: newFormClient(t, e, api), dev: newFormClient(t, e, dev), api: api, devID: devID}
}

func (f *accessFixture) path(rest string) string { return "/accounts/" + f.acct + rest }

// roles reads the access review as CSV (as the owner): email -> role.
func (f *accessFixture) roles(t *testing.T) map[string]string {
	t.Helper()
	a := f.owner.get(f.path("/team/access.csv"))
	if a.Status != 200 {
		t.Fatalf("access.csv: %d", a.Status)
	}
	recs, err := csv.NewReader(strings.NewReader(a.Body)).ReadAll()
	if err != nil {
		t.Fatalf("access.csv: %v", err)
	}
	out := map[string]string{}
	for _, rec := range recs[1:] {
		out[rec[1]] = rec[3]
	}
	return out
}

func (f *accessFixture) invitations(t *testing.T) int {
	t.Helper()
	return f.api.Must(200, "GET", "/v1/accounts/"+f.acct+"/invitations", nil).Total()
}

func oneH1(t *testing.T, what string, a answer) {
	t.Helper()
	if n := strings.Count(a.Body, "<h1"); n != 1 {
		t.Errorf("%s has %d h1", what, n)
	}
}

func TestConsole_RolePreview(t *testing.T) {
	f := newAccessFixture(t)
	preview := f.path(fmt.Sprintf("/team/members/%d/role/preview", f.devID))

	// The Team page's role form leads to the preview, which changes nothing.
	f.owner.get(f.path("/team")).want(t, "team", 200, `action="`+preview+`"`)
	a := f.owner.get(preview + "?role=support")
	a.want(t, "preview developer -> support", 200, "Change the role of", `id="gained"`, `data-permission="billing.view"`, "View payments and billing",
		`id="lost"`, `data-permission="numbers.edit"`, "Edit phone numbers", `data-permission="credentials.view"`, "Save role change",
		`action="`+f.path(fmt.Sprintf("/team/members/%d/role", f.devID))+`"`, `name="role" value="support"`, `href="`+f.path("/team")+`"`)
	oneH1(t, "the preview", a)
	gained := a.Body[strings.Index(a.Body, `id="gained"`):strings.Index(a.Body, `id="lost-heading"`)]
	if strings.Contains(gained, "numbers.edit") || !strings.Contains(gained, "billing.view") {
		t.Errorf("gained lists the wrong permissions: %s", gained)
	}
	if got := f.roles(t)["dev@acme-corp.com"]; got != "developer" {
		t.Errorf("the preview changed the role to %s", got)
	}
	// POST works as GET (with the form's token).
	f.owner.post(preview, url.Values{"role": {"finance_analyst"}}).want(t, "preview by POST", 200, `data-permission="billing.edit"`, "Edit payments and billing")

	// Refusals are shown on the Team page, in words, as an alert.
	f.owner.get(preview+"?role=owner").want(t, "preview to owner", 403, `role="alert"`, "owner role")
	f.owner.get(preview+"?role=boss").want(t, "preview to an unknown role", 400, `role="alert"`, "Unknown role")
	f.owner.get(f.path("/team/members/999999/role/preview?role=support")).want(t, "preview of no one", 404)

	// A role without team.edit sees no preview and cannot save a change.
	f.dev.get(preview+"?role=support").want(t, "developer's preview", 403, "team.edit")
	f.dev.get(f.path(""))
	f.dev.post(f.path(fmt.Sprintf("/team/members/%d/role", f.devID)), url.Values{"role": {"admin"}}).want(t, "developer saving a role", 403)
	f.dev.post(preview, url.Values{"role": {"admin"}}).want(t, "developer's preview by POST", 403)
	if got := f.roles(t)["dev@acme-corp.com"]; got != "developer" {
		t.Errorf("a refused role change left the role %s", got)
	}

	// A preview of the role they hold changes nothing: no save button, a
	// sentence saying so; and the save itself is refused, nothing changed
	// and nothing audited.
	same := f.owner.get(preview + "?role=developer")
	same.want(t, "preview of the same role", 200, `id="no-change"`, "nothing to save")
	if strings.Contains(same.Body, `id="save-role"`) {
		t.Error("a preview with no change offers to save it")
	}
	audits := f.e.Count(t, "SELECT count(*) FROM audit_events")
	refused := f.owner.post(f.path(fmt.Sprintf("/team/members/%d/role", f.devID)), url.Values{"role": {"developer"}})
	refused.want(t, "saving the same role", 400, `role="alert"`, "Developer already")
	if got := f.roles(t)["dev@acme-corp.com"]; got != "developer" {
		t.Errorf("a refused same-role change left the role %s", got)
	}
	if n := f.e.Count(t, "SELECT count(*) FROM audit_events"); n != audits {
		t.Errorf("a refused same-role change wrote %d audit events", n-audits)
	}

	// Saving from the preview: the direct POST, as before.
	f.owner.get(preview + "?role=support")
	a = f.owner.post(f.path(fmt.Sprintf("/team/members/%d/role", f.devID)), url.Values{"role": {"support"}})
	if a.Status != 303 {
		t.Fatalf("save: %d", a.Status)
	}
	if got := f.roles(t)["dev@acme-corp.com"]; got != "support" {
		t.Errorf("after saving the role is %s", got)
	}
}

func TestConsole_AccessReview(t *testing.T) {
	f := newAccessFixture(t)
	f.api.Must(201, "POST", "/v1/accounts/"+f.acct+"/invitations", map[string]string{"email": "fin@acme-corp.com", "role": "finance_analyst"})

	f.owner.get(f.path("/team")).want(t, "team", 200, `href="`+f.path("/team/access")+`"`)
	a := f.owner.get(f.path("/team/access"))
	a.want(t, "access review", 200, "<h1>Access review</h1>", "<caption>Members 1–2 of 2", `id="access-invitations"`, `data-access="olga@acme-corp.com"`,
		`data-access="dev@acme-corp.com"`, `data-access="fin@acme-corp.com"`, `<th scope="colgroup" colspan="2" class="area">Billing</th>`, `title="Edit payments and billing (billing.edit)" data-permission="billing.edit"`,
		`<span class="visually-hidden">Edit payments and billing</span>`,
		`<span class="visually-hidden">Yes</span>`, `<span class="visually-hidden">No</span>`, `<label for="access-permission">`,
		`href="`+f.path("/team/access.csv")+`"`)
	oneH1(t, "the access review", a)

	// A person's access, in words, grouped by area; the review links to it.
	person := f.path(fmt.Sprintf("/team/access/members/%d", f.devID))
	if !strings.Contains(a.Body, `href="`+person+`"`) {
		t.Errorf("the review does not link to the developer's access %s", person)
	}
	p := f.owner.get(person)
	p.want(t, "a person's access", 200, "Access of ", "Developer", `data-permission="numbers.edit"`, "Allowed</span>: Edit phone numbers",
		"Not allowed</span>: Edit payments and billing", ">Phone numbers</h2>")
	oneH1(t, "a person's access", p)
	f.owner.get(f.path("/team/access/members/999999")).want(t, "no such person", 404)
	f.dev.get(person).want(t, "a developer reading access", 403)

	a = f.owner.get(f.path("/team/access?permission=billing.edit"))
	a.want(t, "filtered review", 200, `data-access="olga@acme-corp.com"`, `data-access="fin@acme-corp.com"`,
		`<option value="billing.edit" selected>`, `href="`+f.path("/team/access.csv?permission=billing.edit")+`"`)
	if strings.Contains(a.Body, `data-access="dev@acme-corp.com"`) {
		t.Error("the developer is listed as holding billing.edit")
	}
	f.owner.get(f.path("/team/access?permission=everything")).want(t, "unknown permission", 400,
		`id="access-permission-error" role="alert"`, `aria-invalid="true"`)

	c := f.owner.get(f.path("/team/access.csv?permission=numbers.edit"))
	if c.Status != 200 || !strings.HasPrefix(c.Header.Get("Content-Type"), "text/csv") ||
		!strings.HasPrefix(c.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("csv: %d %q %q", c.Status, c.Header.Get("Content-Type"), c.Header.Get("Content-Disposition"))
	}
	recs, err := csv.NewReader(strings.NewReader(c.Body)).ReadAll()
	if err != nil || len(recs) != 3 || recs[0][1] != "email" || recs[0][5] != "reason" || recs[0][6] != "numbers.view" {
		t.Errorf("csv of numbers.edit holders: %v %v", recs, err)
	}

	// A role without team.view sees neither.
	f.dev.get(f.path("/team/access")).want(t, "developer's review", 403, "team.view")
	// The refusal names the owner to ask (by design), but holds no review.
	if c := f.dev.get(f.path("/team/access.csv")); c.Status != 403 || strings.HasPrefix(c.Header.Get("Content-Type"), "text/csv") ||
		strings.Contains(c.Body, "kind,email") || strings.Contains(c.Body, "dev@acme-corp.com,") {
		t.Errorf("developer's csv: %d %s", c.Status, c.Header.Get("Content-Type"))
	}
}

// postMultipart sends the batch form with a file, as a browser does.
func postMultipart(t *testing.T, k *formClient, path string, fields map[string]string, file string) answer {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("csrf", k.csrf)
	for n, v := range fields {
		mw.WriteField(n, v)
	}
	fw, _ := mw.CreateFormFile("file", "team.csv")
	fw.Write([]byte(file))
	mw.Close()
	return k.keep(k.c.HTTP.Post(k.e.URL+path, mw.FormDataContentType(), &buf))
}

func TestConsole_InviteBatch(t *testing.T) {
	f := newAccessFixture(t)
	f.owner.get(f.path("/team")).want(t, "team", 200, `id="batch-form"`, `enctype="multipart/form-data"`, `<label for="batch-invitations">`, `<label for="batch-file">`)

	// Refused for a role without team.edit: nothing made.
	f.dev.get(f.path(""))
	f.dev.post(f.path("/team/invite-batch"), url.Values{"invitations": {"x@acme-corp.com, admin"}}).want(t, "developer's batch", 403)
	if n := f.invitations(t); n != 0 {
		t.Fatalf("a refused batch made %d invitations", n)
	}
	// Too many rows, or none: refused whole, at the field.
	var many strings.Builder
	for i := range 101 {
		fmt.Fprintf(&many, "user%d@acme-corp.com\n", i)
	}
	f.owner.post(f.path("/team/invite-batch"), url.Values{"invitations": {many.String()}}).
		want(t, "101 rows", 400, `id="batch-error" role="alert"`, "at most 100")
	f.owner.post(f.path("/team/invite-batch"), url.Values{"invitations": {"\n\n"}}).want(t, "no rows", 400, `id="batch-error"`)
	if n := f.invitations(t); n != 0 {
		t.Fatalf("refused batches made %d invitations", n)
	}

	// Mixed rows, pasted: each on its own.
	a := f.owner.post(f.path("/team/invite-batch"), url.Values{"invitations": {
		"ana@acme-corp.com, developer\nbob@gmail.com, admin\ncy@acme-corp.com, owner\ndee@acme-corp.com\n"}})
	a.want(t, "mixed batch", 200, `id="batch-results"`, "2 of 4 invitations sent", "<caption>",
		`data-batch="ana@acme-corp.com" data-outcome="created"`, `data-batch="bob@gmail.com" data-outcome="refused"`,
		"personal email provider", `data-batch="cy@acme-corp.com" data-outcome="refused"`, `data-batch="dee@acme-corp.com" data-outcome="created"`)
	if n := f.invitations(t); n != 2 {
		t.Errorf("the batch made %d invitations, want 2", n)
	}
	if r := f.roles(t); r["ana@acme-corp.com"] != "developer" || r["dee@acme-corp.com"] != "support" {
		t.Errorf("roles after the batch: %v", r)
	}

	// A CSV file, with a header.
	a = postMultipart(t, f.owner, f.path("/team/invite-batch"), nil, "email,role\neve@acme-corp.com,admin\n\"fay@acme-corp.com\",nobody\n")
	a.want(t, "file batch", 200, "1 of 2 invitations sent", `data-batch="eve@acme-corp.com" data-outcome="created"`, "Unknown role")
	if n := f.invitations(t); n != 3 {
		t.Errorf("after the file: %d invitations, want 3", n)
	}
}

func TestConsole_InviteBatchNeedsCommittedPlan(t *testing.T) {
	e := servertest.New(t)
	api, acct := e.SignUp(t, "olga@acme-corp.com", "Olga Owner")
	k := newFormClient(t, e, api)
	k.get("/accounts/" + acct + "/team")
	a := k.post("/accounts/"+acct+"/team/invite-batch", url.Values{"invitations": {"ana@acme-corp.com, developer"}})
	if a.Status < 400 || !strings.Contains(a.Body, `role="alert"`) {
		t.Errorf("a batch on the standard plan: %d", a.Status)
	}
	if n := api.Must(200, "GET", "/v1/accounts/"+acct+"/invitations", nil).Total(); n != 0 {
		t.Errorf("made %d invitations", n)
	}
}

// TestConsole_AccessInChromium: the owner previews and saves a role
// change, filters the access review, downloads its CSV, and invites a
// batch with good and bad lines.
func TestConsole_AccessInChromium(t *testing.T) {
	browser := newBrowser(t)
	f := newAccessFixture(t)
	owner := newTab(t, browser, f.e.URL, "owner")
	owner.login("olga@acme-corp.com")

	// Preview, then save.
	owner.open(f.path("/team"))
	owner.rowMenu("dev@acme-corp.com")
	owner.fill("tr[data-member='dev@acme-corp.com'] select", "finance_analyst")
	owner.submit("button[data-change-role='dev@acme-corp.com']")
	if !strings.HasSuffix(owner.path(), "/role/preview") {
		t.Fatalf("changing a role did not show the preview: %s", owner.location())
	}
	if g, l := owner.text("#gained"), owner.text("#lost"); !strings.Contains(g, "Edit payments and billing") || !strings.Contains(l, "View phone numbers") {
		t.Errorf("preview: gained %q, lost %q", g, l)
	}
	owner.screenshot("20-role-preview")
	owner.submit("#save-role")
	if !strings.Contains(owner.text(".notice"), "Finance analyst") {
		t.Errorf("after saving: %s", owner.text("main"))
	}

	// The access review, filtered.
	owner.submit("#access-link")
	owner.fill("#access-permission", "billing.edit")
	owner.submit("#access-filter button[type=submit]")
	if !strings.Contains(owner.location(), "permission=billing.edit") {
		t.Errorf("filter: %s", owner.location())
	}
	var rows []string
	owner.eval(`[...document.querySelectorAll('#access tbody tr[data-access]')].map(r => r.dataset.access)`, &rows)
	if strings.Join(rows, " ") != "olga@acme-corp.com dev@acme-corp.com" {
		t.Errorf("holders of billing.edit: %v", rows)
	}
	owner.screenshot("21-access-review")

	// The CSV, fetched with the browser's own cookies.
	ctx, cancel := chromedpTimeout(owner)
	defer cancel()
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch(document.querySelector('#access-csv').href).then(async r =>
		r.status + '|' + r.headers.get('content-type') + '|' + r.headers.get('content-disposition') + '|' + await r.text())`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.SplitN(got, "|", 4)
	if len(parts) != 4 || parts[0] != "200" || !strings.HasPrefix(parts[1], "text/csv") || !strings.HasPrefix(parts[2], "attachment") ||
		!strings.Contains(parts[3], "dev@acme-corp.com,Invitee,finance_analyst") || !strings.HasPrefix(parts[3], "kind,email") {
		t.Errorf("csv download: %q", got)
	}

	// A batch with good and bad lines.
	owner.open(f.path("/team"))
	owner.openInvite()
	owner.fill("#batch-invitations", "ana@acme-corp.com, developer\nbob@gmail.com\nfay@acme-corp.com, nobody\ndee@acme-corp.com")
	owner.submit("#batch-submit")
	var outcomes []string
	owner.eval(`[...document.querySelectorAll('#batch-results tbody tr')].map(r => r.dataset.batch + ':' + r.dataset.outcome)`, &outcomes)
	want := "ana@acme-corp.com:created bob@gmail.com:refused fay@acme-corp.com:refused dee@acme-corp.com:created"
	if strings.Join(outcomes, " ") != want {
		t.Errorf("batch outcomes %v, want %s", outcomes, want)
	}
	owner.screenshot("22-bulk-invite")
}

func chromedpTimeout(b *tab) (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.ctx, 20*time.Second)
}
