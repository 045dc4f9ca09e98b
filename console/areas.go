package console

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service"
)

// The account's areas as a person uses them: phone numbers, applications,
// payments & billing, pricing and credentials. Every form answers with a
// message that names what changed; every refusal is shown next to its
// field with what was typed; whatever cannot be undone (releasing a
// number, deleting an application, removing a card, rotating the Auth
// Token) goes through the confirmation page.

// again answers a refused form of an area: a redirect (303) to its page
// (formPage: the form's own URL when a page has it, else the nearest page
// above), which shows the message next to its field, what was typed (never
// a secret) and the error's status. An error that is not about the form
// (the thing is gone, an internal error) is the error page.
func (c *Console) again(w http.ResponseWriter, r *http.Request, x *actx, err error,
	show func(*Console, http.ResponseWriter, *http.Request, *actx) error) error {
	code := roster.ErrorCode(err)
	if code == roster.EINTERNAL || (code == roster.ENOTFOUND && roster.FieldOf(err) == "") {
		return err
	}
	c.keepState(w, r, x.session, refused(r, formPage(r.URL.Path), err))
	return nil
}

// --- phone numbers

type numberRow struct {
	roster.Number
	AppName string // the linked application's name, "" when none
}

type numbersData struct {
	Items   []numberRow
	Total   int
	CanEdit bool
}

// appNames maps the account's applications' IDs to their names.
func (c *Console) appNames(r *http.Request, x *actx) ([]roster.Application, map[int64]string, error) {
	as, _, err := c.svc.Applications(r.Context(), x.a, roster.Page{Limit: 100})
	if err != nil {
		return nil, nil, err
	}
	names := map[int64]string{}
	for _, a := range as {
		names[a.ID] = a.Name
	}
	return as, names, nil
}

func (c *Console) numbers(w http.ResponseWriter, r *http.Request, x *actx) error {
	ns, total, err := c.svc.Numbers(r.Context(), x.a, r.URL.Query().Get("alias"), roster.Page{Limit: 100})
	if err != nil {
		return err
	}
	d := numbersData{Total: total, CanEdit: x.caller.Can(roster.NumbersEdit)}
	var names map[int64]string
	if len(ns) > 0 && x.caller.Can(roster.ApplicationsView) {
		if _, names, err = c.appNames(r, x); err != nil {
			return err
		}
	}
	for _, n := range ns {
		row := numberRow{Number: n}
		if n.ApplicationID != nil {
			row.AppName = names[*n.ApplicationID]
			if row.AppName == "" {
				row.AppName = "application " + strconv.FormatInt(*n.ApplicationID, 10)
			}
		}
		d.Items = append(d.Items, row)
	}
	x.p.Data = d
	c.render(w, http.StatusOK, "numbers", x.p)
	return nil
}

func (c *Console) addNumber(w http.ResponseWriter, r *http.Request, x *actx) error {
	alias := r.PostFormValue("alias")
	n, err := c.svc.AddNumber(r.Context(), x.a, service.NumberInput{Number: r.PostFormValue("number"), Alias: &alias}, x.actor(r))
	c.after(w, r, x, x.path("/numbers"), "Number "+n.Number+" added.", err)
	return nil
}

type numberEditData struct {
	Number   roster.Number
	Apps     []roster.Application
	Alias    string
	Selected int64 // the application chosen, 0 for none
}

// editNumber is the form for a number's alias and linked application.
func (c *Console) editNumber(w http.ResponseWriter, r *http.Request, x *actx) error {
	n, err := c.svc.Number(r.Context(), x.a, r.PathValue("number"))
	if err != nil {
		return err
	}
	apps, _, err := c.appNames(r, x)
	if err != nil {
		return err
	}
	d := numberEditData{Number: n, Apps: apps, Alias: n.Alias}
	if n.ApplicationID != nil {
		d.Selected = *n.ApplicationID
	}
	if x.p.Form != nil { // refused: what was sent
		d.Alias = x.p.Form.Get("alias")
		d.Selected, _ = strconv.ParseInt(x.p.Form.Get("application_id"), 10, 64)
	}
	x.p.Data = d
	c.render(w, http.StatusOK, "number-edit", x.p)
	return nil
}

func (c *Console) saveNumber(w http.ResponseWriter, r *http.Request, x *actx) error {
	alias := r.PostFormValue("alias")
	in := service.NumberInput{Number: r.PathValue("number"), Alias: &alias}
	var app int64
	if v := r.PostFormValue("application_id"); v != "" {
		var err error
		if app, err = strconv.ParseInt(v, 10, 64); err != nil || app < 0 {
			return c.again(w, r, x, roster.FieldErrorf("application_id", roster.EINVALID, "Choose an application from the list, or None"), (*Console).editNumber)
		}
	}
	in.ApplicationID = &app
	n, err := c.svc.UpdateNumber(r.Context(), x.a, in, x.actor(r))
	if err != nil {
		return c.again(w, r, x, err, (*Console).editNumber)
	}
	msg := n.Number + " saved: "
	if n.Alias != "" {
		msg += "alias " + quoted(n.Alias)
	} else {
		msg += "no alias"
	}
	if n.ApplicationID != nil {
		name := "application " + strconv.FormatInt(*n.ApplicationID, 10)
		if a, err := c.svc.Application(r.Context(), x.a, *n.ApplicationID); err == nil {
			name = quoted(a.Name)
		}
		msg += ", linked to " + name + "."
	} else {
		msg += ", not linked to an application."
	}
	c.done(w, r, x.session, x.path("/numbers"), msg)
	return nil
}

func (c *Console) confirmRelease(w http.ResponseWriter, r *http.Request, x *actx) error {
	n, err := c.svc.Number(r.Context(), x.a, r.PathValue("number"))
	if err != nil {
		return err
	}
	body := []string{n.Number + " leaves " + x.a.Name + " at once: calls and messages to it are no longer answered " +
		"by this account, and you cannot send from it."}
	if n.Alias != "" {
		body = append(body, "Its alias "+quoted(n.Alias)+" and its link to an application are lost.")
	}
	body = append(body, "To use it again you must add it again, if it is still available.")
	return c.confirm(w, x, confirmation{
		Heading: "Release " + n.Number + "?", Lead: "This is irreversible.", Body: body,
		Action: x.path("/numbers/" + n.Number + "/release"), Button: "Release number",
		ButtonID: "confirm-release", Back: x.path("/numbers")})
}

func (c *Console) releaseNumber(w http.ResponseWriter, r *http.Request, x *actx) error {
	err := c.svc.DeleteNumber(r.Context(), x.a, r.PathValue("number"), x.actor(r))
	c.after(w, r, x, x.path("/numbers"), "Number "+r.PathValue("number")+" released.", err)
	return nil
}

// --- applications

func (c *Console) applications(w http.ResponseWriter, r *http.Request, x *actx) error {
	as, total, err := c.svc.Applications(r.Context(), x.a, roster.Page{Limit: 100})
	if err != nil {
		return err
	}
	x.p.Data = listData[roster.Application]{as, total, x.caller.Can(roster.ApplicationsEdit), nil}
	c.render(w, http.StatusOK, "applications", x.p)
	return nil
}

// applicationInput is the application form as sent: every field set.
func applicationInput(r *http.Request) service.ApplicationInput {
	f := func(k string) *string { v := r.PostFormValue(k); return &v }
	return service.ApplicationInput{Name: f("name"), AnswerURL: f("answer_url"),
		AnswerMethod: f("answer_method"), HangupURL: f("hangup_url"), MessageURL: f("message_url")}
}

func (c *Console) createApplication(w http.ResponseWriter, r *http.Request, x *actx) error {
	app, err := c.svc.CreateApplication(r.Context(), x.a, applicationInput(r), x.actor(r))
	c.after(w, r, x, x.path("/applications"), "Application "+quoted(app.Name)+" added.", err)
	return nil
}

func (c *Console) editApplication(w http.ResponseWriter, r *http.Request, x *actx) error {
	app, err := c.svc.Application(r.Context(), x.a, formInt(r, "app"))
	if err != nil {
		return err
	}
	x.p.Data = app
	c.render(w, http.StatusOK, "application-edit", x.p)
	return nil
}

func (c *Console) saveApplication(w http.ResponseWriter, r *http.Request, x *actx) error {
	app, err := c.svc.UpdateApplication(r.Context(), x.a, formInt(r, "app"), applicationInput(r), x.actor(r))
	if err != nil {
		return c.again(w, r, x, err, (*Console).editApplication)
	}
	c.done(w, r, x.session, x.path("/applications"), "Application "+quoted(app.Name)+" saved.")
	return nil
}

func (c *Console) confirmDeleteApplication(w http.ResponseWriter, r *http.Request, x *actx) error {
	app, err := c.svc.Application(r.Context(), x.a, formInt(r, "app"))
	if err != nil {
		return err
	}
	ns, _, err := c.svc.Numbers(r.Context(), x.a, "", roster.Page{Limit: 100})
	if err != nil {
		return err
	}
	var linked []string
	for _, n := range ns {
		if n.ApplicationID != nil && *n.ApplicationID == app.ID {
			linked = append(linked, n.Number)
		}
	}
	body := []string{"Calls and messages are no longer sent to " + app.AnswerURL + " for this application."}
	switch len(linked) {
	case 0:
		body = append(body, "No phone number is linked to it.")
	case 1:
		body = append(body, linked[0]+" is linked to it and will be linked to no application.")
	default:
		body = append(body, fmt.Sprintf("%d phone numbers are linked to it and will be linked to no application: %s.", len(linked), strings.Join(linked, ", ")))
	}
	return c.confirm(w, x, confirmation{
		Heading: "Delete the application " + quoted(app.Name) + "?", Lead: "This is irreversible.", Body: body,
		Action: x.path("/applications/" + strconv.FormatInt(app.ID, 10) + "/delete"), Button: "Delete application",
		ButtonID: "confirm-delete", Back: x.path("/applications")})
}

func (c *Console) deleteApplication(w http.ResponseWriter, r *http.Request, x *actx) error {
	app, _ := c.svc.Application(r.Context(), x.a, formInt(r, "app"))
	err := c.svc.DeleteApplication(r.Context(), x.a, formInt(r, "app"), x.actor(r))
	c.after(w, r, x, x.path("/applications"), "Application "+quoted(app.Name)+" deleted.", err)
	return nil
}

// --- payments & billing

// autoForm is the auto-recharge form as shown: the saved settings, or
// what was sent when it was refused.
type autoForm struct {
	Enabled           bool
	Threshold, Amount string
}

type billingData struct {
	B       roster.Billing
	CanEdit bool
	// Card is the card a recharge is charged to (the first on file), nil
	// when there is none: then the recharge form asks for one first.
	Card      *roster.PaymentMethod
	CardBrand string // the Card's brand, as people write it: "Visa"
	Cards     []cardRow
	Auto      autoForm
}

type cardRow struct {
	roster.PaymentMethod
	BrandName string
}

// plainUSD is an amount for an input: "20.00".
func plainUSD(m roster.Money) string { return strings.TrimPrefix(formatUSD(int64(m)), "$") }

func (c *Console) billing(w http.ResponseWriter, r *http.Request, x *actx) error {
	b, err := c.svc.Billing(r.Context(), x.a)
	if err != nil {
		return err
	}
	d := billingData{B: b, CanEdit: x.caller.Can(roster.BillingEdit),
		Auto: autoForm{b.AutoRecharge.Enabled, plainUSD(b.AutoRecharge.ThresholdUSD), plainUSD(b.AutoRecharge.AmountUSD)}}
	if len(b.PaymentMethods) > 0 {
		d.Card, d.CardBrand = &b.PaymentMethods[0], brandName(b.PaymentMethods[0].Brand)
	}
	for _, pm := range b.PaymentMethods {
		d.Cards = append(d.Cards, cardRow{pm, brandName(pm.Brand)})
	}
	if !b.AutoRecharge.Enabled && b.AutoRecharge.AmountUSD == 0 {
		// Never set: offer what most accounts choose.
		d.Auto.Threshold, d.Auto.Amount = "5.00", "20.00"
	}
	if _, ok := x.p.Form["auto_threshold_usd"]; ok { // the auto-recharge form, refused
		d.Auto = autoForm{x.p.Form.Get("auto_enabled") != "", x.p.Form.Get("auto_threshold_usd"), x.p.Form.Get("auto_amount_usd")}
	}
	x.p.Data = d
	c.render(w, http.StatusOK, "billing", x.p)
	return nil
}

// usdField reads a USD amount from the form; a refusal names field.
func usdField(r *http.Request, name, field, what string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimPrefix(strings.TrimSpace(r.PostFormValue(name)), "$"), 64)
	if err != nil {
		return 0, roster.FieldErrorf(field, roster.EINVALID, "%s must be an amount in USD, like 20.00", capital(what))
	}
	return v, nil
}

func (c *Console) recharge(w http.ResponseWriter, r *http.Request, x *actx) error {
	amount, err := usdField(r, "amount_usd", "amount_usd", "the amount")
	if err != nil {
		return c.again(w, r, x, err, (*Console).billing)
	}
	rc, err := c.svc.Recharge(r.Context(), x.a, amount, x.actor(r))
	if err != nil {
		return c.again(w, r, x, err, (*Console).billing)
	}
	msg := "Added " + formatUSD(int64(rc.Amount)) + " of credit."
	if b, err := c.svc.Billing(r.Context(), x.a); err == nil {
		msg += " The balance is now " + formatUSD(int64(b.Balance)) + "."
	}
	c.done(w, r, x.session, x.path("/billing"), msg)
	return nil
}

// autoRecharge saves the auto-recharge settings. The form's fields are
// named auto_* so a refusal is shown at them, not at the recharge form's
// amount.
func (c *Console) autoRecharge(w http.ResponseWriter, r *http.Request, x *actx) error {
	on := r.PostFormValue("auto_enabled") != ""
	threshold, err := usdField(r, "auto_threshold_usd", "auto_threshold_usd", "the threshold")
	if err != nil {
		return c.again(w, r, x, err, (*Console).billing)
	}
	amount, err := usdField(r, "auto_amount_usd", "auto_amount_usd", "the amount")
	if err != nil {
		return c.again(w, r, x, err, (*Console).billing)
	}
	b, err := c.svc.SetAutoRecharge(r.Context(), x.a, on, threshold, amount, x.actor(r))
	if err != nil {
		if f := roster.FieldOf(err); f != "" {
			err = roster.FieldErrorf("auto_"+f, roster.ErrorCode(err), "%s", roster.ErrorMessage(err))
		}
		return c.again(w, r, x, err, (*Console).billing)
	}
	msg := "Auto-recharge off: credit is added only when you add it."
	if ar := b.AutoRecharge; ar.Enabled {
		msg = "Auto-recharge on: " + formatUSD(int64(ar.AmountUSD)) + " is added when the balance falls below " + formatUSD(int64(ar.ThresholdUSD)) + "."
	}
	c.done(w, r, x.session, x.path("/billing"), msg)
	return nil
}

func (c *Console) addCard(w http.ResponseWriter, r *http.Request, x *actx) error {
	month, _ := strconv.Atoi(strings.TrimSpace(r.PostFormValue("exp_month")))
	year, _ := strconv.Atoi(strings.TrimSpace(r.PostFormValue("exp_year")))
	pm, err := c.svc.AddPaymentMethod(r.Context(), x.a, r.PostFormValue("card_number"), month, year, x.actor(r))
	if err != nil {
		// The card number is never sent back to the page.
		r.PostForm.Del("card_number")
		return c.again(w, r, x, err, (*Console).billing)
	}
	c.done(w, r, x.session, x.path("/billing"), "Card ending "+pm.Last4+" added.")
	return nil
}

// card finds one of the account's cards. Errors: ENOTFOUND.
func (c *Console) card(r *http.Request, x *actx) (roster.PaymentMethod, roster.Billing, error) {
	b, err := c.svc.Billing(r.Context(), x.a)
	if err != nil {
		return roster.PaymentMethod{}, b, err
	}
	id := formInt(r, "pm")
	for _, pm := range b.PaymentMethods {
		if pm.ID == id {
			return pm, b, nil
		}
	}
	return roster.PaymentMethod{}, b, roster.Errorf(roster.ENOTFOUND, "No such card on this account")
}

func brandName(b string) string {
	switch b {
	case "visa":
		return "Visa"
	case "mastercard":
		return "Mastercard"
	case "amex":
		return "American Express"
	case "discover":
		return "Discover"
	}
	return "Card"
}

func (c *Console) confirmRemoveCard(w http.ResponseWriter, r *http.Request, x *actx) error {
	pm, b, err := c.card(r, x)
	if err != nil {
		return err
	}
	body := []string{fmt.Sprintf("%s ending %s, expiring %02d/%d, is removed from %s.",
		brandName(pm.Brand), pm.Last4, pm.ExpMonth, pm.ExpYear, x.a.Name)}
	if len(b.PaymentMethods) == 1 {
		last := "It is the only card on file: you cannot add credit until you add another"
		if b.AutoRecharge.Enabled {
			last += ", and auto-recharge is turned off"
		}
		body = append(body, last+".")
	}
	return c.confirm(w, x, confirmation{
		Heading: "Remove the card ending " + pm.Last4 + "?", Lead: "To use it again you must enter it again.", Body: body,
		Action: x.path("/billing/payment-methods/" + strconv.FormatInt(pm.ID, 10) + "/remove"), Button: "Remove card",
		ButtonID: "confirm-remove", Back: x.path("/billing")})
}

func (c *Console) removeCard(w http.ResponseWriter, r *http.Request, x *actx) error {
	pm, before, err := c.card(r, x)
	if err != nil {
		return err
	}
	if err := c.svc.DeletePaymentMethod(r.Context(), x.a, pm.ID, x.actor(r)); err != nil {
		return err
	}
	msg := "Card ending " + pm.Last4 + " removed."
	if after, err := c.svc.Billing(r.Context(), x.a); err == nil && before.AutoRecharge.Enabled && !after.AutoRecharge.Enabled {
		msg += " Auto-recharge is now off: no card is left to charge."
	}
	c.done(w, r, x.session, x.path("/billing"), msg)
	return nil
}

// --- pricing

type pricingData struct {
	Country string
	Price   *roster.Price
	// Loaded is false on a fresh install: no rate table yet.
	Loaded bool
	// Missing is the calm answer for a country the table does not have.
	Missing string
}

func (c *Console) pricing(w http.ResponseWriter, r *http.Request, x *actx) error {
	d := pricingData{Country: strings.ToUpper(strings.TrimSpace(r.URL.Query().Get("country")))}
	if d.Country == "" {
		d.Country = "US"
	}
	var err error
	if d.Loaded, err = c.svc.RatesLoaded(r.Context()); err != nil {
		return err
	}
	if d.Loaded {
		p, err := c.svc.Price(r.Context(), d.Country)
		switch roster.ErrorCode(err) {
		case "":
			d.Price = &p
		case roster.ENOTFOUND:
			d.Missing = "No rate for " + d.Country + "."
		case roster.EINVALID:
			x.p.Error, x.p.Field, x.p.HTTPStatus = roster.ErrorMessage(err), "country", httpStatus(err)
		default:
			return err
		}
	}
	x.p.Data = d
	c.render(w, http.StatusOK, "pricing", x.p)
	return nil
}

// --- credentials

type credentialsData struct {
	Creds   *roster.Credentials
	CanEdit bool
	// Readers are the former members who may hold a working Auth Token.
	// Who they are is shown to those who may read the audit log (it is
	// what it says); the others see how many.
	Readers   []service.TokenReader
	CanSeeWho bool
}

func (c *Console) credentialsData(r *http.Request, x *actx) (credentialsData, error) {
	d := credentialsData{CanEdit: x.caller.Can(roster.CredentialsEdit), CanSeeWho: x.caller.Can(roster.AuditView)}
	exp, err := c.svc.TokenExposure(r.Context(), x.a)
	d.Readers = exp.Readers
	return d, err
}

func (c *Console) credentials(w http.ResponseWriter, r *http.Request, x *actx) error {
	d, err := c.credentialsData(r, x)
	if err != nil {
		return err
	}
	if x.p.State != nil {
		d.Creds = x.p.State.Creds // just read (revealCredentials)
	}
	x.p.Data = d
	c.render(w, http.StatusOK, "credentials", x.p)
	return nil
}

// revealCredentials shows the token: a POST, because every view is audited.
func (c *Console) revealCredentials(w http.ResponseWriter, r *http.Request, x *actx) error {
	cr, err := c.svc.Credentials(r.Context(), x.a, x.actor(r))
	if err != nil {
		return err
	}
	// Shown once on the Credentials page, from the one-time form state:
	// a reload shows the page without it (and reads nothing more).
	c.keepState(w, r, x.session, formState{Path: x.path("/credentials"), Creds: &cr})
	return nil
}

// DefaultGrace is how long the old Auth Token keeps working when the
// rotation's confirmation is taken as offered: long enough to update
// every integration across a working day in any time zone.
const DefaultGrace = "24h"

func (c *Console) confirmRotate(w http.ResponseWriter, r *http.Request, x *actx) error {
	exp, err := c.svc.TokenExposure(r.Context(), x.a)
	if err != nil {
		return err
	}
	var warning []string
	if n := len(exp.Readers); n > 0 {
		// Rotating for them is the point: a grace period keeps the token
		// they may hold working.
		warning = []string{fmt.Sprintf("%s no longer in the team may hold the Auth Token in use now. "+
			"To shut them out at once, stop the old token now; a grace period keeps it working for them too.", peopleCount(n))}
	}
	return c.confirm(w, x, confirmation{Warning: warning,
		Heading: "Rotate the Auth Token of " + x.a.Name + "?",
		Lead:    "Every integration that uses the Auth Token must be updated with the new one.",
		Body: []string{"A new token replaces the current one. Reveal it on the Credentials page afterwards to copy it.",
			"Keeping the old token working for a while lets your integrations run while you update them."},
		Choice: &choice{Name: "keep_old_for", Legend: "The old token", Options: []option{
			{Value: DefaultGrace, Label: "Keeps working for 24 hours", Hint: "Integrations keep working while you update them.", Default: true},
			{Value: "1h", Label: "Keeps working for 1 hour"},
			{Value: "168h", Label: "Keeps working for 7 days"},
			{Value: "0", Label: "Stop the old token now — choose this if it leaked", Hint: "Anything still using it fails at once."},
		}},
		Action: x.path("/credentials/rotate"), Button: "Rotate Auth Token", ButtonID: "confirm-rotate", Back: x.path("/credentials")})
}

// untilText is when a grace period ends, for a message: the time alone
// when it is today (UTC), else the date too.
func untilText(t, now time.Time) string {
	t, now = t.UTC(), now.UTC()
	if t.Year() == now.Year() && t.YearDay() == now.YearDay() {
		return t.Format("15:04 UTC")
	}
	return t.Format("2 Jan 2006 15:04 UTC")
}

func (c *Console) rotate(w http.ResponseWriter, r *http.Request, x *actx) error {
	cr, err := c.svc.RotateCredentials(r.Context(), x.a, r.PostFormValue("keep_old_for"), x.actor(r))
	msg := "Auth Token rotated. The old token stopped working."
	if cr.OldValidUntil != nil {
		msg = "Auth Token rotated. The old token keeps working until " + untilText(*cr.OldValidUntil, time.Now()) + "."
	}
	c.after(w, r, x, x.path("/credentials"), msg, err)
	return nil
}

// peopleCount says a number of people: "1 person", "3 people".
func peopleCount(n int) string {
	if n == 1 {
		return "1 person"
	}
	return strconv.Itoa(n) + " people"
}
