package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service"
)

// Passkeys (issue 24): a person's own under /v1/me, the passwordless
// sign-in and the passkey as the second factor of a password login.
// Options are answered as {public_key: <the options' publicKey member>}
// (PublicKeyCredentialCreationOptionsJSON / RequestOptionsJSON, binary
// members in base64url); a credential is the PublicKeyCredential's JSON.

func (s *Server) passkeyRoutes() []Route {
	return []Route{
		{"POST /v1/me/passkeys/registration", Session, 0, s.beginPasskeyRegistration},
		{"POST /v1/me/passkeys/registration/finish", Session, 0, s.finishPasskeyRegistration},
		{"GET /v1/me/passkeys", Session, 0, s.passkeys},
		{"PATCH /v1/me/passkeys/{passkey_id}", Session, 0, s.renamePasskey},
		{"DELETE /v1/me/passkeys/{passkey_id}", Session, 0, s.deletePasskey},
		{"POST /v1/passkeys/login", Public, 0, s.beginPasskeyLogin},
		{"POST /v1/passkeys/login/finish", Public, 0, s.finishPasskeyLogin},
		{"POST /v1/login/passkey", Public, 0, s.beginPasskeySecondFactor},
		{"POST /v1/login/passkey/finish", Public, 0, s.finishPasskeySecondFactor},
	}
}

type passkeyJSON struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"` // absent: never used to sign in
	BackedUp   bool       `json:"backed_up"`
}

func toPasskey(p roster.Passkey) passkeyJSON {
	out := passkeyJSON{ID: p.ID, Name: p.Name, CreatedAt: p.CreatedAt, BackedUp: p.BackedUp}
	if !p.LastUsedAt.IsZero() {
		t := p.LastUsedAt
		out.LastUsedAt = &t
	}
	return out
}

// publicKey is the publicKey member of options the service made.
func publicKey(options json.RawMessage) (json.RawMessage, error) {
	var o struct {
		PublicKey json.RawMessage `json:"publicKey"`
	}
	if err := json.Unmarshal(options, &o); err != nil || len(o.PublicKey) == 0 {
		return nil, errors.New("httpapi: passkey options without publicKey")
	}
	return o.PublicKey, nil
}

// passkeyCredential is what the finish routes take: the browser's
// PublicKeyCredential, as JSON (an object).
func passkeyCredential(raw json.RawMessage) (json.RawMessage, error) {
	if len(raw) == 0 || raw[0] != '{' {
		return nil, roster.FieldErrorf("credential", roster.EINVALID, "Give the passkey's credential: the PublicKeyCredential the browser returned, as JSON")
	}
	return raw, nil
}

func (s *Server) beginPasskeyRegistration(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in stepUpBody
	if err := decode(r, &in); err != nil {
		return err
	}
	options, err := s.Svc.BeginPasskeyRegistration(r.Context(), c.User, in.proof(), c.IP)
	if err != nil {
		return err
	}
	pk, err := publicKey(options)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"public_key": pk})
}

func (s *Server) finishPasskeyRegistration(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in struct {
		Name       string          `json:"name"`
		Credential json.RawMessage `json:"credential"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	cred, err := passkeyCredential(in.Credential)
	if err != nil {
		return err
	}
	p, err := s.Svc.FinishPasskeyRegistration(r.Context(), c.User, in.Name, cred, c.IP)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toPasskey(p))
}

func (s *Server) passkeys(w http.ResponseWriter, r *http.Request, c *Caller) error {
	ps, err := s.Svc.Passkeys(r.Context(), c.User)
	if err != nil {
		return err
	}
	out := make([]passkeyJSON, 0, len(ps))
	for _, p := range ps {
		out = append(out, toPasskey(p))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"objects": out})
}

func (s *Server) renamePasskey(w http.ResponseWriter, r *http.Request, c *Caller) error {
	id, err := pathInt(r, "passkey_id")
	if err != nil {
		return err
	}
	var in struct {
		Name *string `json:"name"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Name == nil {
		return roster.FieldErrorf("name", roster.EINVALID, "Give the passkey's new name")
	}
	p, err := s.Svc.RenamePasskey(r.Context(), c.User, id, *in.Name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toPasskey(p))
}

func (s *Server) deletePasskey(w http.ResponseWriter, r *http.Request, c *Caller) error {
	id, err := pathInt(r, "passkey_id")
	if err != nil {
		return err
	}
	var in stepUpBody
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.Svc.DeletePasskey(r.Context(), c.User, id, in.proof(), c.IP); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) beginPasskeyLogin(w http.ResponseWriter, r *http.Request, c *Caller) error {
	if r.ContentLength != 0 {
		var in struct{}
		if err := decode(r, &in); err != nil {
			return err
		}
	}
	options, flowID, err := s.Svc.BeginPasskeyLogin(r.Context(), c.IP)
	if err != nil {
		return err
	}
	pk, err := publicKey(options)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"public_key": pk, "flow_id": flowID})
}

func (s *Server) finishPasskeyLogin(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in struct {
		FlowID     string          `json:"flow_id"`
		Credential json.RawMessage `json:"credential"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.FlowID == "" {
		return roster.FieldErrorf("flow_id", roster.EINVALID, "Give the flow ID the start of the passkey sign-in answered")
	}
	cred, err := passkeyCredential(in.Credential)
	if err != nil {
		return err
	}
	res, err := s.Svc.FinishPasskeyLogin(r.Context(), in.FlowID, cred, c.IP, r.UserAgent())
	if err != nil {
		return err
	}
	s.setSession(w, r, res.Session)
	return writeJSON(w, http.StatusOK, map[string]any{"user": toUser(res.User)})
}

func (s *Server) beginPasskeySecondFactor(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in struct {
		MFAToken string `json:"mfa_token"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.MFAToken == "" {
		return roster.FieldErrorf("mfa_token", roster.EINVALID, "Give the second-factor token the login answered")
	}
	options, err := s.Svc.BeginPasskeySecondFactor(r.Context(), in.MFAToken)
	if err != nil {
		return err
	}
	pk, err := publicKey(options)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"public_key": pk})
}

func (s *Server) finishPasskeySecondFactor(w http.ResponseWriter, r *http.Request, c *Caller) error {
	var in struct {
		MFAToken   string          `json:"mfa_token"`
		Credential json.RawMessage `json:"credential"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.MFAToken == "" {
		return roster.FieldErrorf("mfa_token", roster.EINVALID, "Give the second-factor token the login answered")
	}
	cred, err := passkeyCredential(in.Credential)
	if err != nil {
		return err
	}
	res, err := s.Svc.FinishPasskeySecondFactor(r.Context(), in.MFAToken, cred, c.IP, r.UserAgent())
	if err != nil {
		return err
	}
	s.setSession(w, r, res.Session)
	return writeJSON(w, http.StatusOK, map[string]any{"user": toUser(res.User)})
}

// mfaChallenge writes the login's 401 mfa_required with the second
// factors the user has and the token to give one with: the error object
// gains methods and mfa_token.
func mfaChallenge(w http.ResponseWriter, err error, res service.LoginResult) error {
	var body struct {
		Error struct {
			Code     string   `json:"code"`
			Message  string   `json:"message"`
			Field    string   `json:"field,omitempty"`
			Methods  []string `json:"methods"`
			MFAToken string   `json:"mfa_token"`
		} `json:"error"`
	}
	body.Error.Code, body.Error.Message, body.Error.Field = roster.ErrorCode(err), roster.ErrorMessage(err), roster.FieldOf(err)
	body.Error.Methods, body.Error.MFAToken = res.Methods, res.Pending
	if body.Error.Methods == nil {
		body.Error.Methods = []string{}
	}
	return writeJSON(w, StatusOf(err), body)
}
