package loadtest

import (
	"encoding/json"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/rosterhq/roster/server/servertest"
	"github.com/rosterhq/roster/store"
)

const (
	checkWorkers = 32                     // concurrent /v1/authz/check clients
	checkRounds  = 3                      // rounds of (Roster window, bare window)
	checkWindow  = 2 * time.Second        // each window
	warmup       = 250 * time.Millisecond // untimed, before the first window of each server
	batchWorkers = 8                      // concurrent /v1/authz/check-batch clients
	batchSize    = 100                    // checks per batch
	batchWindow  = 3 * time.Second
)

// checkEnv is a real server with a committed account, its owner and a
// developer.
type checkEnv struct {
	e     *servertest.Env
	acct  string // the account's Auth ID
	devID int64  // the developer's user ID
}

func newCheckEnv(b *testing.B) checkEnv {
	b.Helper()
	e := servertest.New(b)
	owner, acct := e.SignUp(b, "owner@acme-corp.com", "Owner")
	e.Commit(b, acct)
	_, devID := e.Join(b, owner, acct, "dev@acme-corp.com", "developer")
	return checkEnv{e: e, acct: acct, devID: devID}
}

// unknownAuthID is a valid-looking Auth ID ("MA" + 18 of [A-Z0-9]) that
// names no account.
func unknownAuthID(b *testing.B, e *servertest.Env) string {
	for {
		id := store.NewAuthID()
		var n int
		if err := e.Server.DB.SQL().QueryRow(`SELECT COUNT(*) FROM accounts WHERE auth_id = ?`, id).Scan(&n); err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			return id
		}
	}
}

// BenchmarkCheckVsBare compares Roster's POST /v1/authz/check with a bare
// net/http server that decodes the same JSON body into the same four-field
// struct with encoding/json and answers a fixed body: Roster's own answer,
// byte for byte (so the same size), with the same Content-Type and
// Cache-Control. One client (an http.Client allowing 64 idle connections
// per host) and 32 goroutines looping requests serve both; the servers
// alternate, 3 rounds of 2 s Roster then 2 s bare, and each side's answers
// and times are summed. Then one 2 s window checks a developer of a known
// account and one a valid-looking Auth ID that names no account.
//
// Reported: roster_req/s, bare_req/s, ratio (Roster over bare),
// known_req/s, unknown_req/s and unknown_ratio (unknown over known), and
// other_cpu (see the package documentation; the log has it per round). Every
// answer counted is 200 with exactly the expected body ("allowed":true
// for the developer's numbers.edit, "allowed":false, "reason":"not_member"
// for the unknown account); the first other answer fails the benchmark.
//
// About 17 s, once whatever b.N is:
//
//	go test -run XXX -bench CheckVsBare -benchtime 1x ./loadtest
func BenchmarkCheckVsBare(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if i == 0 {
			measureCheckVsBare(b)
		}
	}
}

func measureCheckVsBare(b *testing.B) {
	b.StopTimer()
	ce := newCheckEnv(b)
	e := ce.e
	knownBody := fmt.Appendf(nil, `{"account_id":%q,"user_id":%d,"permission":"numbers.edit"}`, ce.acct, ce.devID)
	unknown := unknownAuthID(b, e)
	unknownBody := fmt.Appendf(nil, `{"account_id":%q,"user_id":%d,"permission":"numbers.edit"}`, unknown, ce.devID)

	// The answers, checked once here, then required byte for byte.
	platform := e.Platform(b)
	known := platform.Must(200, "POST", "/v1/authz/check", knownBody)
	if known.JSON["allowed"] != true || known.Str("role") != "developer" {
		b.Fatalf("known check: %s", known.Body)
	}
	unk := platform.Must(200, "POST", "/v1/authz/check", unknownBody)
	if unk.JSON["allowed"] != false || unk.Str("reason") != "not_member" {
		b.Fatalf("unknown-account check: %s", unk.Body)
	}

	bare := bareServer(b, func() any { return new(checkItem) },
		func(v any) bool { return v.(*checkItem).AccountID != "" }, answerHeader(known.Header), known.Body)
	client := newLoadClient(b)
	rosterURL, bareURL := e.URL+"/v1/authz/check", bare.URL+"/v1/authz/check"
	mustOK := func(what string, w window) window {
		b.Helper()
		if w.failure != "" {
			b.Fatalf("%s: %s", what, w.failure)
		}
		if w.ok == 0 {
			b.Fatalf("%s: no answer in the window", what)
		}
		return w
	}
	mustOK("roster warm-up", load(client, rosterURL, knownBody, known.Body, checkWorkers, warmup))
	mustOK("bare warm-up", load(client, bareURL, knownBody, known.Body, checkWorkers, warmup))

	b.StartTimer()
	all := startCPU()
	var rosterSum, bareSum window
	var rounds []string
	for r := range checkRounds {
		rm := startCPU()
		rw := mustOK(fmt.Sprintf("roster round %d", r+1), load(client, rosterURL, knownBody, known.Body, checkWorkers, checkWindow))
		ro := rm.other()
		bm := startCPU()
		bw := mustOK(fmt.Sprintf("bare round %d", r+1), load(client, bareURL, knownBody, known.Body, checkWorkers, checkWindow))
		bo := bm.other()
		rosterSum, bareSum = rosterSum.add(rw), bareSum.add(bw)
		rounds = append(rounds, fmt.Sprintf("%.0f/%.0f (other CPU %.0f%%/%.0f%%)", rw.perSecond(), bw.perSecond(), 100*ro, 100*bo))
	}
	km := startCPU()
	kw := mustOK("known account", load(client, rosterURL, knownBody, known.Body, checkWorkers, checkWindow))
	ko := km.other()
	um := startCPU()
	uw := mustOK("unknown account", load(client, rosterURL, unknownBody, unk.Body, checkWorkers, checkWindow))
	uo := um.other()
	other := all.other()
	b.StopTimer()

	ratio := rosterSum.perSecond() / bareSum.perSecond()
	unknownRatio := uw.perSecond() / kw.perSecond()
	b.ReportMetric(rosterSum.perSecond(), "roster_req/s")
	b.ReportMetric(bareSum.perSecond(), "bare_req/s")
	b.ReportMetric(ratio, "ratio")
	b.ReportMetric(kw.perSecond(), "known_req/s")
	b.ReportMetric(uw.perSecond(), "unknown_req/s")
	b.ReportMetric(unknownRatio, "unknown_ratio")
	b.ReportMetric(other, "other_cpu")
	b.Logf("check: roster %.0f req/s, bare %.0f req/s, ratio %.3f (rounds roster/bare: %v); known %.0f req/s, unknown account %.0f req/s, unknown_ratio %.3f (other CPU %.0f%%/%.0f%%); "+
		"other processes used %.0f%% of the CPU meanwhile; %d clients, answer %d bytes, roster headers %v, bare headers %v; NumCPU %d, GOMAXPROCS %d",
		rosterSum.perSecond(), bareSum.perSecond(), ratio, rounds, kw.perSecond(), uw.perSecond(), unknownRatio, 100*ko, 100*uo,
		100*other, checkWorkers, len(known.Body), slices.Sorted(maps.Keys(known.Header)), slices.Sorted(maps.Keys(answerHeader(known.Header))),
		runtime.NumCPU(), runtime.GOMAXPROCS(0))
}

// developerMatrix is what a developer may do (authz/permissions.csv), the
// expected answers of the batch below, written out here rather than read
// from the product.
var developerMatrix = []struct {
	perm    string
	allowed bool
}{
	{"numbers.view", true}, {"numbers.edit", true}, {"billing.view", false}, {"billing.edit", false},
	{"settings.view", true}, {"settings.edit", true}, {"credentials.view", true}, {"credentials.edit", true},
	{"applications.view", true}, {"applications.edit", true}, {"logs.view", true}, {"pricing.view", false},
	{"team.view", false}, {"team.edit", false}, {"audit.view", false},
}

// BenchmarkCheckBatch measures decisions per second through POST
// /v1/authz/check-batch: 8 clients each looping batches of 100 checks for
// 3 s (the target is at least 1,000,000 decisions/s on 2 cores), and the
// same against a bare net/http server that decodes the same body into the
// same struct ({"checks": [4-field item, ...]}) with encoding/json and
// answers Roster's own answer to it, byte for byte.
//
// The batch cycles through a developer's 15 permissions (9 allowed, 6
// not), a user who is not a member and an account that does not exist.
// The first answer is checked item by item against the role matrix written
// out in this file; every answer counted is 200 and byte-equal to it.
//
// Reported: decisions/s, bare_decisions/s, ratio (Roster over bare), and
// other_cpu (see the package documentation). About
// 7 s, once whatever b.N is:
//
//	go test -run XXX -bench CheckBatch -benchtime 1x ./loadtest
func BenchmarkCheckBatch(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if i == 0 {
			measureCheckBatch(b)
		}
	}
}

func measureCheckBatch(b *testing.B) {
	b.StopTimer()
	ce := newCheckEnv(b)
	e := ce.e
	unknown := unknownAuthID(b, e)
	var batch checkBatch
	var want []bool
	for i := range batchSize {
		switch k := i % (len(developerMatrix) + 2); {
		case k < len(developerMatrix):
			batch.Checks = append(batch.Checks, checkItem{AccountID: ce.acct, UserID: ce.devID, Permission: developerMatrix[k].perm})
			want = append(want, developerMatrix[k].allowed)
		case k == len(developerMatrix):
			batch.Checks = append(batch.Checks, checkItem{AccountID: ce.acct, UserID: 1 << 30, Permission: "numbers.view"})
			want = append(want, false)
		default:
			batch.Checks = append(batch.Checks, checkItem{AccountID: unknown, UserID: ce.devID, Permission: "numbers.view"})
			want = append(want, false)
		}
	}
	// The body names a user_id and no api_key, as a caller would.
	body := []byte(`{"checks":[`)
	for i, c := range batch.Checks {
		if i > 0 {
			body = append(body, ',')
		}
		body = fmt.Appendf(body, `{"account_id":%q,"user_id":%d,"permission":%q}`, c.AccountID, c.UserID, c.Permission)
	}
	body = append(body, "]}"...)
	first := e.Platform(b).Must(200, "POST", "/v1/authz/check-batch", body)
	var got struct {
		Results []struct {
			Allowed bool   `json:"allowed"`
			Role    string `json:"role"`
			Reason  string `json:"reason"`
		} `json:"results"`
	}
	if err := json.Unmarshal(first.Body, &got); err != nil {
		b.Fatalf("batch answer: %v: %s", err, clip(first.Body))
	}
	if len(got.Results) != batchSize {
		b.Fatalf("batch answer: %d results, want %d", len(got.Results), batchSize)
	}
	allowed := 0
	for i, r := range got.Results {
		if r.Allowed != want[i] {
			b.Fatalf("batch item %d (%+v): %+v, want allowed %v", i, batch.Checks[i], r, want[i])
		}
		if r.Allowed {
			allowed++
		}
	}

	bare := bareServer(b, func() any { return new(checkBatch) },
		func(v any) bool { return len(v.(*checkBatch).Checks) == batchSize }, answerHeader(first.Header), first.Body)
	client := newLoadClient(b)
	rosterURL, bareURL := e.URL+"/v1/authz/check-batch", bare.URL+"/v1/authz/check-batch"
	for _, u := range []string{rosterURL, bareURL} {
		if w := load(client, u, body, first.Body, batchWorkers, warmup); w.failure != "" || w.ok == 0 {
			b.Fatalf("warm-up %s: %d answers, %s", u, w.ok, w.failure)
		}
	}

	b.StartTimer()
	rm := startCPU()
	rw := load(client, rosterURL, body, first.Body, batchWorkers, batchWindow)
	ro := rm.other()
	bm := startCPU()
	bw := load(client, bareURL, body, first.Body, batchWorkers, batchWindow)
	bo := bm.other()
	b.StopTimer()
	for _, w := range []window{rw, bw} {
		if w.failure != "" || w.ok == 0 {
			b.Fatalf("%d answers, %s", w.ok, w.failure)
		}
	}

	dps, bareDps := rw.perSecond()*batchSize, bw.perSecond()*batchSize
	b.ReportMetric(dps, "decisions/s")
	b.ReportMetric(bareDps, "bare_decisions/s")
	b.ReportMetric(dps/bareDps, "ratio")
	b.ReportMetric((ro+bo)/2, "other_cpu")
	b.Logf("check-batch: roster %.0f decisions/s (%.0f batches/s), bare %.0f decisions/s, ratio %.3f, target 1000000 (%.0f%% of it); "+
		"other processes used %.0f%% (roster window) and %.0f%% (bare window) of the CPU; "+
		"%d clients x %d checks (%d allowed), request %d bytes, answer %d bytes; NumCPU %d, GOMAXPROCS %d",
		dps, rw.perSecond(), bareDps, dps/bareDps, 100*dps/1e6, 100*ro, 100*bo, batchWorkers, batchSize, allowed, len(body), len(first.Body),
		runtime.NumCPU(), runtime.GOMAXPROCS(0))
}
