package httpapi_test

import (
	"strconv"
	"testing"
)

// TestOpenAPI_ErrorSchemasArePlain: every error answer's schema spells out
// {error: {code, message, field}} itself, with no allOf, so that code
// generators (openapi-typescript, oapi-codegen) keep message and field: a
// base schema narrowed through allOf lost both in oapi-codegen's types.
func TestOpenAPI_ErrorSchemasArePlain(t *testing.T) {
	t.Parallel()
	d := mustSpec(t)
	for name, o := range d.ops {
		for code, resp := range o.route.Operation.Responses.Map() {
			status, err := strconv.Atoi(code)
			if err != nil || status < 400 {
				continue
			}
			mt := resp.Value.Content.Get("application/json")
			if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
				t.Errorf("%s: %d has no JSON schema", name, status)
				continue
			}
			s := mt.Schema.Value
			if len(s.AllOf)+len(s.AnyOf)+len(s.OneOf) > 0 {
				t.Errorf("%s: %d: the error schema composes others (allOf/anyOf/oneOf): spell it out", name, status)
				continue
			}
			e := s.Properties["error"]
			if e == nil || e.Value == nil || len(e.Value.AllOf) > 0 {
				t.Errorf("%s: %d: no plain error object", name, status)
				continue
			}
			for _, p := range []string{"code", "message", "field"} {
				if e.Value.Properties[p] == nil {
					t.Errorf("%s: %d: error.%s is not spelled out", name, status, p)
				}
			}
			if c := e.Value.Properties["code"]; c != nil && (c.Value == nil || len(c.Value.Enum) == 0) {
				t.Errorf("%s: %d: error.code has no enum of its own", name, status)
			}
		}
	}
}
