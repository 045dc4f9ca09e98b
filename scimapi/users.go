package scimapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/elimity-com/scim"
	"github.com/elimity-com/scim/optional"
	filter "github.com/scim2/filter-parser/v2"

	"github.com/rosterhq/roster"
	scimroom "github.com/rosterhq/roster/service/scim"
)

// userHandler is /Users: every member of the account is a SCIM user whose
// id is the user's ID.
type userHandler struct{ s *Server }

func userResource(u scimroom.User) scim.Resource {
	groups := make([]any, 0, len(u.Groups))
	for _, g := range u.Groups {
		groups = append(groups, map[string]any{"value": strconv.FormatInt(g.ID, 10), "display": g.DisplayName, "$ref": "../Groups/" + strconv.FormatInt(g.ID, 10)})
	}
	ext := map[string]any{"role": u.Role.String()}
	res := scim.Resource{
		ID: strconv.FormatInt(u.UserID, 10),
		Attributes: scim.ResourceAttributes{
			"userName":                     u.Email,
			"displayName":                  u.Name,
			"name":                         map[string]any{"formatted": u.Name},
			"emails":                       []any{map[string]any{"value": u.Email, "type": "work", "primary": true}},
			"active":                       u.Active,
			"groups":                       groups,
			roster.SCIMUserSchemaExtension: ext,
		},
		Meta: scim.Meta{Created: &u.JoinedAt},
	}
	if u.ExternalID != "" {
		res.ExternalID = optional.NewString(u.ExternalID)
	}
	return res
}

// attr reads a top-level attribute whatever its case.
func attr(m map[string]any, name string) (any, bool) {
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

func str(v any) string { s, _ := v.(string); return s }

// displayName is the person's name as a SCIM user carries it: name's
// formatted, else given and family names, else displayName.
func displayName(attrs map[string]any) string {
	if n, ok := attr(attrs, "name"); ok {
		if m, ok := n.(map[string]any); ok {
			if f, _ := attr(m, "formatted"); strings.TrimSpace(str(f)) != "" {
				return str(f)
			}
			g, _ := attr(m, "givenName")
			f, _ := attr(m, "familyName")
			if s := strings.TrimSpace(str(g) + " " + str(f)); s != "" {
				return s
			}
		}
	}
	d, _ := attr(attrs, "displayName")
	return str(d)
}

// namedRole reads the Roster extension's role from its container.
func namedRole(v any) (*roster.Role, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, nil
	}
	raw, ok := attr(m, "role")
	if !ok {
		return nil, nil
	}
	return parseRole(raw)
}

func parseRole(raw any) (*roster.Role, error) {
	s := strings.ToLower(strings.TrimSpace(str(raw)))
	if raw == nil || s == "" {
		none := roster.RoleNone
		return &none, nil
	}
	r, err := roster.ParseRole(s)
	if err != nil {
		return nil, invalidValue("The role must be one of admin, developer, finance_analyst, support")
	}
	if r == roster.RoleOwner {
		return nil, mutability("No one can be given the owner role through SCIM")
	}
	return &r, nil
}

func (h userHandler) Create(r *http.Request, attrs scim.ResourceAttributes) (scim.Resource, error) {
	s, c := h.s, from(r)
	in := scimroom.UserInput{Name: displayName(attrs)}
	v, _ := attr(attrs, "userName")
	in.UserName = str(v)
	v, _ = attr(attrs, "externalId")
	in.ExternalID = str(v)
	if ext, ok := attrs[roster.SCIMUserSchemaExtension]; ok {
		role, err := namedRole(ext)
		if err != nil {
			return scim.Resource{}, err
		}
		if role != nil {
			in.NamedRole = *role
		}
	}
	u, err := s.Svc.SCIMCreateUser(r.Context(), c.account, in, c.actor)
	if err != nil {
		return scim.Resource{}, s.scimError(r, err)
	}
	if active, ok := attr(attrs, "active"); ok && active == false {
		if _, err := s.Svc.SetMemberActive(r.Context(), c.account, u.UserID, false, c.actor); err != nil {
			return scim.Resource{}, s.scimError(r, err)
		}
		u.Active = false
	}
	return userResource(u), nil
}

func (h userHandler) Get(r *http.Request, id string) (scim.Resource, error) {
	uid, err := parseID(id)
	if err != nil {
		return scim.Resource{}, err
	}
	u, err := h.s.Svc.SCIMUser(r.Context(), from(r).account, uid)
	if err != nil {
		return scim.Resource{}, h.s.scimError(r, err)
	}
	return userResource(u), nil
}

func (h userHandler) GetAll(r *http.Request, params scim.ListRequestParams) (scim.Page, error) {
	var f filter.Expression
	if params.FilterValidator != nil {
		f = params.FilterValidator.GetFilter()
	}
	us, total, err := h.s.Svc.SCIMUsers(r.Context(), from(r).account, f, params.StartIndex, params.Count)
	if err != nil {
		return scim.Page{}, h.s.scimError(r, err)
	}
	page := scim.Page{TotalResults: total}
	for _, u := range us {
		page.Resources = append(page.Resources, userResource(u))
	}
	return page, nil
}

// userEdit is what a PUT or PATCH asks of a user.
type userEdit struct {
	change   scimroom.UserChange
	active   *bool
	userName *string
}

// apply makes the edit: the userName cannot change (it is the person's
// address, theirs beyond this account: mutability); the owner can be
// neither deactivated nor given a role (mutability); then what SCIM
// keeps, the member's active state (the team's deactivation) and their
// role (the team's role change), each audited with the token as actor.
func (h userHandler) apply(r *http.Request, uid int64, e userEdit) (scim.Resource, error) {
	s, c := h.s, from(r)
	u, err := s.Svc.SCIMUser(r.Context(), c.account, uid)
	if err != nil {
		return scim.Resource{}, s.scimError(r, err)
	}
	if e.userName != nil && !strings.EqualFold(strings.TrimSpace(*e.userName), u.Email) {
		return scim.Resource{}, mutability("The userName is the member's address and cannot be changed: remove the user and create one with the new address")
	}
	if u.Role == roster.RoleOwner {
		if e.active != nil && !*e.active || e.change.NamedRole != nil && *e.change.NamedRole != roster.RoleNone {
			return scim.Resource{}, mutability("The account's owner cannot be deactivated or given a role through SCIM")
		}
		e.change.NamedRole = nil
	}
	if u, err = s.Svc.SCIMUpdateUser(r.Context(), c.account, uid, e.change, c.actor); err != nil {
		return scim.Resource{}, s.scimError(r, err)
	}
	if e.active != nil && *e.active != u.Active {
		if _, err := s.Svc.SetMemberActive(r.Context(), c.account, uid, *e.active, c.actor); err != nil {
			return scim.Resource{}, s.scimError(r, err)
		}
	}
	if err := s.applyRoles(r, []int64{uid}); err != nil {
		return scim.Resource{}, err
	}
	if u, err = s.Svc.SCIMUser(r.Context(), c.account, uid); err != nil {
		return scim.Resource{}, s.scimError(r, err)
	}
	return userResource(u), nil
}

// Replace (PUT) sets what the request carries: a missing externalId or
// role is none.
func (h userHandler) Replace(r *http.Request, id string, attrs scim.ResourceAttributes) (scim.Resource, error) {
	uid, err := parseID(id)
	if err != nil {
		return scim.Resource{}, err
	}
	var e userEdit
	v, _ := attr(attrs, "userName")
	name := str(v)
	e.userName = &name
	v, _ = attr(attrs, "externalId")
	ext := str(v)
	e.change.ExternalID = &ext
	none := roster.RoleNone
	e.change.NamedRole = &none
	if x, ok := attrs[roster.SCIMUserSchemaExtension]; ok {
		role, err := namedRole(x)
		if err != nil {
			return scim.Resource{}, err
		}
		if role != nil {
			e.change.NamedRole = role
		}
	}
	if v, ok := attr(attrs, "active"); ok {
		if b, ok := v.(bool); ok {
			e.active = &b
		}
	}
	return h.apply(r, uid, e)
}

// Patch takes the operations on active, userName, externalId and the
// Roster extension's role, with a path (Entra ID) or in a value without
// one (Okta); operations on other attributes (name, emails, ...) are
// accepted and change nothing: the person's name and address are theirs,
// beyond this account.
func (h userHandler) Patch(r *http.Request, id string, ops []scim.PatchOperation) (scim.Resource, error) {
	uid, err := parseID(id)
	if err != nil {
		return scim.Resource{}, err
	}
	var e userEdit
	set := func(op, name string, value any) error {
		name = strings.ToLower(name)
		remove := op == scim.PatchOperationRemove
		switch name {
		case "active":
			if remove {
				return nil
			}
			if vs, ok := value.([]any); ok && len(vs) == 1 {
				value = vs[0]
			}
			b, ok := value.(bool)
			if !ok {
				return invalidValue("The active attribute is true or false")
			}
			e.active = &b
		case "username":
			if remove {
				return mutability("The userName cannot be removed")
			}
			s := str(value)
			e.userName = &s
		case "externalid":
			s := ""
			if !remove {
				s = str(value)
			}
			e.change.ExternalID = &s
		case strings.ToLower(roster.SCIMUserSchemaExtension):
			if remove {
				none := roster.RoleNone
				e.change.NamedRole = &none
				return nil
			}
			role, err := namedRole(value)
			if err != nil {
				return err
			}
			if role != nil {
				e.change.NamedRole = role
			}
		case strings.ToLower(roster.SCIMUserSchemaExtension + ":role"):
			if remove {
				value = nil
			}
			role, err := parseRole(value)
			if err != nil {
				return err
			}
			e.change.NamedRole = role
		}
		return nil
	}
	for _, op := range ops {
		if op.Path == nil {
			m, ok := op.Value.(map[string]any)
			if !ok {
				return scim.Resource{}, invalidValue("An operation without a path carries an object of attributes")
			}
			for k, v := range m {
				if err := set(op.Op, k, v); err != nil {
					return scim.Resource{}, err
				}
			}
			continue
		}
		name := op.Path.AttributePath.AttributeName
		if uri := op.Path.AttributePath.URI(); uri != "" {
			name = uri + ":" + name
		}
		if op.Path.ValueExpression != nil || op.Path.AttributePath.SubAttribute != nil || op.Path.SubAttribute != nil {
			continue // name.familyName, emails[type eq "work"].value: nothing Roster keeps
		}
		if err := set(op.Op, name, op.Value); err != nil {
			return scim.Resource{}, err
		}
	}
	return h.apply(r, uid, e)
}

// Delete removes the member through the team's removal: irreversible,
// audited, announced and mailed, as in the console. The owner: mutability.
func (h userHandler) Delete(r *http.Request, id string) error {
	uid, err := parseID(id)
	if err != nil {
		return err
	}
	s, c := h.s, from(r)
	if _, err := s.Svc.SCIMUser(r.Context(), c.account, uid); err != nil {
		return s.scimError(r, err)
	}
	if err := s.Svc.DeleteMember(r.Context(), c.account, uid, c.actor); err != nil {
		if roster.ErrorCode(err) == roster.EOWNERIMMUTABLE {
			return mutability("The account's owner cannot be removed through SCIM")
		}
		return s.scimError(r, err)
	}
	return nil
}
