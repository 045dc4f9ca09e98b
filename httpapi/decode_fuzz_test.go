package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/rosterhq/roster"
)

// fuzzSignupBody is the sign-up request body.
type fuzzSignupBody struct {
	Email           string `json:"email"`
	Password        string `json:"password"`
	Name            string `json:"name"`
	InvitationToken string `json:"invitation_token"`
}

// fuzzMixedBody has a field of each other kind decode must name.
type fuzzMixedBody struct {
	Count     int64    `json:"count"`
	Enabled   bool     `json:"enabled"`
	Tags      []string `json:"tags"`
	AmountUSD float64  `json:"amount_usd"`
	Meta      struct {
		Note string `json:"note"`
	} `json:"meta"`
}

// goNames are what a message naming Go types instead of JSON kinds would
// contain ("Go value of type int64", "Go struct field", "main.body").
var goNames = []string{
	"int", "uint", "float", "bool", "[]", "map[", "struct", "interface", "Go ",
	"main.", "httpapi.", "roster.", "json:", "reflect",
}

// messageWithoutEcho returns msg without the unknown field's name that
// decode quotes back (`unknown field "..."`): that part is the client's own
// text and may say anything.
func messageWithoutEcho(msg string) string {
	const marker = `unknown field `
	if i := strings.Index(msg, marker); i >= 0 {
		if _, err := strconv.Unquote(msg[i+len(marker):]); err == nil {
			return msg[:i+len(marker)]
		}
	}
	return msg
}

// decodeBody runs decode as the server does: the body behind
// http.MaxBytesReader(MaxBody).
func decodeBody(body []byte, v any) error {
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/v1/signup", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
	return decode(r, v)
}

// FuzzDecode checks decode, the JSON body reader of every route:
//   - it never panics, and any error is EINVALID or ETOOLARGE with a
//     message that names JSON kinds, never Go types (the unknown field's
//     name, quoted back, is left out of that check);
//   - an accepted body is one valid JSON value (json.Valid: no trailing
//     data) and decodes as json.Unmarshal decodes it;
//   - ETOOLARGE only for a body over MaxBody;
//   - a body over MaxBody is never accepted, and a valid JSON value that
//     itself runs past MaxBody (not just its trailing whitespace) is
//     ETOOLARGE. A body over MaxBody that is refused for what its first
//     MaxBody bytes hold may be EINVALID: decode reads as it goes.
//
// mode%16 picks the body: 1 a sign-up object whose name is the fuzzed text
// repeated past MaxBody; 2 the fuzzed bytes followed by spaces past
// MaxBody; anything else the fuzzed bytes. mixed picks the struct to
// decode into.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"email":"ada@example.com","password":"correct horse battery staple","name":"Ada","invitation_token":""}`,
		`{"count":42,"enabled":true,"tags":["a","b"],"amount_usd":12.5,"meta":{"note":"x"}}`,
		``, ` `, `{}`, `null`, `[]`, `"str"`, `42`, `true`, `{`, `}`, `{"email":`, `{"email":"a"`,
		`{"email":1}`, `{"email":null}`, `{"count":"1"}`, `{"count":1.5}`, `{"count":1e400}`,
		`{"count":9223372036854775808}`, `{"count":-9223372036854775809}`, `{"enabled":"true"}`,
		`{"enabled":1}`, `{"tags":"a"}`, `{"tags":[1]}`, `{"tags":{}}`, `{"meta":[]}`, `{"meta":{"note":1}}`,
		`{"meta":{"nope":1}}`, `{"amount_usd":"1"}`, `{"amount_usd":1e309}`,
		`{"struct":1}`, `{"int64":1}`, `{"Go struct":1}`, `{"\u0000":1}`, `{"em\u0061il":"x"}`, `{"EMAIL":"x"}`,
		`{"email":"a","email":"b"}`, `{} {}`, `{}x`, `{}` + "\n", "\ufeff{}", `{"email":"\xff"}`,
		`{"email":"\ud800"}`, `{"email":"a\u0000b"}`, `{"a":` + strings.Repeat(`[`, 10001) + `}`,
		strings.Repeat(`[`, 20000), `{"email":"` + strings.Repeat("x", 4096) + `"}`,
		// Found by fuzzing, fixed: data after the value's closing bracket.
		`{}}`, `{}]`, `{}}0`, `{"email":"a"}]junk`,
	} {
		f.Add([]byte(s), uint8(0), false)
		f.Add([]byte(s), uint8(0), true)
	}
	// Found by fuzzing, fixed: a value followed by blank space past MaxBody.
	f.Add([]byte(`{}`), uint8(2), false)
	// A name repeated past MaxBody.
	for _, s := range []string{``, `a`, `"\`, "\xff\x00<é>"} {
		f.Add([]byte(s), uint8(1), false)
		f.Add([]byte(s), uint8(1), true)
	}
	// Padded past MaxBody: incomplete or malformed JSON.
	for _, s := range []string{``, `{`, `{"email":`, `{"email":"a"`, `{"count":1,`, `[`, `x`, `{}x`} {
		f.Add([]byte(s), uint8(2), false)
		f.Add([]byte(s), uint8(2), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, mode uint8, mixed bool) {
		// valid: body is one JSON value (and whitespace); content: its
		// length without trailing whitespace. Worked out without scanning
		// a MiB where the construction tells.
		var body []byte
		var valid bool
		var content int
		switch mode % 16 { // mostly small bodies: a MiB costs milliseconds
		case 1:
			text, err := json.Marshal(string(data))
			if err != nil {
				t.Fatal(err)
			}
			inner := text[1 : len(text)-1]
			if len(inner) == 0 {
				inner = []byte("x")
			}
			body = append([]byte(`{"name":"`), bytes.Repeat(inner, MaxBody/len(inner)+1)...)
			body = append(body, `"}`...)
			valid, content = true, len(body)
		case 2:
			body = append(bytes.Clone(data), bytes.Repeat([]byte(" "), MaxBody+1)...)
			valid, content = json.Valid(data), len(bytes.TrimRight(data, " \t\r\n"))
		default:
			body = data
			valid, content = json.Valid(data), len(bytes.TrimRight(data, " \t\r\n"))
		}

		var got, want any = new(fuzzSignupBody), new(fuzzSignupBody)
		if mixed {
			got, want = new(fuzzMixedBody), new(fuzzMixedBody)
		}
		err := decodeBody(body, got)

		if err == nil {
			if len(body) > MaxBody {
				t.Fatalf("decode accepted a body of %d bytes, over MaxBody (%d): %.200q", len(body), MaxBody, body)
			}
			if !valid {
				t.Fatalf("decode accepted %q, which is not one valid JSON value", body)
			}
			if uerr := json.Unmarshal(body, want); uerr != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("decode(%q) = %+v; json.Unmarshal = %+v, %v", body, got, want, uerr)
			}
			return
		}

		code, msg := roster.ErrorCode(err), roster.ErrorMessage(err)
		if e, ok := err.(*roster.Error); !ok || (code != roster.EINVALID && code != roster.ETOOLARGE) || e.Message == "" {
			t.Fatalf("decode(%.200q) error %v: want an *roster.Error with code %s or %s", body, err, roster.EINVALID, roster.ETOOLARGE)
		}
		checked := messageWithoutEcho(msg)
		for _, name := range goNames {
			if strings.Contains(checked, name) {
				t.Fatalf("decode(%.200q) message %q names a Go type (%q), not a JSON kind", body, msg, name)
			}
		}
		if code == roster.ETOOLARGE && len(body) <= MaxBody {
			t.Fatalf("decode(%.200q) = %s for a body of %d bytes, within MaxBody (%d)", body, code, len(body), MaxBody)
		}
		if content > MaxBody && valid && code != roster.ETOOLARGE {
			t.Fatalf("decode of a valid JSON value of over MaxBody (%d) bytes = %s %q, want %s: %.200q",
				MaxBody, code, msg, roster.ETOOLARGE, body)
		}
	})
}
