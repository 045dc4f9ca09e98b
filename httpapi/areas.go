package httpapi

import (
	"net/http"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service"
)

// areaRoutes are the guarded areas' routes and personal API keys. Reads
// need <area>.view and writes <area>.edit.
func (s *Server) areaRoutes() []Route {
	const A = "/v1/accounts/{id}"
	return []Route{
		{"GET " + A + "/numbers", Member, roster.NumbersView, s.listNumbers},
		{"POST " + A + "/numbers", Member, roster.NumbersEdit, s.addNumber},
		{"GET " + A + "/numbers/{number}", Member, roster.NumbersView, s.showNumber},
		{"PATCH " + A + "/numbers/{number}", Member, roster.NumbersEdit, s.updateNumber},
		{"DELETE " + A + "/numbers/{number}", Member, roster.NumbersEdit, s.deleteNumber},

		{"GET " + A + "/applications", Member, roster.ApplicationsView, s.listApplications},
		{"POST " + A + "/applications", Member, roster.ApplicationsEdit, s.createApplication},
		{"GET " + A + "/applications/{app_id}", Member, roster.ApplicationsView, s.showApplication},
		{"PATCH " + A + "/applications/{app_id}", Member, roster.ApplicationsEdit, s.updateApplication},
		{"DELETE " + A + "/applications/{app_id}", Member, roster.ApplicationsEdit, s.deleteApplication},

		{"GET " + A + "/settings", Member, roster.SettingsView, s.showSettings},
		{"PATCH " + A + "/settings", Member, roster.SettingsEdit, s.updateSettings},

		{"GET " + A + "/credentials", Member, roster.CredentialsView, s.showCredentials},
		{"POST " + A + "/credentials/rotate", Member, roster.CredentialsEdit, s.rotateCredentials},

		{"GET " + A + "/billing", Member, roster.BillingView, s.showBilling},
		{"PATCH " + A + "/billing", Member, roster.BillingEdit, s.updateBilling},
		{"POST " + A + "/billing/payment-methods", Member, roster.BillingEdit, s.addPaymentMethod},
		{"DELETE " + A + "/billing/payment-methods/{pm_id}", Member, roster.BillingEdit, s.deletePaymentMethod},
		{"POST " + A + "/billing/recharges", Member, roster.BillingEdit, s.addRecharge},

		{"GET " + A + "/pricing", Member, roster.PricingView, s.showPricing},

		{"GET " + A + "/logs", Member, roster.LogsView, s.listLogs},
		{"POST /v1/ingest/logs", Service, 0, s.ingestLogs},

		{"POST /v1/me/api-keys", Session, 0, s.createAPIKey},
		{"GET /v1/me/api-keys", Session, 0, s.listAPIKeys},
		{"DELETE /v1/me/api-keys/{key_id}", Session, 0, s.deleteAPIKey},
	}
}

// --- numbers

type numberBody struct {
	Number        string  `json:"number"`
	Alias         *string `json:"alias"`
	ApplicationID *int64  `json:"application_id"`
}

func (s *Server) listNumbers(w http.ResponseWriter, r *http.Request, c *Caller) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	ns, total, err := s.Svc.Numbers(r.Context(), c.Account, r.URL.Query().Get("alias"), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(p, total, ns))
}

func (s *Server) addNumber(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in numberBody
	if err := decode(r, &in); err != nil {
		return err
	}
	n, err := s.Svc.AddNumber(r.Context(), c.Account, service.NumberInput{Number: in.Number, Alias: in.Alias, ApplicationID: in.ApplicationID}, c.Actor())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, n)
}

func (s *Server) showNumber(w http.ResponseWriter, r *http.Request, c *Caller) error {
	n, err := s.Svc.Number(r.Context(), c.Account, r.PathValue("number"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, n)
}

func (s *Server) updateNumber(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in struct {
		Alias         *string `json:"alias"`
		ApplicationID *int64  `json:"application_id"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	n, err := s.Svc.UpdateNumber(r.Context(), c.Account, service.NumberInput{Number: r.PathValue("number"), Alias: in.Alias, ApplicationID: in.ApplicationID}, c.Actor())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, n)
}

func (s *Server) deleteNumber(w http.ResponseWriter, r *http.Request, c *Caller) error {
	if err := s.Svc.DeleteNumber(r.Context(), c.Account, r.PathValue("number"), c.Actor()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// --- applications

type applicationBody struct {
	Name         *string `json:"name"`
	AnswerURL    *string `json:"answer_url"`
	AnswerMethod *string `json:"answer_method"`
	HangupURL    *string `json:"hangup_url"`
	MessageURL   *string `json:"message_url"`
}

func (b applicationBody) input() service.ApplicationInput {
	return service.ApplicationInput{Name: b.Name, AnswerURL: b.AnswerURL, AnswerMethod: b.AnswerMethod, HangupURL: b.HangupURL, MessageURL: b.MessageURL}
}

func (s *Server) listApplications(w http.ResponseWriter, r *http.Request, c *Caller) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	as, total, err := s.Svc.Applications(r.Context(), c.Account, p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(p, total, as))
}

func (s *Server) createApplication(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in applicationBody
	if err := decode(r, &in); err != nil {
		return err
	}
	app, err := s.Svc.CreateApplication(r.Context(), c.Account, in.input(), c.Actor())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, app)
}

func (s *Server) showApplication(w http.ResponseWriter, r *http.Request, c *Caller) error {
	id, err := pathInt(r, "app_id")
	if err != nil {
		return err
	}
	app, err := s.Svc.Application(r.Context(), c.Account, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, app)
}

func (s *Server) updateApplication(w http.ResponseWriter, r *http.Request, c *Caller) error {
	id, err := pathInt(r, "app_id")
	if err != nil {
		return err
	}
	var in applicationBody
	if err := decode(r, &in); err != nil {
		return err
	}
	app, err := s.Svc.UpdateApplication(r.Context(), c.Account, id, in.input(), c.Actor())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, app)
}

func (s *Server) deleteApplication(w http.ResponseWriter, r *http.Request, c *Caller) error {
	id, err := pathInt(r, "app_id")
	if err != nil {
		return err
	}
	if err := s.Svc.DeleteApplication(r.Context(), c.Account, id, c.Actor()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// --- settings and credentials

func (s *Server) showSettings(w http.ResponseWriter, r *http.Request, c *Caller) error {
	st, err := s.Svc.Settings(r.Context(), c.Account)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, st)
}

func (s *Server) updateSettings(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in struct {
		Name     *string `json:"name"`
		Company  *string `json:"company"`
		Address  *string `json:"address"`
		Timezone *string `json:"timezone"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	st, err := s.Svc.UpdateSettings(r.Context(), c.Account, service.SettingsInput{Name: in.Name, Company: in.Company, Address: in.Address, Timezone: in.Timezone}, c.Actor())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, st)
}

func (s *Server) showCredentials(w http.ResponseWriter, r *http.Request, c *Caller) error {
	cr, err := s.Svc.Credentials(r.Context(), c.Account, c.Actor())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, cr)
}

func (s *Server) rotateCredentials(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in struct {
		KeepOldFor string `json:"keep_old_for"`
	}
	if r.ContentLength != 0 {
		if err := decode(r, &in); err != nil {
			return err
		}
	}
	cr, err := s.Svc.RotateCredentials(r.Context(), c.Account, in.KeepOldFor, c.Actor())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, cr)
}

// --- billing

func usd(m roster.Money) float64 { return float64(m) / 100 }

type billingJSON struct {
	BalanceUSD   float64 `json:"balance_usd"`
	AutoRecharge struct {
		Enabled      bool    `json:"enabled"`
		ThresholdUSD float64 `json:"threshold_usd"`
		AmountUSD    float64 `json:"amount_usd"`
	} `json:"auto_recharge"`
	PaymentMethods []roster.PaymentMethod `json:"payment_methods"`
	Recharges      []rechargeJSON         `json:"recharges"`
	Invoices       []invoiceJSON          `json:"invoices"`
}

type rechargeJSON struct {
	ID        int64     `json:"id"`
	AmountUSD float64   `json:"amount_usd"`
	CreatedAt time.Time `json:"created_at"`
}

type invoiceJSON struct {
	Month         string  `json:"month"`
	TotalUSD      float64 `json:"total_usd"`
	RechargeCount int     `json:"recharge_count"`
}

func toBilling(b roster.Billing) billingJSON {
	j := billingJSON{BalanceUSD: usd(b.Balance), PaymentMethods: b.PaymentMethods, Recharges: []rechargeJSON{}, Invoices: []invoiceJSON{}}
	j.AutoRecharge.Enabled, j.AutoRecharge.ThresholdUSD, j.AutoRecharge.AmountUSD = b.AutoRecharge.Enabled, usd(b.AutoRecharge.ThresholdUSD), usd(b.AutoRecharge.AmountUSD)
	if j.PaymentMethods == nil {
		j.PaymentMethods = []roster.PaymentMethod{}
	}
	for _, r := range b.Recharges {
		j.Recharges = append(j.Recharges, rechargeJSON{r.ID, usd(r.Amount), r.CreatedAt})
	}
	for _, i := range b.Invoices {
		j.Invoices = append(j.Invoices, invoiceJSON{i.Month, usd(i.Total), i.Recharges})
	}
	return j
}

func (s *Server) showBilling(w http.ResponseWriter, r *http.Request, c *Caller) error {
	b, err := s.Svc.Billing(r.Context(), c.Account)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toBilling(b))
}

func (s *Server) updateBilling(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in struct {
		AutoRecharge *struct {
			Enabled      bool    `json:"enabled"`
			ThresholdUSD float64 `json:"threshold_usd"`
			AmountUSD    float64 `json:"amount_usd"`
		} `json:"auto_recharge"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.AutoRecharge == nil {
		return roster.Errorf(roster.EINVALID, "Say whether auto-recharge is on (true or false)")
	}
	b, err := s.Svc.SetAutoRecharge(r.Context(), c.Account, in.AutoRecharge.Enabled, in.AutoRecharge.ThresholdUSD, in.AutoRecharge.AmountUSD, c.Actor())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toBilling(b))
}

func (s *Server) addPaymentMethod(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in struct {
		CardNumber string `json:"card_number"`
		ExpMonth   int    `json:"exp_month"`
		ExpYear    int    `json:"exp_year"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	pm, err := s.Svc.AddPaymentMethod(r.Context(), c.Account, in.CardNumber, in.ExpMonth, in.ExpYear, c.Actor())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, pm)
}

func (s *Server) deletePaymentMethod(w http.ResponseWriter, r *http.Request, c *Caller) error {
	id, err := pathInt(r, "pm_id")
	if err != nil {
		return err
	}
	if err := s.Svc.DeletePaymentMethod(r.Context(), c.Account, id, c.Actor()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) addRecharge(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in struct {
		AmountUSD float64 `json:"amount_usd"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	rc, err := s.Svc.Recharge(r.Context(), c.Account, in.AmountUSD, c.Actor())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, rechargeJSON{rc.ID, usd(rc.Amount), rc.CreatedAt})
}

// --- pricing and logs

func (s *Server) showPricing(w http.ResponseWriter, r *http.Request, c *Caller) error {
	p, err := s.Svc.Price(r.Context(), r.URL.Query().Get("country"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"country": p.Country, "voice_per_minute_usd": float64(p.VoicePerMinute) / 1e6, "sms_per_message_usd": float64(p.SMSPerMessage) / 1e6,
	})
}

func timeParam(r *http.Request, name string) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return t, roster.Errorf(roster.EINVALID, "The %s parameter must be an RFC 3339 time like 2026-11-01T00:00:00Z", name)
	}
	return t, nil
}

func (s *Server) listLogs(w http.ResponseWriter, r *http.Request, c *Caller) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	f := roster.LogFilter{Kind: r.URL.Query().Get("kind"), Number: r.URL.Query().Get("number")}
	if f.From, err = timeParam(r, "from"); err != nil {
		return err
	}
	if f.To, err = timeParam(r, "to"); err != nil {
		return err
	}
	recs, total, err := s.Svc.Logs(r.Context(), c.Account, f, p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(p, total, recs))
}

type ingestRecord struct {
	AccountID       string    `json:"account_id"`
	Kind            string    `json:"kind"`
	FromNumber      string    `json:"from_number"`
	ToNumber        string    `json:"to_number"`
	Direction       string    `json:"direction"`
	Status          string    `json:"status"`
	DurationSeconds int       `json:"duration_seconds"`
	StartedAt       time.Time `json:"started_at"`
}

// ingestLogs takes one record, or {"records": [...]} of up to 1000. A
// batch is all or nothing: the first bad record (or unknown account) is
// named in the error and nothing is stored.
func (s *Server) ingestLogs(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in struct {
		ingestRecord
		Records []ingestRecord `json:"records"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	recs := in.Records
	if recs == nil {
		recs = []ingestRecord{in.ingestRecord}
	}
	if len(recs) == 0 || len(recs) > 1000 {
		return roster.Errorf(roster.EINVALID, "Send 1 to 1000 records")
	}
	byAccount := map[string][]roster.LogRecord{}
	var order []string
	for i, rec := range recs {
		lr := roster.LogRecord{Kind: rec.Kind, FromNumber: rec.FromNumber, ToNumber: rec.ToNumber, Direction: rec.Direction,
			Status: rec.Status, DurationSeconds: rec.DurationSeconds, StartedAt: rec.StartedAt}
		if err := service.CheckLogRecord(lr); err != nil {
			return roster.Errorf(roster.EINVALID, "Record %d (counting from 0): %s", i, roster.ErrorMessage(err))
		}
		if _, err := s.Svc.AccountSeq(r.Context(), rec.AccountID); err != nil {
			if roster.ErrorCode(err) == roster.ENOTFOUND {
				return roster.Errorf(roster.ENOTFOUND, "Record %d (counting from 0): no such account %q", i, rec.AccountID)
			}
			return err
		}
		if _, ok := byAccount[rec.AccountID]; !ok {
			order = append(order, rec.AccountID)
		}
		byAccount[rec.AccountID] = append(byAccount[rec.AccountID], lr)
	}
	if err := s.Svc.IngestBatch(r.Context(), order, byAccount); err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{"stored": len(recs)})
}

// --- personal API keys

func (s *Server) createAPIKey(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in struct {
		AccountID string `json:"account_id"`
		Name      string `json:"name"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	k, key, err := s.Svc.CreateAPIKey(r.Context(), c.User, in.AccountID, in.Name, c.IP)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{
		"id": k.ID, "account_id": k.AccountID, "name": k.Name, "prefix": k.Prefix, "created_at": k.CreatedAt,
		"key": key, "note": "This is the only time the key is shown: store it now.",
	})
}

func (s *Server) listAPIKeys(w http.ResponseWriter, r *http.Request, c *Caller) error {
	ks, err := s.Svc.APIKeys(r.Context(), c.User)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(roster.Page{Limit: len(ks)}, len(ks), ks))
}

func (s *Server) deleteAPIKey(w http.ResponseWriter, r *http.Request, c *Caller) error {
	id, err := pathInt(r, "key_id")
	if err != nil {
		return err
	}
	if err := s.Svc.DeleteAPIKey(r.Context(), c.User, id, c.IP); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
