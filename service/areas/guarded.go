package areas

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	_ "time/tzdata" // validate time zones on machines without a zoneinfo database

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/authz"
	"github.com/rosterhq/roster/service/internal/core"
	"github.com/rosterhq/roster/store"
)

// The guarded areas. Callers authorize first (each route names its
// permission); these methods validate, store and audit.

// NumberInput is what a caller sets on a number; nil fields keep their value.
type NumberInput struct {
	Number        string
	Alias         *string
	ApplicationID *int64 // 0 unlinks
}

func (s *Areas) linkedApp(ctx context.Context, tx *store.Tx, acct int64, id *int64) (*int64, error) {
	if id == nil || *id == 0 {
		return nil, nil
	}
	if _, err := tx.Application(ctx, acct, *id); errors.Is(err, store.ErrNoRows) {
		return nil, roster.FieldErrorf("application_id", roster.EINVALID, "Application %d does not exist in this account", *id)
	} else if err != nil {
		return nil, err
	}
	return id, nil
}

func cleanAlias(a string) (string, error) {
	a = strings.TrimSpace(a)
	if len(a) > 100 || strings.ContainsAny(a, "\r\n\x00") {
		return "", roster.FieldErrorf("alias", roster.EINVALID, "Alias must be one line of at most 100 characters")
	}
	return a, nil
}

// AddNumber adds a phone number. A number belongs to one account only.
// Errors: EINVALID, ECONFLICT (on this account already, or on another).
func (s *Areas) AddNumber(ctx context.Context, a roster.Account, in NumberInput, actor roster.Actor) (roster.Number, error) {
	n := roster.Number{Number: strings.TrimSpace(in.Number)}
	if !roster.IsE164(n.Number) {
		return n, roster.FieldErrorf("number", roster.EINVALID, "Number must be in E.164 form, like +14155550100")
	}
	if in.Alias != nil {
		alias, err := cleanAlias(*in.Alias)
		if err != nil {
			return n, err
		}
		n.Alias = alias
	}
	// The transaction may run again (a serialization failure): each
	// attempt starts from n as it is here and leaves it so; what it reads
	// back goes to out.
	var out roster.Number
	err := s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		add := n
		var err error
		if add.ApplicationID, err = s.linkedApp(ctx, tx, a.Seq, in.ApplicationID); err != nil {
			return err
		}
		if err := tx.AddNumber(ctx, a.Seq, add); errors.Is(err, store.ErrHeldHere) {
			return roster.FieldErrorf("number", roster.ECONFLICT, "The number %s is already on this account", n.Number)
		} else if errors.Is(err, store.ErrUnique) {
			// Said plainly: the number cannot be added, and a person asking
			// needs to know it is not a typo. Which account holds it is not said.
			return roster.FieldErrorf("number", roster.ECONFLICT, "The number %s belongs to another account: a phone number belongs to one account only", n.Number)
		} else if err != nil {
			return err
		}
		if err := tx.Audit(ctx, a.Seq, actor, roster.ActionNumberAdd, n.Number, ""); err != nil {
			return err
		}
		out, err = tx.Number(ctx, a.Seq, n.Number)
		return err
	})
	return out, err
}

// Numbers lists the account's numbers whose alias contains alias.
// Errors: EINVALID (an alias no number could have).
func (s *Areas) Numbers(ctx context.Context, a roster.Account, alias string, p roster.Page) ([]roster.Number, int, error) {
	if !core.FilterText(alias) {
		return nil, 0, roster.FieldErrorf("alias", roster.EINVALID, "Alias must be text without control characters")
	}
	return s.c.DB.Numbers(ctx, a.Seq, alias, p)
}

// Number shows one number. Errors: ENOTFOUND.
func (s *Areas) Number(ctx context.Context, a roster.Account, number string) (roster.Number, error) {
	var n roster.Number
	err := s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		var err error
		n, err = tx.Number(ctx, a.Seq, number)
		return core.DBErr(err, "No such number on this account")
	})
	return n, err
}

// UpdateNumber edits a number's alias and application. Errors: EINVALID, ENOTFOUND.
func (s *Areas) UpdateNumber(ctx context.Context, a roster.Account, in NumberInput, actor roster.Actor) (roster.Number, error) {
	var n roster.Number
	err := s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		var err error
		if n, err = tx.Number(ctx, a.Seq, in.Number); err != nil {
			return core.DBErr(err, "No such number on this account")
		}
		if in.Alias != nil {
			if n.Alias, err = cleanAlias(*in.Alias); err != nil {
				return err
			}
		}
		if in.ApplicationID != nil {
			if n.ApplicationID, err = s.linkedApp(ctx, tx, a.Seq, in.ApplicationID); err != nil {
				return err
			}
		}
		if err := tx.UpdateNumber(ctx, a.Seq, n); err != nil {
			return err
		}
		return tx.Audit(ctx, a.Seq, actor, roster.ActionNumberUpdate, n.Number, "")
	})
	return n, err
}

// DeleteNumber releases a number. Errors: ENOTFOUND.
func (s *Areas) DeleteNumber(ctx context.Context, a roster.Account, number string, actor roster.Actor) error {
	return s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteNumber(ctx, a.Seq, number); err != nil {
			return core.DBErr(err, "No such number on this account")
		}
		return tx.Audit(ctx, a.Seq, actor, roster.ActionNumberRelease, number, "")
	})
}

// --- applications

// checkURL checks a URL field; what names it for a person ("the answer URL").
func checkURL(field, what, raw string, required bool) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		if required {
			return "", roster.FieldErrorf(field, roster.EINVALID, "%s is required", capital(what))
		}
		return "", nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(raw) > 2000 {
		return "", roster.FieldErrorf(field, roster.EINVALID, "%s must be an http or https URL", capital(what))
	}
	return raw, nil
}

// ApplicationInput is what a caller sets on an application; nil keeps.
type ApplicationInput struct {
	Name, AnswerURL, AnswerMethod, HangupURL, MessageURL *string
}

func (in ApplicationInput) apply(app *roster.Application) error {
	var err error
	if in.Name != nil {
		if app.Name, err = core.CleanName(*in.Name, "name"); err != nil {
			return err
		}
	}
	if in.AnswerURL != nil {
		app.AnswerURL = *in.AnswerURL
	}
	if app.AnswerURL, err = checkURL("answer_url", "the answer URL", app.AnswerURL, true); err != nil {
		return err
	}
	if in.AnswerMethod != nil {
		app.AnswerMethod = strings.ToUpper(strings.TrimSpace(*in.AnswerMethod))
	}
	if app.AnswerMethod == "" {
		app.AnswerMethod = "POST"
	}
	if app.AnswerMethod != "GET" && app.AnswerMethod != "POST" {
		return roster.FieldErrorf("answer_method", roster.EINVALID, "The answer method must be GET or POST")
	}
	if in.HangupURL != nil {
		if app.HangupURL, err = checkURL("hangup_url", "the hang-up URL", *in.HangupURL, false); err != nil {
			return err
		}
	}
	if in.MessageURL != nil {
		if app.MessageURL, err = checkURL("message_url", "the message URL", *in.MessageURL, false); err != nil {
			return err
		}
	}
	return nil
}

// CreateApplication creates an application. Errors: EINVALID.
func (s *Areas) CreateApplication(ctx context.Context, a roster.Account, in ApplicationInput, actor roster.Actor) (roster.Application, error) {
	var app roster.Application
	if in.Name == nil {
		return app, roster.FieldErrorf("name", roster.EINVALID, "Name is required")
	}
	if err := in.apply(&app); err != nil {
		return app, err
	}
	// app is the input of every attempt (a serialization failure runs the
	// transaction again): what it reads back goes to out.
	var out roster.Application
	err := s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		id, err := tx.CreateApplication(ctx, a.Seq, app)
		if err != nil {
			return err
		}
		if err := tx.Audit(ctx, a.Seq, actor, roster.ActionApplicationCreate, fmt.Sprint(id), app.Name); err != nil {
			return err
		}
		out, err = tx.Application(ctx, a.Seq, id)
		return err
	})
	return out, err
}

// Applications lists the account's applications.
func (s *Areas) Applications(ctx context.Context, a roster.Account, p roster.Page) ([]roster.Application, int, error) {
	return s.c.DB.Applications(ctx, a.Seq, p)
}

// Application shows one application. Errors: ENOTFOUND.
func (s *Areas) Application(ctx context.Context, a roster.Account, id int64) (roster.Application, error) {
	var app roster.Application
	err := s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		var err error
		app, err = tx.Application(ctx, a.Seq, id)
		return core.DBErr(err, "No such application")
	})
	return app, err
}

// UpdateApplication edits an application. Errors: EINVALID, ENOTFOUND.
func (s *Areas) UpdateApplication(ctx context.Context, a roster.Account, id int64, in ApplicationInput, actor roster.Actor) (roster.Application, error) {
	var app roster.Application
	err := s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		var err error
		if app, err = tx.Application(ctx, a.Seq, id); err != nil {
			return core.DBErr(err, "No such application")
		}
		if err := in.apply(&app); err != nil {
			return err
		}
		if err := tx.UpdateApplication(ctx, a.Seq, app); err != nil {
			return err
		}
		return tx.Audit(ctx, a.Seq, actor, roster.ActionApplicationUpdate, fmt.Sprint(id), app.Name)
	})
	return app, err
}

// DeleteApplication deletes an application and unlinks its numbers.
// Errors: ENOTFOUND.
func (s *Areas) DeleteApplication(ctx context.Context, a roster.Account, id int64, actor roster.Actor) error {
	return s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteApplication(ctx, a.Seq, id); err != nil {
			return core.DBErr(err, "No such application")
		}
		return tx.Audit(ctx, a.Seq, actor, roster.ActionApplicationDelete, fmt.Sprint(id), "")
	})
}

// --- settings

// Settings returns the account's profile.
func (s *Areas) Settings(ctx context.Context, a roster.Account) (roster.Settings, error) {
	var st roster.Settings
	err := s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		var err error
		st, err = tx.Settings(ctx, a.Seq)
		return err
	})
	return st, err
}

// SettingsInput is what a caller sets; nil keeps.
type SettingsInput struct {
	Name, Company, Address, Timezone *string
}

// UpdateSettings edits the profile. Errors: EINVALID.
func (s *Areas) UpdateSettings(ctx context.Context, a roster.Account, in SettingsInput, actor roster.Actor) (roster.Settings, error) {
	var st roster.Settings
	err := s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		var err error
		if st, err = tx.Settings(ctx, a.Seq); err != nil {
			return err
		}
		if in.Name != nil {
			// The account's name is quoted by every mail about the account
			// (invitations, plan changes): the same rule as at sign-up and
			// creation, against the owner's address, whoever edits it.
			owner, err := tx.OwnerEmail(ctx, a.Seq)
			if err != nil {
				return err
			}
			if st.Name, err = core.CleanMailName(*in.Name, owner, "name"); err != nil {
				return err
			}
		}
		for _, f := range []struct {
			in         *string
			out        *string
			name, what string
		}{{in.Company, &st.Company, "company", "company name"}, {in.Address, &st.Address, "address", "address"}} {
			if f.in == nil {
				continue
			}
			v := strings.TrimSpace(*f.in)
			if len(v) > 500 || strings.ContainsRune(v, 0) {
				return roster.FieldErrorf(f.name, roster.EINVALID, "The %s must be at most 500 characters", f.what)
			}
			*f.out = v
		}
		if in.Timezone != nil {
			tz := strings.TrimSpace(*in.Timezone)
			if _, err := time.LoadLocation(tz); err != nil || tz == "" || tz == "Local" {
				return roster.FieldErrorf("timezone", roster.EINVALID, "The time zone %q is not an IANA time zone like Europe/Paris", tz)
			}
			st.Timezone = tz
		}
		if err := tx.SaveSettings(ctx, a.Seq, st); err != nil {
			return err
		}
		return tx.Audit(ctx, a.Seq, actor, roster.ActionSettingsUpdate, a.ID, "")
	})
	return st, err
}

// --- credentials

func newAuthToken() string {
	t, _ := core.NewToken()
	return t[:40]
}

// Credentials reveals the Auth ID and Auth Token; the view is audited.
func (s *Areas) Credentials(ctx context.Context, a roster.Account, actor roster.Actor) (roster.Credentials, error) {
	c := roster.Credentials{AuthID: a.ID}
	err := s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		if err := tx.EnsureCredentials(ctx, a.Seq, newAuthToken()); err != nil {
			return err
		}
		return tx.Audit(ctx, a.Seq, actor, roster.ActionCredentialsView, a.ID, "")
	})
	if err != nil {
		return c, err
	}
	token, _, until, err := s.c.DB.Credentials(ctx, a.Seq)
	c.AuthToken = token
	if until.After(s.c.DB.Now()) {
		c.OldValidUntil = &until
	}
	return c, err
}

// MaxGrace is the longest a rotated-out Auth Token may keep working.
const MaxGrace = 7 * 24 * time.Hour

// ParseGrace reads how long a rotated-out token keeps working: "" is 0,
// else a Go duration ("24h", "90m") from 0 to MaxGrace. Errors: EINVALID.
func ParseGrace(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 || d > MaxGrace {
		return 0, roster.FieldErrorf("keep_old_for", roster.EINVALID, "The old token can be kept from 0 to 7 days: give a duration like 24h")
	}
	return d, nil
}

// RotateCredentials replaces the Auth Token. The old one dies at once, or
// after keepOldFor (ParseGrace's form, at most 7 days) when asked.
// Errors: EINVALID.
func (s *Areas) RotateCredentials(ctx context.Context, a roster.Account, keepOldFor string, actor roster.Actor) (roster.Credentials, error) {
	grace, err := ParseGrace(keepOldFor)
	if err != nil {
		return roster.Credentials{}, err
	}
	c := roster.Credentials{AuthID: a.ID, AuthToken: newAuthToken()}
	err = s.c.DB.Transact(ctx, func(tx *store.Tx) error {
		if err := tx.EnsureCredentials(ctx, a.Seq, newAuthToken()); err != nil {
			return err
		}
		old, err := tx.CurrentToken(ctx, a.Seq)
		if err != nil {
			return err
		}
		var until time.Time
		if grace > 0 {
			until = tx.Now().Add(grace)
			c.OldValidUntil = &until
		}
		if err := tx.RotateCredentials(ctx, a.Seq, c.AuthToken, core.HashToken(old), until); err != nil {
			return err
		}
		if err := tx.Audit(ctx, a.Seq, actor, roster.ActionCredentialsRotate, a.ID, fmt.Sprintf("keep_old_for=%s", grace)); err != nil {
			return err
		}
		data := map[string]any{}
		if c.OldValidUntil != nil {
			data["old_valid_until"] = *c.OldValidUntil
		}
		return s.c.Emit(ctx, tx, a.Seq, a.ID, roster.EventCredentialsRotated, data)
	})
	return c, err
}

// CheckAccountToken reports whether token is the account's Auth Token (or
// the previous one within its grace period).
func (s *Areas) CheckAccountToken(ctx context.Context, a roster.Account, token string) (bool, error) {
	cur, prevHash, until, err := s.c.DB.Credentials(ctx, a.Seq)
	if errors.Is(err, store.ErrNoRows) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if constantEqual([]byte(cur), []byte(token)) {
		return true, nil
	}
	return prevHash != nil && until.After(s.c.DB.Now()) && constantEqual(prevHash, core.HashToken(token)), nil
}

// TokenReader is someone no longer a member of the account who could have
// read a working Auth Token: their role held credentials.view when they
// went, or the audit log shows them reading it.
type TokenReader struct {
	UserID  int64
	Email   string
	Name    string      // their name now, "" when unknown
	Role    roster.Role // held when they went; RoleNone when not recorded
	Removed bool        // removed by someone, else left
	At      time.Time   // when they went (zero when not in the audit log)
	// Reads and LastRead are their reveals and rotations of a working token
	// in the audit log (0: none recorded; the role could still read it).
	Reads    int
	LastRead time.Time
}

// TokenExposure is who outside the team may hold a working Auth Token.
type TokenExposure struct {
	// Since is when the oldest working token was made; zero with no
	// Readers when the account has no token yet.
	Since   time.Time
	Readers []TokenReader
}

// TokenExposure lists the former members who may hold a working Auth
// Token (TokenReader), newest departure first: the removal confirmation
// and the credentials page warn of them and offer rotation. It reads the
// audit log and changes nothing. The caller holds credentials.view.
func (s *Areas) TokenExposure(ctx context.Context, a roster.Account) (TokenExposure, error) {
	since, ok, err := s.c.DB.TokenReadableSince(ctx, a.Seq, s.c.DB.Now())
	if err != nil || !ok {
		return TokenExposure{}, err
	}
	reads, err := s.c.DB.TokenReads(ctx, a.Seq, since)
	if err != nil {
		return TokenExposure{}, err
	}
	byUser := map[int64]store.TokenRead{}
	for _, r := range reads {
		byUser[r.UserID] = r
	}
	gone, err := s.c.DB.Departures(ctx, a.Seq, since)
	if err != nil {
		return TokenExposure{}, err
	}
	out := TokenExposure{Since: since}
	seen := map[string]bool{}
	for _, d := range gone { // newest first: a person's last departure speaks
		if seen[d.Email] {
			continue
		}
		seen[d.Email] = true
		if _, _, member := s.c.Index.Member(a.Seq, d.UserID); member && d.UserID != 0 {
			continue // back in the team: they hold what their role holds
		}
		role, _ := roster.ParseRole(d.Role)
		var r store.TokenRead
		if d.UserID != 0 { // reads by no user (none today) are no one's
			r = byUser[d.UserID]
		}
		if r.Reads == 0 && !authz.Allowed(role, roster.CredentialsView) {
			continue
		}
		out.Readers = append(out.Readers, TokenReader{UserID: d.UserID, Email: d.Email, Name: d.Name, Role: role,
			Removed: d.Removed, At: d.At, Reads: r.Reads, LastRead: r.Last})
		delete(byUser, d.UserID)
	}
	// Readers gone with no departure recorded since (none today: a member
	// leaves only by those two ways), so no reader is ever left out.
	for _, r := range reads {
		if _, pending := byUser[r.UserID]; !pending || r.UserID == 0 {
			continue
		}
		if _, _, member := s.c.Index.Member(a.Seq, r.UserID); member {
			continue
		}
		out.Readers = append(out.Readers, TokenReader{UserID: r.UserID, Email: r.Email, Reads: r.Reads, LastRead: r.Last})
	}
	return out, nil
}

// TokenReads is one person's reading of the account's working Auth
// Tokens, by the audit log.
type TokenReads struct {
	TokenExists bool      // false: the account has no Auth Token yet, so no one read one
	Reads       int       // reveals and rotations of a working token by them
	Last        time.Time // the last of them
}

// TokenReadsBy returns how often the user read a working Auth Token of
// the account, by the audit log, and when last. The caller holds
// team.edit (the removal confirmation asks it of the member to remove).
func (s *Areas) TokenReadsBy(ctx context.Context, a roster.Account, userID int64) (TokenReads, error) {
	since, ok, err := s.c.DB.TokenReadableSince(ctx, a.Seq, s.c.DB.Now())
	if err != nil || !ok {
		return TokenReads{}, err
	}
	reads, err := s.c.DB.TokenReads(ctx, a.Seq, since)
	if err != nil {
		return TokenReads{}, err
	}
	out := TokenReads{TokenExists: true}
	for _, r := range reads {
		if r.UserID == userID {
			out.Reads, out.Last = r.Reads, r.Last
		}
	}
	return out, nil
}

// capital starts a phrase with a capital letter, for a message that opens
// with it.
func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
