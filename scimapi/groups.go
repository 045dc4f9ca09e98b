package scimapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	filter "github.com/scim2/filter-parser/v2"

	scimroom "github.com/rosterhq/roster/service/scim"
)

// groupHandler is /Groups: the directory's groups, whose display names
// the account's settings may map to roles.
type groupHandler struct{ s *Server }

func groupResource(g scimroom.Group) scim.Resource {
	members := make([]any, 0, len(g.Members))
	for _, m := range g.Members {
		members = append(members, map[string]any{"value": strconv.FormatInt(m.UserID, 10), "display": m.Email, "$ref": "../Users/" + strconv.FormatInt(m.UserID, 10)})
	}
	res := scim.Resource{
		ID:         strconv.FormatInt(g.ID, 10),
		Attributes: scim.ResourceAttributes{"displayName": g.DisplayName, "members": members},
		Meta:       scim.Meta{Created: &g.CreatedAt},
	}
	if g.ExternalID != "" {
		res.ExternalID = optionalString(g.ExternalID)
	}
	return res
}

// memberIDs reads the user IDs of a members value ([{"value": "12"}, ...]
// or one such object). strict: an ID that names no user is invalidValue
// (adding); else it is skipped (removing what is not there).
func memberIDs(v any, strict bool) ([]int64, error) {
	list, ok := v.([]any)
	if !ok {
		if v == nil {
			return nil, nil
		}
		list = []any{v}
	}
	out := []int64{}
	for _, item := range list {
		var raw string
		if m, ok := item.(map[string]any); ok {
			x, _ := attr(m, "value")
			raw = str(x)
		} else {
			raw = str(item)
		}
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || id <= 0 {
			if strict {
				return nil, invalidValue("A member's value is the id of a user of this account")
			}
			continue
		}
		out = append(out, id)
	}
	return out, nil
}

func (h groupHandler) Create(r *http.Request, attrs scim.ResourceAttributes) (scim.Resource, error) {
	s, c := h.s, from(r)
	name, _ := attr(attrs, "displayName")
	ext, _ := attr(attrs, "externalId")
	mv, _ := attr(attrs, "members")
	members, err := memberIDs(mv, true)
	if err != nil {
		return scim.Resource{}, err
	}
	g, err := s.Svc.SCIMCreateGroup(r.Context(), c.account, str(name), str(ext), members, c.actor)
	if err != nil {
		return scim.Resource{}, s.scimError(r, err)
	}
	if err := s.applyRoles(r, members); err != nil {
		return scim.Resource{}, err
	}
	return groupResource(g), nil
}

func (h groupHandler) Get(r *http.Request, id string) (scim.Resource, error) {
	gid, err := parseID(id)
	if err != nil {
		return scim.Resource{}, err
	}
	g, err := h.s.Svc.SCIMGroup(r.Context(), from(r).account, gid)
	if err != nil {
		return scim.Resource{}, h.s.scimError(r, err)
	}
	return groupResource(g), nil
}

func (h groupHandler) GetAll(r *http.Request, params scim.ListRequestParams) (scim.Page, error) {
	name := ""
	if params.FilterValidator != nil {
		e, ok := params.FilterValidator.GetFilter().(*filter.AttributeExpression)
		if !ok || e.Operator != filter.EQ || !strings.EqualFold(e.AttributePath.AttributeName, "displayName") || e.AttributePath.SubAttribute != nil || str(e.CompareValue) == "" {
			return scim.Page{}, scimerrors.ScimError{Status: http.StatusBadRequest, ScimType: scimerrors.ScimTypeInvalidFilter, Detail: "Groups are filtered by displayName eq only"}
		}
		name = str(e.CompareValue)
	}
	gs, total, err := h.s.Svc.SCIMGroups(r.Context(), from(r).account, name, params.StartIndex, params.Count)
	if err != nil {
		return scim.Page{}, h.s.scimError(r, err)
	}
	page := scim.Page{TotalResults: total}
	for _, g := range gs {
		page.Resources = append(page.Resources, groupResource(g))
	}
	return page, nil
}

func (h groupHandler) update(r *http.Request, gid int64, ops []scimroom.GroupOp) (scim.Resource, error) {
	s, c := h.s, from(r)
	g, affected, err := s.Svc.SCIMUpdateGroup(r.Context(), c.account, gid, ops, c.actor)
	if err != nil {
		return scim.Resource{}, s.scimError(r, err)
	}
	if err := s.applyRoles(r, affected); err != nil {
		return scim.Resource{}, err
	}
	return groupResource(g), nil
}

// Replace (PUT) sets the name, externalId and members.
func (h groupHandler) Replace(r *http.Request, id string, attrs scim.ResourceAttributes) (scim.Resource, error) {
	gid, err := parseID(id)
	if err != nil {
		return scim.Resource{}, err
	}
	name, _ := attr(attrs, "displayName")
	ext, _ := attr(attrs, "externalId")
	mv, _ := attr(attrs, "members")
	members, err := memberIDs(mv, true)
	if err != nil {
		return scim.Resource{}, err
	}
	return h.update(r, gid, []scimroom.GroupOp{
		{Kind: "displayName", Value: str(name)}, {Kind: "externalId", Value: str(ext)}, {Kind: "set", UserIDs: members},
	})
}

// Patch takes Okta's and Entra ID's shapes: add, remove or replace of
// "members" with a list of {"value": id}; remove of
// members[value eq "id"]; replace of displayName (with a path, or in a
// value without one, Okta sending the id along).
func (h groupHandler) Patch(r *http.Request, id string, ops []scim.PatchOperation) (scim.Resource, error) {
	gid, err := parseID(id)
	if err != nil {
		return scim.Resource{}, err
	}
	var out []scimroom.GroupOp
	one := func(op, name string, p *scim.PatchOperation, value any) error {
		switch strings.ToLower(name) {
		case "displayname":
			if op == scim.PatchOperationRemove {
				return mutability("A group's displayName is required")
			}
			out = append(out, scimroom.GroupOp{Kind: "displayName", Value: str(value)})
		case "externalid":
			v := str(value)
			if op == scim.PatchOperationRemove {
				v = ""
			}
			out = append(out, scimroom.GroupOp{Kind: "externalId", Value: v})
		case "members":
			if p != nil && p.Path != nil && p.Path.ValueExpression != nil {
				// members[value eq "id"]: Entra ID's removal of one member.
				e, ok := p.Path.ValueExpression.(*filter.AttributeExpression)
				if !ok || e.Operator != filter.EQ || !strings.EqualFold(e.AttributePath.AttributeName, "value") {
					return scimerrors.ScimError{Status: http.StatusBadRequest, ScimType: scimerrors.ScimTypeInvalidPath, Detail: `A members path names one member: members[value eq "id"]`}
				}
				ids, err := memberIDs(str(e.CompareValue), op != scim.PatchOperationRemove)
				if err != nil {
					return err
				}
				kind := "remove"
				if op != scim.PatchOperationRemove {
					kind = "add"
				}
				out = append(out, scimroom.GroupOp{Kind: kind, UserIDs: ids})
				return nil
			}
			switch op {
			case scim.PatchOperationAdd:
				ids, err := memberIDs(value, true)
				if err != nil {
					return err
				}
				out = append(out, scimroom.GroupOp{Kind: "add", UserIDs: ids})
			case scim.PatchOperationReplace:
				ids, err := memberIDs(value, true)
				if err != nil {
					return err
				}
				out = append(out, scimroom.GroupOp{Kind: "set", UserIDs: ids})
			case scim.PatchOperationRemove:
				if value == nil {
					out = append(out, scimroom.GroupOp{Kind: "removeAll"})
					return nil
				}
				ids, _ := memberIDs(value, false)
				out = append(out, scimroom.GroupOp{Kind: "remove", UserIDs: ids})
			}
		}
		return nil
	}
	for i := range ops {
		op := &ops[i]
		if op.Path == nil {
			m, ok := op.Value.(map[string]any)
			if !ok {
				return scim.Resource{}, invalidValue("An operation without a path carries an object of attributes")
			}
			for k, v := range m {
				if err := one(op.Op, k, nil, v); err != nil {
					return scim.Resource{}, err
				}
			}
			continue
		}
		if op.Path.SubAttribute != nil || op.Path.AttributePath.SubAttribute != nil {
			continue // members.display and the like: nothing Roster keeps
		}
		if err := one(op.Op, op.Path.AttributePath.AttributeName, op, op.Value); err != nil {
			return scim.Resource{}, err
		}
	}
	return h.update(r, gid, out)
}

func (h groupHandler) Delete(r *http.Request, id string) error {
	gid, err := parseID(id)
	if err != nil {
		return err
	}
	s, c := h.s, from(r)
	members, err := s.Svc.SCIMDeleteGroup(r.Context(), c.account, gid, c.actor)
	if err != nil {
		return s.scimError(r, err)
	}
	return s.applyRoles(r, members)
}
