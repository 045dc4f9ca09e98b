package console

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/edge"
	"github.com/rosterhq/roster/service"
)

// The audit log, for people: who acted by name and address, what they did
// in words, filtered by person and by action, a page at a time, and the
// same filtered list as CSV.

// auditPageSize is how many events one page of the log shows.
const auditPageSize = 50

// maxAuditExport bounds one CSV export: the newest matching events.
const maxAuditExport = 10000

// auditWords says each action in words, without its actor: "changed Ada
// Lovelace's role from Developer to Admin". Every code of
// roster.AuditActions has an entry (a test checks).
var auditWords = map[string]func(e roster.AuditEvent) string{
	"account.create": func(e roster.AuditEvent) string {
		if e.Detail == "sign-up" || e.Detail == "" {
			return "created the account on signing up"
		}
		return "created the account " + quoted(e.Detail)
	},
	"account.plan": func(e roster.AuditEvent) string {
		var plan string
		var usd, months int
		fmt.Sscanf(e.Detail, "%s usd=%d months=%d", &plan, &usd, &months)
		if plan == string(roster.PlanCommitted) {
			return fmt.Sprintf("moved the account to the committed plan ($%d a month for %d months)", usd, months)
		}
		if plan == "" {
			return "changed the plan"
		}
		return "moved the account to the " + plan + " plan"
	},
	"account.require_mfa": func(e roster.AuditEvent) string {
		if e.Detail == "true" {
			return "required two-factor sign-in for every member"
		}
		return "stopped requiring two-factor sign-in"
	},
	"account.require_sso": func(e roster.AuditEvent) string {
		if e.Detail == "true" {
			return "required single sign-on of the members on the account's verified domains"
		}
		return "stopped requiring single sign-on"
	},
	"login.sso_bypass": func(e roster.AuditEvent) string {
		return "used the account as its owner without single sign-on"
	},
	"settings.update": func(e roster.AuditEvent) string { return "updated the account's settings" },
	"member.role": func(e roster.AuditEvent) string {
		from, to, _ := strings.Cut(e.Detail, " -> ")
		return "changed " + possessive(subjectOf(e, "a member")) + " role from " + roleWords(from) + " to " + roleWords(to)
	},
	"member.delete": func(e roster.AuditEvent) string {
		s := "removed " + subjectOf(e, "a member") + " from the account"
		if e.Detail != "" {
			s += " (they were " + roleWords(e.Detail) + ")"
		}
		return s
	},
	"member.leave": func(e roster.AuditEvent) string { return "left the account" },
	"member.deactivate": func(e roster.AuditEvent) string {
		return "deactivated " + subjectOf(e, "a member") + " (they keep their role, " + roleWords(e.Detail) + ", but hold nothing until reactivated)"
	},
	"member.reactivate": func(e roster.AuditEvent) string {
		return "reactivated " + subjectOf(e, "a member") + " as " + roleWords(e.Detail)
	},
	"invitation.create": func(e roster.AuditEvent) string {
		return "invited " + e.Target + " as " + roleWords(e.Detail)
	},
	"invitation.role": func(e roster.AuditEvent) string {
		return "changed the invitation to " + e.Target + " to " + roleWords(e.Detail)
	},
	"invitation.resend": func(e roster.AuditEvent) string { return "sent the invitation to " + e.Target + " again" },
	"invitation.revoke": func(e roster.AuditEvent) string { return "revoked the invitation to " + e.Target },
	"invitation.accept": func(e roster.AuditEvent) string {
		return "accepted the invitation and joined as " + roleWords(e.Detail)
	},
	"credentials.view": func(e roster.AuditEvent) string { return "viewed the credentials" },
	"credentials.rotate": func(e roster.AuditEvent) string {
		_, v, _ := strings.Cut(e.Detail, "keep_old_for=")
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return "rotated the Auth Token (the old one stopped working at once)"
		}
		return "rotated the Auth Token (the old one kept working for " + durationWords(d) + ")"
	},
	"api_key.create": func(e roster.AuditEvent) string {
		return "created the API key " + quoted(e.Detail) + " (" + e.Target + "…)"
	},
	"api_key.delete": func(e roster.AuditEvent) string {
		return "deleted the API key " + quoted(e.Detail) + " (" + e.Target + "…)"
	},
	"webhook.create": func(e roster.AuditEvent) string { return "added a webhook to " + e.Detail },
	"webhook.update": func(e roster.AuditEvent) string { return "changed the webhook to " + e.Detail },
	"webhook.delete": func(e roster.AuditEvent) string { return "deleted a webhook" },
	"webhook.test":   func(e roster.AuditEvent) string { return "sent a test event to the webhook to " + e.Detail },
	"webhook.redeliver": func(e roster.AuditEvent) string {
		return "sent the event " + e.Target + " again to the webhook to " + e.Detail
	},
	"number.add":     func(e roster.AuditEvent) string { return "added the number " + e.Target },
	"number.update":  func(e roster.AuditEvent) string { return "updated the number " + e.Target },
	"number.release": func(e roster.AuditEvent) string { return "released the number " + e.Target },
	"application.create": func(e roster.AuditEvent) string {
		return "created the application " + quoted(e.Detail)
	},
	"application.update": func(e roster.AuditEvent) string {
		return "updated the application " + quoted(e.Detail)
	},
	"application.delete": func(e roster.AuditEvent) string { return "deleted an application" },
	"billing.recharge":   func(e roster.AuditEvent) string { return "added " + e.Detail + " of credit" },
	"billing.auto_recharge": func(e roster.AuditEvent) string {
		return "turned automatic recharge " + onOff(e.Detail == "enabled=true")
	},
	"billing.payment_method.add": func(e roster.AuditEvent) string {
		brand, last4, ok := strings.Cut(e.Target, " ")
		if !ok {
			return "added a payment method"
		}
		return "added the " + brand + " card ending " + last4
	},
	"billing.payment_method.delete": func(e roster.AuditEvent) string { return "removed a payment method" },
	"user.login":                    func(e roster.AuditEvent) string { return "signed in" },
	"user.recovery_code_used": func(e roster.AuditEvent) string {
		if left, purpose, ok := strings.Cut(e.Detail, ", to "); ok {
			return "used a recovery code to " + purpose + " (" + left + ")"
		}
		if e.Detail == "" {
			return "signed in with a recovery code"
		}
		return "signed in with a recovery code (" + e.Detail + ")"
	},
	"user.password_change": func(e roster.AuditEvent) string { return "changed their password" },
	"user.password_reset":  func(e roster.AuditEvent) string { return "reset their password from an emailed link" },
	"user.sessions_end":    func(e roster.AuditEvent) string { return "signed out all their other sessions" },
	"user.mfa_enable":      func(e roster.AuditEvent) string { return "turned on two-factor sign-in" },
	"user.mfa_disable":     func(e roster.AuditEvent) string { return "turned off two-factor sign-in" },
	"user.recovery_codes":  func(e roster.AuditEvent) string { return "made new recovery codes" },
	"user.passkey_add":     func(e roster.AuditEvent) string { return "added the passkey " + quoted(e.Detail) },
	"user.passkey_rename":  func(e roster.AuditEvent) string { return "renamed a passkey (" + e.Detail + ")" },
	"user.passkey_delete":  func(e roster.AuditEvent) string { return "removed the passkey " + quoted(e.Detail) },
	"passkey.clone_detected": func(e roster.AuditEvent) string {
		return "was refused a sign-in with the passkey " + quoted(e.Detail) + ": its signature counter went back (a copied authenticator?)"
	},
	"user.mfa_reset": func(e roster.AuditEvent) string {
		return "turned off the two-factor sign-in of " + e.Target + " (authenticator lost) and signed out all their sessions"
	},
	"domain.add": func(e roster.AuditEvent) string { return "added the domain " + e.Target + " (not yet verified)" },
	"domain.verify": func(e roster.AuditEvent) string {
		return "verified the domain " + e.Target + " (its TXT record was found)"
	},
	"scim_token.create": func(e roster.AuditEvent) string {
		return "created the provisioning (SCIM) token " + quoted(e.Detail)
	},
	"scim_token.delete": func(e roster.AuditEvent) string {
		return "revoked the provisioning (SCIM) token " + quoted(e.Detail)
	},
	"scim_settings.update": func(e roster.AuditEvent) string {
		return "changed the roles provisioning gives (" + e.Detail + ")"
	},
	"domain.delete": func(e roster.AuditEvent) string {
		if e.Detail == string(roster.DomainVerified) {
			return "removed the verified domain " + e.Target
		}
		return "removed the domain " + e.Target
	},
}

// wordsOf is the event's action in words; an action with no entry (an
// old code) falls back to its code and detail.
func wordsOf(e roster.AuditEvent) string {
	if f, ok := auditWords[e.Action]; ok {
		return f(e)
	}
	s := e.Action
	if e.Target != "" {
		s += " " + e.Target
	}
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return s
}

// quoted is s in quotation marks, for messages and the audit log:
// Application “IVR” saved.
func quoted(s string) string {
	if s == "" {
		return "(unnamed)"
	}
	return "“" + s + "”"
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// subjectOf names the person an event is about: their name, else their
// address, else what.
func subjectOf(e roster.AuditEvent, what string) string {
	switch {
	case e.SubjectName != "":
		return e.SubjectName
	case e.SubjectEmail != "":
		return e.SubjectEmail
	}
	return what
}

func possessive(s string) string {
	if strings.HasSuffix(s, "s") {
		return s + "'"
	}
	return s + "'s"
}

// roleWords is a role's label from its API name, or the name as written.
func roleWords(name string) string {
	if r, err := roster.ParseRole(strings.TrimSpace(name)); err == nil {
		return r.Label()
	}
	return name
}

func durationWords(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return plural(int(d/(24*time.Hour)), "day")
	case d%time.Hour == 0:
		return plural(int(d/time.Hour), "hour")
	case d%time.Minute == 0:
		return plural(int(d/time.Minute), "minute")
	}
	return d.String()
}

// auditRow is one event as the page and the CSV show it.
type auditRow struct {
	ID         int64
	At         time.Time
	ActorName  string // the name, or the address when there is none
	ActorEmail string // "" when ActorName is the address
	You        bool
	Action     string // the code
	Words      string
	Subject    string // the person or thing acted on, for the CSV
	Detail     string
	IP         string
}

func newAuditRow(e roster.AuditEvent, me int64) auditRow {
	r := auditRow{ID: e.ID, At: e.At, ActorName: e.ActorName, ActorEmail: e.ActorEmail, You: me != 0 && e.ActorID == me,
		Action: e.Action, Words: wordsOf(e), Detail: e.Detail, IP: e.IP}
	switch {
	case r.ActorName == "" && r.ActorEmail == "":
		r.ActorName = "The account's API credentials"
	case r.ActorName == "":
		r.ActorName, r.ActorEmail = r.ActorEmail, ""
	}
	switch {
	case e.SubjectName != "" && e.SubjectEmail != "":
		r.Subject = e.SubjectName + " <" + e.SubjectEmail + ">"
	case e.SubjectEmail != "":
		r.Subject = e.SubjectEmail
	default:
		r.Subject = e.Target
	}
	return r
}

// auditPerson is one choice of the person filter.
type auditPerson struct {
	Value, Label string
	You          bool
}

type auditData struct {
	Rows     []auditRow
	Total    int
	People   []auditPerson
	Actions  []roster.AuditAction
	Actor    string // the filter as asked
	Action   string
	Filtered bool
	Clear    string // the page without filters
	CSV      string // the export, with the filters
	From, To int    // the rows shown, 1-based
	Newer    string // the previous page's link, or ""
	Older    string // the next page's link, or ""
	Capped   bool   // more match than one export holds
	MaxCSV   int
}

// auditQuery is the filter's query string, with page when above 1.
func auditQuery(actor, action string, page int) string {
	q := url.Values{}
	if actor != "" {
		q.Set("actor", actor)
	}
	if action != "" {
		q.Set("action", action)
	}
	if page > 1 {
		q.Set("page", strconv.Itoa(page))
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// auditPeople is the person filter's choices: the account's members and
// anyone else seen acting in its log, by name.
func (c *Console) auditPeople(r *http.Request, x *actx) ([]auditPerson, error) {
	ms, err := c.svc.AllMembers(r.Context(), x.a)
	if err != nil {
		return nil, err
	}
	actors, err := c.svc.AuditActors(r.Context(), x.a)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []auditPerson
	add := func(id int64, email, name string) {
		v := email
		if id != 0 {
			v = strconv.FormatInt(id, 10)
		}
		if seen[v] {
			return
		}
		seen[v] = true
		label := email
		if name != "" {
			label = name + " (" + email + ")"
		} else if email == "" {
			label = "The account's API credentials"
		}
		out = append(out, auditPerson{Value: v, Label: label, You: id != 0 && id == x.u.ID})
	}
	for _, m := range ms {
		add(m.UserID, m.Email, m.Name)
	}
	for _, a := range actors {
		if a.UserID == 0 && a.Email == "" {
			continue // credentials: no one to filter by
		}
		add(a.UserID, a.Email, a.Name)
	}
	slices.SortStableFunc(out, func(a, b auditPerson) int {
		return strings.Compare(strings.ToLower(a.Label), strings.ToLower(b.Label))
	})
	return out, nil
}

func (c *Console) audit(w http.ResponseWriter, r *http.Request, x *actx) error {
	q := r.URL.Query()
	d := auditData{Actor: q.Get("actor"), Action: q.Get("action"), Actions: roster.AuditActions, Clear: x.path("/audit"), MaxCSV: maxAuditExport}
	f, err := service.ParseAuditFilter(d.Actor, d.Action)
	if err != nil {
		// The unknown action is refused next to its select; the person
		// filter still applies.
		x.p.Error, x.p.Field, x.p.HTTPStatus = roster.ErrorMessage(err), roster.FieldOf(err), httpStatus(err)
		d.Action = ""
		if f, err = service.ParseAuditFilter(d.Actor, ""); err != nil {
			return err
		}
	}
	d.Filtered = d.Actor != "" || d.Action != ""
	pageNo, _ := strconv.Atoi(q.Get("page"))
	pageNo = max(pageNo, 1)
	es, total, err := c.svc.FilterAuditEvents(r.Context(), x.a, f, roster.Page{Limit: auditPageSize, Offset: (pageNo - 1) * auditPageSize})
	if err != nil {
		return err
	}
	if d.People, err = c.auditPeople(r, x); err != nil {
		return err
	}
	for _, e := range es {
		d.Rows = append(d.Rows, newAuditRow(e, x.u.ID))
	}
	d.Total, d.Capped = total, total > maxAuditExport
	d.CSV = x.path("/audit.csv") + auditQuery(d.Actor, d.Action, 0)
	if len(d.Rows) > 0 {
		d.From = (pageNo-1)*auditPageSize + 1
		d.To = d.From + len(d.Rows) - 1
	}
	if pageNo > 1 {
		d.Newer = x.path("/audit") + auditQuery(d.Actor, d.Action, pageNo-1)
	}
	if pageNo*auditPageSize < total {
		d.Older = x.path("/audit") + auditQuery(d.Actor, d.Action, pageNo+1)
	}
	x.p.Data = d
	c.render(w, http.StatusOK, "audit", x.p)
	return nil
}

// auditCSV exports the events the page's filters match, newest first (at
// most maxAuditExport). Every cell a spreadsheet could read as a formula
// is guarded (csvCell, as the access review does).
func (c *Console) auditCSV(w http.ResponseWriter, r *http.Request, x *actx) error {
	q := r.URL.Query()
	f, err := service.ParseAuditFilter(q.Get("actor"), q.Get("action"))
	if err != nil {
		return err
	}
	rows := [][]string{{"time", "actor_name", "actor_email", "action", "action_words", "subject", "detail", "ip"}}
	// Offset pages of a log that grows at the top: an event already
	// written (ID at or above the last one) is skipped, not repeated.
	var last int64
	n := 0
	for p := (roster.Page{Limit: 500}); n < maxAuditExport; p.Offset += p.Limit {
		es, _, err := c.svc.FilterAuditEvents(r.Context(), x.a, f, p)
		if err != nil {
			return err
		}
		for _, e := range es {
			if (last != 0 && e.ID >= last) || n >= maxAuditExport {
				continue
			}
			last, n = e.ID, n+1
			row := newAuditRow(e, 0)
			email := row.ActorEmail
			if email == "" && e.ActorEmail != "" {
				email = e.ActorEmail
			}
			rows = append(rows, []string{e.At.UTC().Format(time.RFC3339), edge.CSVCell(e.ActorName), edge.CSVCell(email), e.Action,
				edge.CSVCell(row.Words), edge.CSVCell(row.Subject), edge.CSVCell(e.Detail), edge.CSVCell(e.IP)})
		}
		if len(es) < p.Limit {
			break
		}
	}
	return edge.WriteCSV(w, `audit-`+x.a.ID+`.csv`, rows)
}
