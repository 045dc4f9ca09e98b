package httpapi

import (
	"slices"
	"strings"
	"testing"
)

// checkJSONSeeds are bodies around the plain form: what fastCheck and
// fastBatch take and what they must leave to encoding/json.
var checkJSONSeeds = []string{
	`{"account_id":"MA0123456789ABCDEFGH","user_id":42,"permission":"numbers.view"}`,
	` { "account_id" : "MA0123456789ABCDEFGH" , "user_id" : -0 , "permission" : "numbers.edit" } ` + "\n",
	`{"account_id":"MA1","api_key":"rk_abc","permission":"team.view"}`,
	`{"account_id":"MA1","user_id":1,"user_id":2,"permission":"x","permission":"billing.view"}`,
	`{}`, `{"checks":[]}`, `{"checks":null}`, `{"checks":[{}]}`, `[]`, `null`, ``, `{`, `{"checks":[{"user_id":1}],"checks":[{"permission":"a"}]}`,
	`{"Account_ID":"MA1","user_id":1,"permission":"numbers.view"}`,
	`{"account_id":"MA\u0031","user_id":1,"permission":"numbers.view"}`,
	`{"account_id":"MAé","user_id":1,"permission":"numbers.view"}`,
	`{"account_id":null,"user_id":1,"permission":"numbers.view"}`,
	`{"account_id":"MA1","user_id":1.0,"permission":"numbers.view"}`,
	`{"account_id":"MA1","user_id":1e3,"permission":"numbers.view"}`,
	`{"account_id":"MA1","user_id":012,"permission":"numbers.view"}`,
	`{"account_id":"MA1","user_id":999999999999999999,"permission":"numbers.view"}`,
	`{"account_id":"MA1","user_id":9999999999999999999,"permission":"numbers.view"}`,
	`{"account_id":"MA1","user_id":"1","permission":"numbers.view"}`,
	`{"account_id":"MA1","user_id":1,"permission":"numbers.view","extra":1}`,
	`{"account_id":"MA1","user_id":1,"permission":"numbers.view"} {}`,
	`{"account_id":"MA1","user_id":1,"permission":"numbers.view",}`,
	`{"checks":[{"account_id":"MA1","user_id":1,"permission":"numbers.view"},{"account_id":"MA1","user_id":2,"permission":"team.edit"}]}`,
	`{"checks":[{"account_id":"MA1","user_id":1,"permission":"numbers.view"},{"user_id":2}]}`,
	`{"checks":[{"account_id":"MA1","user_id":1},{"account_id":"MA2","api_key":"k"}] }` + "\t",
}

// FuzzCheckJSON: whatever fastCheck or fastBatch accepts, decodeStrict
// accepts too and reads the same values from (so the fast path changes no
// answer and no message: what it refuses goes to decodeStrict).
func FuzzCheckJSON(f *testing.F) {
	for _, s := range checkJSONSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var fast checkItem
		if fastCheck(data, &fast) {
			var slow checkItem
			if err := decodeStrict(data, &slow); err != nil {
				t.Fatalf("fastCheck took %q, decodeStrict refused it: %v", data, err)
			}
			if fast != slow {
				t.Fatalf("%q: fastCheck read %+v, decodeStrict %+v", data, fast, slow)
			}
		}
		// Into a slice an earlier batch used, as the handler does.
		used := []checkItem{{AccountID: "old", UserID: 7, APIKey: "k", Permission: "p"}, {UserID: 9}}
		checks, ok := fastBatch(data, used[:0])
		if !ok {
			return
		}
		var slow struct {
			Checks []checkItem `json:"checks"`
		}
		if err := decodeStrict(data, &slow); err != nil {
			t.Fatalf("fastBatch took %q, decodeStrict refused it: %v", data, err)
		}
		if !slices.Equal(checks, slow.Checks) {
			t.Fatalf("%q: fastBatch read %+v, decodeStrict %+v", data, checks, slow.Checks)
		}
	})
}

// TestCheckJSON_PlainFormIsFast: the bodies callers send take the fast
// path, and the ones it must not judge do not.
func TestCheckJSON_PlainFormIsFast(t *testing.T) {
	var it checkItem
	if !fastCheck([]byte(checkJSONSeeds[0]), &it) || it != (checkItem{AccountID: "MA0123456789ABCDEFGH", UserID: 42, Permission: "numbers.view"}) {
		t.Errorf("plain check: fast path %+v", it)
	}
	batch := `{"checks":[` + strings.Repeat(`{"account_id":"MA1","user_id":1,"permission":"numbers.view"},`, 99) + `{"account_id":"MA1","user_id":2,"permission":"team.edit"}]}`
	if checks, ok := fastBatch([]byte(batch), nil); !ok || len(checks) != 100 || checks[99].UserID != 2 {
		t.Errorf("plain batch: fast path %v, %d checks", ok, len(checks))
	}
	for _, s := range []string{
		`{"Account_ID":"MA1","user_id":1,"permission":"numbers.view"}`, // encoding/json folds case
		`{"account_id":"MA\u0031","user_id":1,"permission":"numbers.view"}`,
		`{"account_id":"MA1","user_id":1e3,"permission":"numbers.view"}`,
		`{"account_id":"MA1","user_id":1,"permission":"numbers.view","extra":1}`,
	} {
		var it checkItem
		if fastCheck([]byte(s), &it) {
			t.Errorf("fast path took %s", s)
		}
	}
}
