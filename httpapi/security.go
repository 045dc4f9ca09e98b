package httpapi

import (
	"net/http"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service"
)

// --- password reset, password change, two-factor sign-in, sessions

func (s *Server) passwordReset(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in struct {
		Email string `json:"email"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	// The same answer, in the same time, for every address: the work that
	// depends on it happens after the answer. Refusals (429, 503) are the
	// same for every address too.
	if err := s.Svc.RequestPasswordReset(r.Context(), in.Email, c.IP); err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, map[string]string{"status": "reset_requested",
		"message": "If the address has a Roster login, a reset link is on its way."})
}

func (s *Server) passwordResetConfirm(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in struct {
		Token    string `json:"token"`
		Password string `json:"password"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.Svc.ConfirmPasswordReset(r.Context(), in.Token, in.Password, c.IP); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]string{"status": "password_reset",
		"message": "Your password is set, every session was signed out and your personal API keys were deleted: log in with the new password."})
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in struct {
		Current string `json:"current_password"`
		New     string `json:"new_password"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.Svc.ChangePassword(r.Context(), c.User, c.Session, in.Current, in.New, c.IP); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]string{"status": "password_changed"})
}

// stepUpBody is what a change to one's own second factor asks for again:
// the current password and, while two-factor sign-in is on, a current
// code (otp) or a recovery code.
type stepUpBody struct {
	Password     string `json:"password"`
	OTP          string `json:"otp"`
	RecoveryCode string `json:"recovery_code"`
}

func (b stepUpBody) proof() service.StepUp {
	return service.StepUp{Password: b.Password, OTP: b.OTP, RecoveryCode: b.RecoveryCode}
}

func (s *Server) startTOTP(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in stepUpBody
	if err := decode(r, &in); err != nil {
		return err
	}
	e, err := s.Svc.StartTOTP(r.Context(), c.User, in.proof(), c.IP)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, e)
}

type recoveryCodesJSON struct {
	RecoveryCodes []string `json:"recovery_codes"`
	Note          string   `json:"note"`
}

const recoveryNote = "Each code signs you in once if you lose your authenticator. They are shown only now: store them somewhere safe."

func (s *Server) confirmTOTP(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in struct {
		Code     string `json:"code"`
		Password string `json:"password"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	codes, err := s.Svc.ConfirmTOTP(r.Context(), c.User, c.Session, service.StepUp{Password: in.Password}, in.Code, c.IP)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, recoveryCodesJSON{codes, recoveryNote})
}

func (s *Server) disableTOTP(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in stepUpBody
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.Svc.DisableTOTP(r.Context(), c.User, in.proof(), c.IP); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) newRecoveryCodes(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in stepUpBody
	if err := decode(r, &in); err != nil {
		return err
	}
	codes, err := s.Svc.NewRecoveryCodes(r.Context(), c.User, in.proof(), c.IP)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, recoveryCodesJSON{codes, recoveryNote})
}

func (s *Server) sessions(w http.ResponseWriter, r *http.Request, c *Caller) error {
	ss, err := s.Svc.Sessions(r.Context(), c.User, c.Session)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(roster.Page{Limit: len(ss)}, len(ss), ss))
}

func (s *Server) endSession(w http.ResponseWriter, r *http.Request, c *Caller) error {
	id, err := pathInt(r, "session_id")
	if err != nil {
		return err
	}
	if err := s.Svc.EndSession(r.Context(), c.User, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) endOtherSessions(w http.ResponseWriter, r *http.Request, c *Caller) error {
	if err := s.Svc.EndOtherSessions(r.Context(), c.User, c.Session, c.IP); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// setSecurity sets the account's sign-in requirements: require_mfa,
// require_sso, or both (two-factor first; each is its own change, audited
// and applied on its own).
func (s *Server) setSecurity(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in struct {
		RequireMFA *bool `json:"require_mfa"`
		RequireSSO *bool `json:"require_sso"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.RequireMFA == nil && in.RequireSSO == nil {
		return roster.FieldErrorf("require_mfa", roster.EINVALID, "Say whether the account requires two-factor sign-in or single sign-on (true or false)")
	}
	a := c.Account
	if in.RequireMFA != nil {
		var err error
		if a, err = s.Svc.SetRequireMFA(r.Context(), a, c.User, *in.RequireMFA, c.Actor()); err != nil {
			return err
		}
	}
	if in.RequireSSO != nil {
		var err error
		if a, err = s.Svc.SetRequireSSO(r.Context(), a, c.User, c.Role, c.CameThroughSSO(), *in.RequireSSO, c.Actor()); err != nil {
			return err
		}
	}
	// What the caller holds now: the requirement they changed applies to them too.
	h := service.MembershipHeld(roster.Membership{Account: a, Role: c.Role}, c.User)
	return writeJSON(w, http.StatusOK, s.accountView(a, h))
}
