package httpapi

import (
	"net/http"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/edge"
	"github.com/rosterhq/roster/service"
)

// routes is the route table: every route the API serves, with who may call it.
func (s *Server) routes() []Route {
	return append(append(append(append(append(append(append(s.coreRoutes(), s.areaRoutes()...), s.accessRoutes()...), s.webhookRoutes()...), s.ssoRoutes()...), s.domainRoutes()...), s.scimAdminRoutes()...), s.passkeyRoutes()...)
}

func (s *Server) coreRoutes() []Route {
	return []Route{
		{"GET /v1/openapi.json", Public, 0, s.openapi},
		{"POST /v1/signup", Public, 0, s.signup},
		{"POST /v1/verify-email", Public, 0, s.verifyEmail},
		{"POST /v1/login", Public, 0, s.login},
		{"POST /v1/logout", Public, 0, s.logout},
		{"GET /v1/invitations/{token}", Public, 0, s.previewInvitation},

		{"POST /v1/password-reset", Public, 0, s.passwordReset},
		{"POST /v1/password-reset/confirm", Public, 0, s.passwordResetConfirm},

		{"GET /v1/me", Session, 0, s.me},
		{"POST /v1/me/password", Session, 0, s.changePassword},
		{"POST /v1/me/mfa/totp", Session, 0, s.startTOTP},
		{"POST /v1/me/mfa/totp/confirm", Session, 0, s.confirmTOTP},
		{"DELETE /v1/me/mfa/totp", Session, 0, s.disableTOTP},
		{"POST /v1/me/mfa/recovery-codes", Session, 0, s.newRecoveryCodes},
		{"GET /v1/me/sessions", Session, 0, s.sessions},
		{"DELETE /v1/me/sessions", Session, 0, s.endOtherSessions},
		{"DELETE /v1/me/sessions/{session_id}", Session, 0, s.endSession},
		{"GET /v1/me/accounts", Session, 0, s.myAccounts},
		{"PUT /v1/me/default-account", Session, 0, s.setDefaultAccount},
		{"POST /v1/accounts", Session, 0, s.createAccount},
		{"POST /v1/invitations/{token}/accept", Session, 0, s.acceptInvitation},

		{"GET /v1/accounts/{id}", Member, AnyMember, s.account},
		{"DELETE /v1/accounts/{id}/members/me", Member, AnyMember, s.leave},
		{"GET /v1/accounts/{id}/members", Member, roster.TeamView, s.members},
		{"PATCH /v1/accounts/{id}/members/{user_id}", Member, roster.TeamEdit, s.setMemberRole},
		{"DELETE /v1/accounts/{id}/members/{user_id}", Member, roster.TeamEdit, s.deleteMember},
		{"GET /v1/accounts/{id}/invitations", Member, roster.TeamView, s.invitations},
		{"POST /v1/accounts/{id}/invitations", Member, roster.TeamEdit, s.invite},
		{"PATCH /v1/accounts/{id}/invitations/{inv_id}", Member, roster.TeamEdit, s.setInvitationRole},
		{"DELETE /v1/accounts/{id}/invitations/{inv_id}", Member, roster.TeamEdit, s.revokeInvitation},
		{"POST /v1/accounts/{id}/invitations/{inv_id}/resend", Member, roster.TeamEdit, s.resendInvitation},
		{"GET /v1/accounts/{id}/audit", Member, roster.AuditView, s.audit},
		{"PATCH /v1/accounts/{id}/security", Member, roster.TeamEdit, s.setSecurity},

		{"POST /v1/authz/check", Service, 0, s.check},
		{"POST /v1/authz/check-batch", Service, 0, s.checkBatch},
		{"PUT /v1/admin/accounts/{id}/plan", Operator, 0, s.setPlan},
	}
}

// --- users and sessions

func (s *Server) setSession(w http.ResponseWriter, r *http.Request, token string) {
	s.Proxies.SetSession(w, r, token, s.Svc.Config.SessionTTL)
}

type userJSON struct {
	ID               int64     `json:"id"`
	Email            string    `json:"email"`
	Name             string    `json:"name"`
	EmailVerified    bool      `json:"email_verified"`
	MFAEnabled       bool      `json:"mfa_enabled"`
	DefaultAccountID *string   `json:"default_account_id"`
	CreatedAt        time.Time `json:"created_at"`
}

func toUser(u roster.User) userJSON {
	j := userJSON{ID: u.ID, Email: u.Email, Name: u.Name, EmailVerified: u.EmailVerified, MFAEnabled: u.MFAEnabled, CreatedAt: u.CreatedAt}
	if u.DefaultAccountID != "" {
		j.DefaultAccountID = &u.DefaultAccountID
	}
	return j
}

func (s *Server) signup(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in struct {
		Email           string `json:"email"`
		Password        string `json:"password"`
		Name            string `json:"name"`
		InvitationToken string `json:"invitation_token"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	res, err := s.Svc.Signup(r.Context(), service.SignupInput{Email: in.Email, Password: in.Password, Name: in.Name,
		InvitationToken: in.InvitationToken, UserAgent: r.UserAgent()}, c.IP)
	if err != nil {
		return err
	}
	if res.Session != "" {
		s.setSession(w, r, res.Session)
		return writeJSON(w, http.StatusCreated, map[string]any{"user": toUser(res.User), "account": accountRef{res.Account.ID, res.Account.Name}})
	}
	// The same answer whether or not the address was registered already.
	return writeJSON(w, http.StatusCreated, map[string]any{
		"status":  "verification_sent",
		"message": "Check your inbox: we sent a link to " + res.User.Email + " to verify the address.",
	})
}

func (s *Server) verifyEmail(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in struct {
		Token string `json:"token"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	u, err := s.Svc.VerifyEmail(r.Context(), in.Token)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"status": "verified", "email": u.Email})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in struct {
		Email        string `json:"email"`
		Password     string `json:"password"`
		OTP          string `json:"otp"`
		RecoveryCode string `json:"recovery_code"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	res, err := s.Svc.Login(r.Context(), service.LoginInput{Email: in.Email, Password: in.Password, OTP: in.OTP,
		RecoveryCode: in.RecoveryCode, IP: c.IP, UserAgent: r.UserAgent(), WantPending: true})
	if err != nil {
		if res.Pending != "" && roster.ErrorCode(err) == roster.EMFAREQUIRED {
			return mfaChallenge(w, err, res)
		}
		return err
	}
	s.setSession(w, r, res.Session)
	return writeJSON(w, http.StatusOK, map[string]any{"user": toUser(res.User)})
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, c *Caller) error {
	if session := edge.Session(r); session != "" {
		if err := s.Svc.Logout(r.Context(), session); err != nil {
			return err
		}
	}
	s.Proxies.ClearSession(w, r)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) me(w http.ResponseWriter, r *http.Request, c *Caller) error {
	return writeJSON(w, http.StatusOK, toUser(c.User))
}

type accountRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type membershipJSON struct {
	Account   accountRef          `json:"account"`
	Role      string              `json:"role"`
	Status    roster.MemberStatus `json:"status"`
	IsDefault bool                `json:"is_default"`
}

func (s *Server) myAccounts(w http.ResponseWriter, r *http.Request, c *Caller) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	ms, total, err := s.Svc.Memberships(r.Context(), c.User.ID, p)
	if err != nil {
		return err
	}
	out := make([]membershipJSON, 0, len(ms))
	for _, m := range ms {
		out = append(out, membershipJSON{accountRef{m.Account.ID, m.Account.Name}, m.Role.String(), m.Status, m.IsDefault})
	}
	return writeJSON(w, http.StatusOK, newList(p, total, out))
}

func (s *Server) setDefaultAccount(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in struct {
		AccountID string `json:"account_id"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.Svc.SetDefaultAccount(r.Context(), c.User.ID, in.AccountID); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"default_account_id": in.AccountID})
}

// --- accounts

type accountJSON struct {
	roster.Account
	Role        string   `json:"role"`
	Status      string   `json:"status"`
	Reason      string   `json:"reason,omitempty"`
	Permissions []string `json:"permissions"`
}

// accountView is the account with what the caller holds in it (h: the
// gate's reading, as every view of access shows it).
func (s *Server) accountView(a roster.Account, h service.Held) accountJSON {
	return accountJSON{Account: a, Role: h.Role.String(), Status: string(h.Status), Reason: h.Reason, Permissions: permissionNames(h.Permissions())}
}

func (s *Server) createAccount(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in struct {
		Name string `json:"name"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	a, err := s.Svc.CreateAccount(r.Context(), c.User, in.Name, c.IP)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, s.accountView(a, service.MembershipHeld(roster.Membership{Account: a, Role: roster.RoleOwner}, c.User)))
}

func (s *Server) account(w http.ResponseWriter, r *http.Request, c *Caller) error {
	return writeJSON(w, http.StatusOK, s.accountView(c.Account, c.Held))
}

func (s *Server) leave(w http.ResponseWriter, r *http.Request, c *Caller) error {
	if err := s.Svc.Leave(r.Context(), c.User, c.Account.ID, c.IP); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// --- team

type memberJSON struct {
	UserID      int64               `json:"user_id"`
	Email       string              `json:"email"`
	Name        string              `json:"name"`
	Role        string              `json:"role"`
	Status      roster.MemberStatus `json:"status"`
	MFAEnabled  bool                `json:"mfa_enabled"`
	SSO         bool                `json:"sso"`         // has signed in through the account's single sign-on
	Provisioned bool                `json:"provisioned"` // the company's directory manages the membership (SCIM)
	JoinedAt    time.Time           `json:"joined_at"`
}

func toMember(m roster.Member) memberJSON {
	return memberJSON{m.UserID, m.Email, m.Name, m.Role.String(), m.Status, m.MFA, m.SSO, m.Provisioned, m.JoinedAt}
}

func (s *Server) members(w http.ResponseWriter, r *http.Request, c *Caller) error {
	t, err := readTeamQuery(r)
	if err != nil {
		return err
	}
	if !t.byOffset {
		return s.memberList(w, r, c, t)
	}
	p, err := page(r)
	if err != nil {
		return err
	}
	ms, total, next, err := s.Svc.Members(r.Context(), c.Account, p)
	if err != nil {
		return err
	}
	out := make([]memberJSON, 0, len(ms))
	for _, m := range ms {
		out = append(out, toMember(m))
	}
	p.Next = next
	return writeJSON(w, http.StatusOK, teamList[memberJSON]{offsetMeta(p, total, len(out)), out})
}

type roleBody struct {
	Role string `json:"role"`
}

func (s *Server) setMemberRole(w http.ResponseWriter, r *http.Request, c *Caller) error {
	uid, err := pathInt(r, "user_id")
	if err != nil {
		return err
	}
	var in roleBody
	if err := decode(r, &in); err != nil {
		return err
	}
	m, err := s.Svc.SetMemberRole(r.Context(), c.Account, uid, in.Role, c.Actor())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toMember(m))
}

func (s *Server) deleteMember(w http.ResponseWriter, r *http.Request, c *Caller) error {
	uid, err := pathInt(r, "user_id")
	if err != nil {
		return err
	}
	if err := s.Svc.DeleteMember(r.Context(), c.Account, uid, c.Actor()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type invitationJSON struct {
	ID         int64                   `json:"id"`
	Email      string                  `json:"email"`
	Role       string                  `json:"role"`
	Status     roster.InvitationStatus `json:"status"`
	InvitedBy  int64                   `json:"invited_by"`
	SendCount  int                     `json:"send_count"`
	CreatedAt  time.Time               `json:"created_at"`
	LastSentAt time.Time               `json:"last_sent_at"`
	ExpiresAt  time.Time               `json:"expires_at"`
}

func toInvitation(i roster.Invitation) invitationJSON {
	return invitationJSON{i.ID, i.Email, i.Role.String(), i.Status, i.InvitedBy, i.SendCount, i.CreatedAt, i.LastSentAt, i.ExpiresAt}
}

func (s *Server) invitations(w http.ResponseWriter, r *http.Request, c *Caller) error {
	t, err := readTeamQuery(r)
	if err != nil {
		return err
	}
	if !t.byOffset {
		return s.invitationList(w, r, c, t)
	}
	p, err := page(r)
	if err != nil {
		return err
	}
	is, total, err := s.Svc.Invitations(r.Context(), c.Account, p)
	if err != nil {
		return err
	}
	out := make([]invitationJSON, 0, len(is))
	for _, i := range is {
		out = append(out, toInvitation(i))
	}
	return writeJSON(w, http.StatusOK, teamList[invitationJSON]{offsetMeta(p, total, len(out)), out})
}

func (s *Server) invite(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in struct {
		Email string `json:"email"`
		Role  string `json:"role"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	inv, err := s.Svc.Invite(r.Context(), c.Account, in.Email, in.Role, c.Actor())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toInvitation(inv))
}

func (s *Server) setInvitationRole(w http.ResponseWriter, r *http.Request, c *Caller) error {
	id, err := pathInt(r, "inv_id")
	if err != nil {
		return err
	}
	var in roleBody
	if err := decode(r, &in); err != nil {
		return err
	}
	inv, err := s.Svc.SetInvitationRole(r.Context(), c.Account, id, in.Role, c.Actor())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toInvitation(inv))
}

func (s *Server) revokeInvitation(w http.ResponseWriter, r *http.Request, c *Caller) error {
	id, err := pathInt(r, "inv_id")
	if err != nil {
		return err
	}
	if err := s.Svc.RevokeInvitation(r.Context(), c.Account, id, c.Actor()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) resendInvitation(w http.ResponseWriter, r *http.Request, c *Caller) error {
	id, err := pathInt(r, "inv_id")
	if err != nil {
		return err
	}
	inv, err := s.Svc.ResendInvitation(r.Context(), c.Account, id, c.Actor())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toInvitation(inv))
}

func (s *Server) previewInvitation(w http.ResponseWriter, r *http.Request, c *Caller) error {
	p, err := s.Svc.PreviewInvitation(r.Context(), r.PathValue("token"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"account_name": p.Invitation.AccountName, "role": p.Invitation.Role.String(), "email": p.Invitation.Email,
		"expires_at": p.Invitation.ExpiresAt, "user_exists": p.UserExists,
	})
}

func (s *Server) acceptInvitation(w http.ResponseWriter, r *http.Request, c *Caller) error {
	a, role, err := s.Svc.AcceptInvitation(r.Context(), c.User, r.PathValue("token"), c.IP)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.accountView(a, service.MembershipHeld(roster.Membership{Account: a, Role: role}, c.User)))
}

func (s *Server) audit(w http.ResponseWriter, r *http.Request, c *Caller) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f, err := service.ParseAuditFilter(q.Get("actor"), q.Get("action"))
	if err != nil {
		return err
	}
	es, total, err := s.Svc.FilterAuditEvents(r.Context(), c.Account, f, p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(p, total, es))
}

// --- platform

func (s *Server) setPlan(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in struct {
		Plan                 roster.Plan `json:"plan"`
		MonthlyCommitmentUSD int         `json:"monthly_commitment_usd"`
		ContractMonths       int         `json:"contract_months"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	a, err := s.Svc.SetPlan(r.Context(), r.PathValue("id"), in.Plan, in.MonthlyCommitmentUSD, in.ContractMonths,
		roster.Actor{Email: "operator", IP: c.IP})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}
