package console

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service"
)

// anyMember marks a page any member of the account may open.
const anyMember = roster.AnyMember

// accountPageDef is one entry of the console's page table: every page
// under /accounts/{id} names the permission it needs, as the API's routes do.
type accountPageDef struct {
	pattern string
	perm    roster.Permission
	nav     string
	title   string
	handle  func(c *Console, w http.ResponseWriter, r *http.Request, x *actx) error
}

// actx is a request on an account page, already authorized.
type actx struct {
	u       roster.User
	session string
	a       roster.Account
	role    roster.Role
	caller  *service.Caller // the caller the gate authorized: ask it what they may do here (Can)
	p       *page
	ip      string
}

func (x *actx) actor(r *http.Request) roster.Actor {
	return roster.Actor{UserID: x.u.ID, Email: x.u.Email, IP: x.ip}
}

func (x *actx) path(rest string) string { return "/accounts/" + x.a.ID + rest }

// navigation is the menu, in order; each entry shows only to roles that
// may view it.
var navigation = []struct {
	key, label string
	perm       roster.Permission
}{
	{"overview", "Overview", anyMember},
	{"numbers", "Phone Numbers", roster.NumbersView},
	{"applications", "Applications", roster.ApplicationsView},
	{"logs", "Logs", roster.LogsView},
	{"billing", "Payments & Billing", roster.BillingView},
	{"pricing", "Pricing", roster.PricingView},
	{"settings", "Settings", roster.SettingsView},
	{"credentials", "Credentials", roster.CredentialsView},
	{"team", "Team", roster.TeamView},
	{"webhooks", "Webhooks", roster.TeamView},
	{"audit", "Audit Log", roster.AuditView},
}

func accountPages() []accountPageDef {
	const A = "/accounts/{id}"
	return append([]accountPageDef{
		{"GET " + A, anyMember, "overview", "Overview", (*Console).overview},
		{"POST " + A + "/leave", anyMember, "overview", "Overview", (*Console).leave},
		{"GET " + A + "/leave", anyMember, "overview", "Leave account", (*Console).confirmLeave},
		{"GET " + A + "/team", roster.TeamView, "team", "Team", (*Console).team},
		{"GET " + A + "/team/roles", anyMember, "team", "Roles", (*Console).rolesPage},
		{"GET " + A + "/team/invite", roster.TeamEdit, "team", "Invite people", (*Console).invitePeople},
		{"POST " + A + "/team/invite", roster.TeamEdit, "team", "Team", (*Console).invite},
		{"POST " + A + "/team/members/{uid}/role", roster.TeamEdit, "team", "Team", (*Console).memberRole},
		{"GET " + A + "/team/members/{uid}/role/preview", roster.TeamEdit, "team", "Change role", (*Console).rolePreview},
		{"POST " + A + "/team/members/{uid}/role/preview", roster.TeamEdit, "team", "Change role", (*Console).rolePreview},
		{"GET " + A + "/team/access", roster.TeamView, "team", "Access review", (*Console).accessPage},
		{"GET " + A + "/team/access.csv", roster.TeamView, "team", "Access review", (*Console).accessCSV},
		{"GET " + A + "/team/access/members/{uid}", roster.TeamView, "team", "Access of a member", (*Console).personAccess},
		{"POST " + A + "/team/invite-batch", roster.TeamEdit, "team", "Team", (*Console).inviteBatch},
		{"GET " + A + "/team/members/{uid}/delete", roster.TeamEdit, "team", "Remove from this account", (*Console).confirmDelete},
		{"POST " + A + "/team/members/{uid}/delete", roster.TeamEdit, "team", "Team", (*Console).deleteMember},
		{"POST " + A + "/team/invitations/{inv}/role", roster.TeamEdit, "team", "Team", (*Console).invitationRole},
		{"POST " + A + "/team/invitations/{inv}/resend", roster.TeamEdit, "team", "Team", (*Console).resend},
		{"GET " + A + "/team/invitations/{inv}/revoke", roster.TeamEdit, "team", "Revoke invitation", (*Console).confirmRevoke},
		{"POST " + A + "/team/invitations/{inv}/revoke", roster.TeamEdit, "team", "Team", (*Console).revoke},
		{"GET " + A + "/audit", roster.AuditView, "audit", "Audit Log", (*Console).audit},
		{"GET " + A + "/audit.csv", roster.AuditView, "audit", "Audit Log", (*Console).auditCSV},
		{"GET " + A + "/numbers", roster.NumbersView, "numbers", "Phone Numbers", (*Console).numbers},
		{"POST " + A + "/numbers", roster.NumbersEdit, "numbers", "Phone Numbers", (*Console).addNumber},
		{"POST " + A + "/numbers/{number}/release", roster.NumbersEdit, "numbers", "Phone Numbers", (*Console).releaseNumber},
		{"GET " + A + "/applications", roster.ApplicationsView, "applications", "Applications", (*Console).applications},
		{"POST " + A + "/applications", roster.ApplicationsEdit, "applications", "Applications", (*Console).createApplication},
		{"POST " + A + "/applications/{app}/delete", roster.ApplicationsEdit, "applications", "Applications", (*Console).deleteApplication},
		{"GET " + A + "/logs", roster.LogsView, "logs", "Logs", (*Console).logs},
		{"GET " + A + "/billing", roster.BillingView, "billing", "Payments & Billing", (*Console).billing},
		{"POST " + A + "/billing/recharges", roster.BillingEdit, "billing", "Payments & Billing", (*Console).recharge},
		{"POST " + A + "/billing/payment-methods", roster.BillingEdit, "billing", "Payments & Billing", (*Console).addCard},
		{"GET " + A + "/pricing", roster.PricingView, "pricing", "Pricing", (*Console).pricing},
		{"GET " + A + "/settings", roster.SettingsView, "settings", "Settings", (*Console).settings},
		{"POST " + A + "/settings", roster.SettingsEdit, "settings", "Settings", (*Console).saveSettings},
		{"POST " + A + "/settings/security", roster.TeamEdit, "settings", "Settings", (*Console).saveSecurity},
		{"GET " + A + "/webhooks", roster.TeamView, "webhooks", "Webhooks", (*Console).webhooks},
		{"POST " + A + "/webhooks", roster.TeamEdit, "webhooks", "Webhooks", (*Console).createWebhook},
		{"POST " + A + "/webhooks/{wh}/enable", roster.TeamEdit, "webhooks", "Webhooks", (*Console).enableWebhook},
		{"POST " + A + "/webhooks/{wh}/disable", roster.TeamEdit, "webhooks", "Webhooks", (*Console).disableWebhook},
		{"GET " + A + "/webhooks/{wh}/delete", roster.TeamEdit, "webhooks", "Delete webhook", (*Console).confirmDeleteWebhook},
		{"POST " + A + "/webhooks/{wh}/delete", roster.TeamEdit, "webhooks", "Webhooks", (*Console).deleteWebhook},
		{"GET " + A + "/webhooks/{wh}/deliveries", roster.TeamView, "webhooks", "Webhook deliveries", (*Console).webhookDeliveries},
		{"POST " + A + "/webhooks/{wh}/test", roster.TeamEdit, "webhooks", "Webhook deliveries", (*Console).testWebhook},
		{"POST " + A + "/webhooks/{wh}/deliveries/{did}/redeliver", roster.TeamEdit, "webhooks", "Webhook deliveries", (*Console).redeliver},
		{"GET " + A + "/credentials", roster.CredentialsView, "credentials", "Credentials", (*Console).credentials},
		{"POST " + A + "/credentials/reveal", roster.CredentialsView, "credentials", "Credentials", (*Console).revealCredentials},
		{"POST " + A + "/credentials/rotate", roster.CredentialsEdit, "credentials", "Credentials", (*Console).rotate},
		{"GET " + A + "/numbers/{number}/edit", roster.NumbersEdit, "numbers", "Edit number", (*Console).editNumber},
		{"POST " + A + "/numbers/{number}/edit", roster.NumbersEdit, "numbers", "Edit number", (*Console).saveNumber},
		{"GET " + A + "/numbers/{number}/release", roster.NumbersEdit, "numbers", "Release number", (*Console).confirmRelease},
		{"GET " + A + "/applications/{app}/edit", roster.ApplicationsEdit, "applications", "Edit application", (*Console).editApplication},
		{"POST " + A + "/applications/{app}/edit", roster.ApplicationsEdit, "applications", "Edit application", (*Console).saveApplication},
		{"GET " + A + "/applications/{app}/delete", roster.ApplicationsEdit, "applications", "Delete application", (*Console).confirmDeleteApplication},
		{"POST " + A + "/billing/auto-recharge", roster.BillingEdit, "billing", "Payments & Billing", (*Console).autoRecharge},
		{"GET " + A + "/billing/payment-methods/{pm}/remove", roster.BillingEdit, "billing", "Remove card", (*Console).confirmRemoveCard},
		{"POST " + A + "/billing/payment-methods/{pm}/remove", roster.BillingEdit, "billing", "Payments & Billing", (*Console).removeCard},
		{"GET " + A + "/credentials/rotate", roster.CredentialsEdit, "credentials", "Rotate Auth Token", (*Console).confirmRotate},
	}, append(ssoPages(), provisioningPages()...)...)
}

// accountPage authenticates, checks the page's permission, and builds the
// frame: a 404 page for a non-member, a 403 page naming the roles that may
// open it otherwise.
func (c *Console) accountPage(pg accountPageDef) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, err := c.authenticate(r)
		if roster.ErrorCode(err) == roster.EUNAUTHENTICATED {
			http.Redirect(w, r, "/login?next="+urlEscape(r.URL.Path), http.StatusSeeOther)
			return
		} else if err != nil {
			c.fail(w, r, nil, err)
			return
		}
		caller.IP = c.proxies.ClientIP(r)
		p := c.base(w, r, caller.User, caller.Session, pg.title)
		if r.Method == http.MethodPost {
			if err := c.checkCSRF(r, caller.Session); err != nil {
				c.fail(w, r, p, err)
				return
			}
		}
		// The one gate, as the API uses it; this table only names the page's need.
		err = c.svc.Authorize(r.Context(), &caller, r.PathValue("id"), pg.perm)
		if caller.Role != roster.RoleNone {
			a := caller.Account
			p.Account, p.Role, p.Active, p.Status = &a, caller.Role, pg.nav, caller.Status
			p.EnrolMFA = caller.Held.Reason == mfaRequired
			for _, n := range navigation {
				if n.perm == anyMember || caller.Can(n.perm) {
					href := "/accounts/" + a.ID
					if n.key != "overview" {
						href += "/" + n.key
					}
					p.Nav = append(p.Nav, navItem{n.key, n.label, href})
				}
			}
		}
		// A refusal says in words what the page needs, which roles have
		// it, and who can change the caller's access.
		if code := roster.ErrorCode(err); code == roster.EFORBIDDEN ||
			(code == roster.EPLANREQUIRED && caller.Status == roster.MemberSuspended) {
			err = c.refuse(r.Context(), p, caller, pg.perm, err)
		}
		if err != nil {
			c.fail(w, r, p, err)
			return
		}
		x := &actx{u: caller.User, session: caller.Session, a: caller.Account, role: caller.Role, caller: &caller, p: p, ip: caller.IP}
		if r.Method == http.MethodGet {
			// What the form that sent the browser here said: the
			// handler renders the page as ever, and the templates show it.
			p.State = c.takeState(w, r, x.session)
			p.State.fill(w, p)
		}
		if err := pg.handle(c, w, r, x); err != nil {
			c.fail(w, r, p, err)
		}
	})
}

func urlEscape(s string) string {
	return strings.NewReplacer("?", "%3F", "&", "%26", "#", "%23").Replace(s)
}

// mfaRequired is service.Held's reason for a member who holds nothing
// until they turn on the two-factor sign-in the account requires.
const mfaRequired = "mfa_required"

// --- overview

type overviewData struct {
	Permissions []string // in words: "View phone numbers"
	Reason      string   // why none: "suspended" or "mfa_required" (service.Held)
	// FirstSteps are the links of an empty account (see emptyAccount)
	// that the caller's role allows, in order; none otherwise.
	FirstSteps []link
}

// overview shows what the caller holds here as the gate decided it: none
// while suspended or without the two-factor sign-in the account requires.
// An empty account adds its first steps.
func (c *Console) overview(w http.ResponseWriter, r *http.Request, x *actx) error {
	d := overviewData{Reason: x.caller.Held.Reason}
	for _, p := range x.caller.Permissions() {
		d.Permissions = append(d.Permissions, p.Phrase())
	}
	if steps := firstSteps(x); len(steps) > 0 {
		var err error
		if d.FirstSteps, err = c.firstStepsDue(r, x, steps); err != nil {
			return err
		}
	}
	x.p.Data = d
	c.render(w, http.StatusOK, "overview", x.p)
	return nil
}

// firstSteps are the first things to do in a new account, each a link
// shown only when the caller may do it (the gate's answer, Can): invite the
// team, add a number, get the API credentials.
func firstSteps(x *actx) []link {
	var out []link
	for _, s := range []struct {
		perm       roster.Permission
		path, text string
		id         string
	}{
		{roster.TeamEdit, "/team", "Invite your team", "step-invite"},
		{roster.NumbersEdit, "/numbers", "Add a phone number", "step-number"},
		{roster.CredentialsView, "/credentials", "Get your API credentials", "step-credentials"},
	} {
		if x.caller.Can(s.perm) {
			out = append(out, link{Href: x.path(s.path), Text: s.text, ID: s.id})
		}
	}
	return out
}

// firstStepsDue keeps the steps while the account is empty: no phone
// number and no application yet (nothing built on it). The invitation
// step goes once the owner is not alone (another member, or one invited).
// Once a number or an application exists, none is shown again.
func (c *Console) firstStepsDue(r *http.Request, x *actx, steps []link) ([]link, error) {
	ctx, one := r.Context(), roster.Page{Limit: 1}
	if _, n, err := c.svc.Numbers(ctx, x.a, "", one); err != nil || n > 0 {
		return nil, err
	}
	if _, n, err := c.svc.Applications(ctx, x.a, one); err != nil || n > 0 {
		return nil, err
	}
	_, members, _, err := c.svc.Members(ctx, x.a, one)
	if err != nil {
		return nil, err
	}
	_, invited, err := c.svc.Invitations(ctx, x.a, one)
	if err != nil {
		return nil, err
	}
	if members > 1 || invited > 0 {
		steps = slices.DeleteFunc(steps, func(l link) bool { return l.ID == "step-invite" })
	}
	return steps, nil
}

func (c *Console) leave(w http.ResponseWriter, r *http.Request, x *actx) error {
	if err := c.svc.Leave(r.Context(), x.u, x.a.ID, x.actor(r).IP); err != nil {
		c.after(w, r, x, x.path(""), "", err)
		return nil
	}
	c.done(w, r, x.session, "/accounts", "You left "+x.a.Name+".")
	return nil
}

// --- team

// invite sends one invitation; a refusal is shown on the invite page
// (the dialog's own page), with what was typed.
func (c *Console) invite(w http.ResponseWriter, r *http.Request, x *actx) error {
	inv, err := c.svc.Invite(r.Context(), x.a, r.PostFormValue("email"), r.PostFormValue("role"), x.actor(r))
	if err != nil {
		c.after(w, r, x, x.path("/team/invite"), "", err)
		return nil
	}
	c.done(w, r, x.session, x.path("/team"), "Invitation sent to "+inv.Email+" as "+inv.Role.Label()+".")
	return nil
}

func formInt(r *http.Request, name string) int64 {
	n, _ := strconv.ParseInt(r.PathValue(name), 10, 64)
	return n
}

func (c *Console) memberRole(w http.ResponseWriter, r *http.Request, x *actx) error {
	m, err := c.svc.ChangeMemberRole(r.Context(), x.a, formInt(r, "uid"), r.PostFormValue("role"), x.actor(r))
	c.after(w, r, x, x.path("/team"), "Role changed: "+m.Name+" ("+m.Email+") is now "+m.Role.Label()+".", err)
	return nil
}

func (c *Console) confirmDelete(w http.ResponseWriter, r *http.Request, x *actx) error {
	m, err := c.svc.Member(r.Context(), x.a, formInt(r, "uid"))
	if roster.ErrorCode(err) == roster.ENOTFOUND {
		return roster.Errorf(roster.ENOTFOUND, "No such user in this account")
	} else if err != nil {
		return err // the database failed: 503
	}
	cf := confirmation{
		Heading: "Remove " + m.Name + " from this account?", Lead: "This is irreversible.",
		Body: []string{m.Email + " loses access to " + x.a.Name + " at once: their sessions stop working here and " +
			"their API keys for this account are deleted. To give access again you must send a new invitation."},
		Action: x.path("/team/members/" + strconv.FormatInt(m.UserID, 10) + "/delete"), Button: "Remove from this account",
		ButtonID: "confirm-delete", Back: x.path("/team")}
	if cf.Warning, err = c.tokenWarning(r, x, m); err != nil {
		return err
	}
	if cf.Warning != nil && x.caller.Can(roster.CredentialsEdit) {
		cf.Link = &link{Href: x.path("/credentials/rotate"), Text: "Rotate the Auth Token…", ID: "rotate-token"}
	}
	return c.confirm(w, x, cf)
}

// tokenWarning says, before a member is removed, what removing them does
// not undo: a role that can view credentials (Owner, Admin, Developer)
// could read the account's Auth Token, and the audit log tells whether
// they did. nil when the account has no token yet, or when neither their
// role nor the log says they could.
func (c *Console) tokenWarning(r *http.Request, x *actx, m roster.Member) ([]string, error) {
	tr, err := c.svc.TokenReadsBy(r.Context(), x.a, m.UserID)
	if err != nil {
		return nil, err
	}
	canRead := service.RoleAllows(m.Role, roster.CredentialsView)
	if !tr.TokenExists || tr.Reads == 0 && !canRead {
		return nil, nil // no token yet, or nothing says they could read it
	}
	reads, last := tr.Reads, tr.Last
	var out []string
	if canRead {
		out = append(out, m.Name+" is "+article(m.Role.Label())+" "+m.Role.Label()+", a role that can view the account's Auth Token.")
	}
	if reads > 0 {
		out = append(out, "The audit log shows "+m.Name+" reading the Auth Token in use now "+times(reads)+", last on "+
			last.UTC().Format("2 January 2006 at 15:04 UTC")+".")
	} else {
		out = append(out, "The audit log shows no reading of the Auth Token in use now by "+m.Name+".")
	}
	return append(out, "Removing them does not change the token: if they may have kept a copy, rotate it after removing them."), nil
}

// article is "an" before a vowel sound of the role labels, else "a".
func article(word string) string {
	if word != "" && strings.ContainsRune("AEIOU", rune(word[0])) {
		return "an"
	}
	return "a"
}

// times says a count of times in words: "once", "twice", "3 times".
func times(n int) string {
	switch n {
	case 1:
		return "once"
	case 2:
		return "twice"
	}
	return strconv.Itoa(n) + " times"
}

func (c *Console) deleteMember(w http.ResponseWriter, r *http.Request, x *actx) error {
	m, _ := c.svc.Member(r.Context(), x.a, formInt(r, "uid"))
	err := c.svc.DeleteMember(r.Context(), x.a, formInt(r, "uid"), x.actor(r))
	msg := "Removed from this account: " + m.Email + " no longer has access to " + x.a.Name + "."
	if service.RoleAllows(m.Role, roster.CredentialsView) {
		msg += " Their role could view the Auth Token: the Credentials page offers rotating it."
	}
	c.after(w, r, x, x.path("/team"), msg, err)
	return nil
}

func (c *Console) invitationRole(w http.ResponseWriter, r *http.Request, x *actx) error {
	inv, err := c.svc.SetInvitationRole(r.Context(), x.a, formInt(r, "inv"), r.PostFormValue("role"), x.actor(r))
	c.after(w, r, x, x.path("/team"), "Role changed: the invitation to "+inv.Email+" is now for "+inv.Role.Label()+".", err)
	return nil
}

func (c *Console) resend(w http.ResponseWriter, r *http.Request, x *actx) error {
	inv, err := c.svc.ResendInvitation(r.Context(), x.a, formInt(r, "inv"), x.actor(r))
	c.after(w, r, x, x.path("/team"), "Invitation sent again to "+inv.Email+".", err)
	return nil
}

// revoke does what the confirmation (confirmRevoke) describes.
func (c *Console) revoke(w http.ResponseWriter, r *http.Request, x *actx) error {
	msg := "Invitation revoked: its link no longer works."
	if inv, err := c.pendingInvitation(r.Context(), x.a, formInt(r, "inv")); err == nil {
		msg = "Invitation to " + inv.Email + " revoked."
	}
	err := c.svc.RevokeInvitation(r.Context(), x.a, formInt(r, "inv"), x.actor(r))
	c.after(w, r, x, x.path("/team"), msg, err)
	return nil
}

// --- areas

type listData[T any] struct {
	Items   []T
	Total   int
	CanEdit bool
	Extra   any
}

func (c *Console) logs(w http.ResponseWriter, r *http.Request, x *actx) error {
	f := roster.LogFilter{Kind: r.URL.Query().Get("kind")}
	recs, total, err := c.svc.Logs(r.Context(), x.a, f, roster.Page{Limit: 100})
	if roster.ErrorCode(err) == roster.EINVALID && f.Kind != "" {
		// An unknown kind is refused next to its select; every record is shown.
		x.p.Error, x.p.Field, x.p.HTTPStatus = roster.ErrorMessage(err), "kind", httpStatus(err)
		f.Kind = ""
		recs, total, err = c.svc.Logs(r.Context(), x.a, f, roster.Page{Limit: 100})
	}
	if err != nil {
		return err
	}
	x.p.Data = listData[roster.LogRecord]{recs, total, false, f.Kind}
	c.render(w, http.StatusOK, "logs", x.p)
	return nil
}

type settingsData struct {
	S       roster.Settings
	CanEdit bool
	// Two-factor sign-in for the account: the requirement as it is, the
	// checkbox as shown (what was sent, after a refusal), and, for those
	// who may change it (team.edit), the members without it.
	RequireMFA  bool
	Checked     bool
	CanSecurity bool
	WithoutMFA  []roster.Member
	MoreMembers bool // the account has more members than were read
	CanWebhooks bool // the Webhooks page is open to the caller (team.view)
	CanSSO      bool // the Single sign-on and Provisioning pages are open to the caller (team.edit)
}

func (c *Console) settings(w http.ResponseWriter, r *http.Request, x *actx) error {
	s, err := c.svc.Settings(r.Context(), x.a)
	if err != nil {
		return err
	}
	d := settingsData{S: s, CanEdit: x.caller.Can(roster.SettingsEdit),
		RequireMFA: x.a.RequireMFA, Checked: x.a.RequireMFA, CanSecurity: x.caller.Can(roster.TeamEdit),
		CanWebhooks: x.caller.Can(roster.TeamView), CanSSO: x.caller.Can(roster.TeamEdit)}
	if x.p.Field == "require_mfa" && x.p.Form != nil {
		d.Checked = x.p.Form.Get("require_mfa") != "" // what was sent, refused
	}
	if d.CanSecurity {
		ms, total, _, err := c.svc.Members(r.Context(), x.a, roster.Page{Limit: 100})
		if err != nil {
			return err
		}
		for _, m := range ms {
			if !m.MFA {
				d.WithoutMFA = append(d.WithoutMFA, m)
			}
		}
		d.MoreMembers = total > len(ms)
	}
	x.p.Data = d
	c.render(w, http.StatusOK, "settings", x.p)
	return nil
}

// saveSecurity turns the account's two-factor requirement on or off. A
// refusal (ECONFLICT: the caller has no two-factor sign-in) is shown next
// to the checkbox; the other form's fields keep their saved values.
func (c *Console) saveSecurity(w http.ResponseWriter, r *http.Request, x *actx) error {
	on := r.PostFormValue("require_mfa") != ""
	a, err := c.svc.SetRequireMFA(r.Context(), x.a, x.u, on, x.actor(r))
	if err != nil {
		if roster.ErrorCode(err) == roster.EINTERNAL {
			c.log.Error("console", "path", r.URL.Path, "err", err)
		}
		// Only the checkbox is refilled: the settings form above shows
		// its saved values.
		st := refused(r, x.path("/settings"), err)
		st.Field, st.Form = "require_mfa", url.Values{"require_mfa": {r.PostFormValue("require_mfa")}}
		c.keepState(w, r, x.session, st)
		return nil
	}
	msg := "Two-factor sign-in is no longer required in " + a.Name + "."
	if a.RequireMFA {
		msg = "Two-factor sign-in is now required for every member of " + a.Name + "."
	}
	c.done(w, r, x.session, x.path("/settings"), msg)
	return nil
}

func (c *Console) saveSettings(w http.ResponseWriter, r *http.Request, x *actx) error {
	f := func(k string) *string { v := r.PostFormValue(k); return &v }
	st, err := c.svc.UpdateSettings(r.Context(), x.a, service.SettingsInput{Name: f("name"), Company: f("company"), Address: f("address"), Timezone: f("timezone")}, x.actor(r))
	name := st.Name // the name just saved, when it changed
	if name == "" {
		name = x.a.Name
	}
	c.after(w, r, x, x.path("/settings"), "Saved "+possessive(name)+" settings.", err)
	return nil
}

func formatUSD(cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	return fmt.Sprintf("%s$%d.%02d", sign, cents/100, cents%100)
}

func formatMicro(v int64) string { return fmt.Sprintf("$%d.%06d", v/1_000_000, v%1_000_000) }
