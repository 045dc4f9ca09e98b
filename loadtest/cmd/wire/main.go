// Command wire measures the permission check at the wire as an outsider
// does, each figure against a bare reference in the same run. The scripts
// loadtest/wrk-check.sh, wrk-batch.sh and grpc-check.sh run it; by hand:
//
//	wire prepare -dir D [-accounts 10000] [-per 10] [-token T]
//	    D/roster.db (loadtest.Generate), D/mix.json (1,000 checks: 85%
//	    members, 10% another account's user, 5% an unknown account),
//	    D/check.lua and D/batch.lua (wrk scripts cycling through them).
//	wire bare -mix D/mix.json -roster URL [-roster-grpc ADDR] -http ADDR [-grpc ADDR] [-token T] [-pprof ADDR]
//	    the references: a bare net/http server decoding the same JSON
//	    into the same struct with encoding/json, looking the answer up
//	    in a map and encoding it with encoding/json; a bare grpc-go server
//	    (grpc.NewServer(), no options) answering the same message from a
//	    map. Both learn their answers from Roster itself at start, so
//	    every answer is Roster's, byte for byte.
//	wire verify -mix D/mix.json -a URL -b URL [-token T]
//	    every check and batch of the mix answered byte-equal by both.
//	wire ports N
//	    N free TCP ports on 127.0.0.1, one a line.
//	wire grpc-load -mix D/mix.json -a ADDR -b ADDR [-c 32] [-conns 1] [-rounds 3] [-d 10s] [-token T]
//	    unary Check from -c callers, alternating a and b for -rounds
//	    windows of -d, and the ratio a/b.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/grpcapi/authzv1"
	"github.com/rosterhq/roster/loadtest"
	"github.com/rosterhq/roster/store"
)

const (
	mixSize   = 1000 // distinct checks in the mix
	batchSize = 100  // checks per batch
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: wire prepare|bare|verify|grpc-load|ports [flags]")
		os.Exit(2)
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "prepare":
		err = prepare(args)
	case "bare":
		err = bare(args)
	case "verify":
		err = verify(args)
	case "grpc-load":
		err = grpcLoad(args)
	case "ports":
		err = ports(args)
	default:
		err = fmt.Errorf("unknown command %q", cmd)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "wire:", err)
		os.Exit(1)
	}
}

// item is one check as JSON: the four fields of POST /v1/authz/check.
type item struct {
	AccountID  string `json:"account_id"`
	UserID     int64  `json:"user_id"`
	APIKey     string `json:"api_key"`
	Permission string `json:"permission"`
}

// mixItem is a check of the mix with its kind (member, other, unknown).
type mixItem struct {
	item
	Kind string `json:"kind"`
}

type batchReq struct {
	Checks []item `json:"checks"`
}

// answer is Roster's answer to one check, in its field order.
type answer struct {
	Allowed             bool     `json:"allowed"`
	Role                string   `json:"role"`
	Reason              string   `json:"reason"`
	RolesWithPermission []string `json:"roles_with_permission,omitempty"`
}

type batchAnswer struct {
	Results []answer `json:"results"`
}

func prepare(args []string) error {
	fs := flag.NewFlagSet("prepare", flag.ExitOnError)
	dir := fs.String("dir", "", "folder to write into (must exist)")
	accounts := fs.Int("accounts", 10000, "accounts to generate")
	per := fs.Int("per", 10, "members per account")
	token := fs.String("token", "wire-service-token", "service token the wrk scripts send")
	fs.Parse(args)
	if *dir == "" || *accounts < 2 || *per < 1 {
		return errors.New("prepare: -dir, at least 2 accounts and 1 member each are required")
	}
	dbPath := filepath.Join(*dir, "roster.db")
	if err := loadtest.Generate(dbPath, *accounts, *per); err != nil {
		return err
	}
	db, err := store.Open(dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	ids := make([]string, *accounts+1) // ids[seq] is account seq's Auth ID
	rows, err := db.SQL().Query(`SELECT id, auth_id FROM accounts`)
	if err != nil {
		return err
	}
	known := map[string]bool{}
	for rows.Next() {
		var seq int64
		var id string
		if err := rows.Scan(&seq, &id); err != nil {
			rows.Close()
			return err
		}
		ids[seq] = id
		known[id] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(26, 2026))
	var perms []string
	for _, p := range roster.AllPermissions {
		perms = append(perms, p.String())
	}
	mix := make([]mixItem, 0, mixSize)
	for range mixSize {
		seq := int64(1 + rng.IntN(*accounts))
		perm := perms[rng.IntN(len(perms))]
		switch r := rng.IntN(100); {
		case r < 85: // a member of the account
			uid := loadtest.GenUserID(seq, *per, rng.IntN(*per))
			mix = append(mix, mixItem{item{AccountID: ids[seq], UserID: uid, Permission: perm}, "member"})
		case r < 95: // a member of another account
			other := seq%int64(*accounts) + 1 // the next account (needs 2 or more)
			uid := loadtest.GenUserID(other, *per, rng.IntN(*per))
			mix = append(mix, mixItem{item{AccountID: ids[seq], UserID: uid, Permission: perm}, "other"})
		default: // an account that does not exist
			var id string
			for id == "" || known[id] {
				id = store.NewAuthID()
			}
			uid := loadtest.GenUserID(seq, *per, rng.IntN(*per))
			mix = append(mix, mixItem{item{AccountID: id, UserID: uid, Permission: perm}, "unknown"})
		}
	}
	raw, err := json.MarshalIndent(mix, "", " ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*dir, "mix.json"), raw, 0o644); err != nil {
		return err
	}
	var checks, batches []string
	for _, m := range mix {
		checks = append(checks, string(checkBody(m.item)))
	}
	for _, b := range batchBodies(mix) {
		batches = append(batches, string(b))
	}
	if err := os.WriteFile(filepath.Join(*dir, "check.lua"), wrkScript("/v1/authz/check", *token, checks), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(*dir, "batch.lua"), wrkScript("/v1/authz/check-batch", *token, batches), 0o644)
}

// checkBody is the body a caller sends for one check: a user_id and no
// api_key.
func checkBody(it item) []byte {
	return fmt.Appendf(nil, `{"account_id":%q,"user_id":%d,"permission":%q}`, it.AccountID, it.UserID, it.Permission)
}

// batchBodies cuts the mix into batches of batchSize, in order.
func batchBodies(mix []mixItem) [][]byte {
	var out [][]byte
	for i := 0; i+batchSize <= len(mix); i += batchSize {
		b := []byte(`{"checks":[`)
		for j, m := range mix[i : i+batchSize] {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, checkBody(m.item)...)
		}
		out = append(out, append(b, "]}"...))
	}
	return out
}

// wrkScript is a wrk script that sends the bodies in turn (each thread
// from its own starting point), every request formatted once in init.
func wrkScript(path, token string, bodies []string) []byte {
	var b bytes.Buffer
	b.WriteString("-- Written by `wire prepare` (loadtest/cmd/wire).\nlocal bodies = {\n")
	for _, s := range bodies {
		fmt.Fprintf(&b, "  %q,\n", s) // Go's quoting is valid Lua for these ASCII bodies
	}
	fmt.Fprintf(&b, `}
local threads = 0
function setup(thread)
  thread:set("first", threads * 7919)
  threads = threads + 1
end
local reqs = {}
local i = 0
function init(args)
  local h = { ["Authorization"] = "Bearer %s", ["Content-Type"] = "application/json" }
  for k, body in ipairs(bodies) do
    reqs[k] = wrk.format("POST", %q, h, body)
  end
  i = (first or 0) %% #reqs
end
function request()
  i = i %% #reqs + 1
  return reqs[i]
end
`, token, path)
	return b.Bytes()
}

func readMix(path string) ([]mixItem, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var mix []mixItem
	if err := json.Unmarshal(raw, &mix); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(mix) < batchSize {
		return nil, fmt.Errorf("%s: %d checks, want at least %d", path, len(mix), batchSize)
	}
	return mix, nil
}

// post sends body to url with the service token and returns the answer,
// which must be 200.
func post(c *http.Client, url, token string, body []byte) ([]byte, error) {
	req, err := http.NewRequest("POST", url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("POST %s: %d %s", url, resp.StatusCode, got)
	}
	return got, nil
}

func bare(args []string) error {
	fs := flag.NewFlagSet("bare", flag.ExitOnError)
	mixPath := fs.String("mix", "", "the mix (wire prepare's mix.json)")
	rosterURL := fs.String("roster", "", "Roster's base URL, asked once for every answer")
	rosterGRPC := fs.String("roster-grpc", "", "Roster's gRPC address, asked once for every answer (with -grpc)")
	httpAddr := fs.String("http", "", "where the bare net/http server listens")
	grpcAddr := fs.String("grpc", "", "where the bare grpc-go server listens (optional)")
	token := fs.String("token", "wire-service-token", "Roster's service token")
	pprofAddr := fs.String("pprof", "", "where net/http/pprof listens (optional): the reference's own profile, beside Roster's")
	fs.Parse(args)
	mix, err := readMix(*mixPath)
	if err != nil {
		return err
	}
	if *pprofAddr != "" {
		ln, err := net.Listen("tcp", *pprofAddr)
		if err != nil {
			return err
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		go http.Serve(ln, mux)
	}
	answers := map[item]answer{}
	c := &http.Client{Timeout: 10 * time.Second}
	for _, m := range mix {
		got, err := post(c, *rosterURL+"/v1/authz/check", *token, checkBody(m.item))
		if err != nil {
			return err
		}
		var a answer
		if err := json.Unmarshal(got, &a); err != nil {
			return err
		}
		answers[m.item] = a
	}
	errc := make(chan error, 2)
	if *httpAddr != "" {
		ln, err := net.Listen("tcp", *httpAddr)
		if err != nil {
			return err
		}
		go func() { errc <- http.Serve(ln, bareHTTP(answers)) }()
	}
	if *grpcAddr != "" {
		gs, err := bareGRPC(mix, *rosterGRPC, *token)
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", *grpcAddr)
		if err != nil {
			return err
		}
		go func() { errc <- gs.Serve(ln) }()
	}
	fmt.Println("bare: serving")
	return <-errc
}

// bareHTTP is the reference: what any Go service answering the check
// would write with net/http and encoding/json, and nothing else.
func bareHTTP(answers map[item]answer) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/authz/check", func(w http.ResponseWriter, r *http.Request) {
		var in item
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		a, ok := answers[in]
		if !ok {
			http.Error(w, "not in the mix", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(a)
	})
	mux.HandleFunc("POST /v1/authz/check-batch", func(w http.ResponseWriter, r *http.Request) {
		var in batchReq
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		out := batchAnswer{Results: make([]answer, len(in.Checks))}
		for i, it := range in.Checks {
			a, ok := answers[it]
			if !ok {
				http.Error(w, "not in the mix", http.StatusBadRequest)
				return
			}
			out.Results[i] = a
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(out)
	})
	return mux
}

// bareAuthz answers Check from a map: the same messages as Roster's.
type bareAuthz struct {
	authzv1.UnimplementedAuthzServiceServer
	answers map[item]*authzv1.CheckResponse
}

func (b *bareAuthz) Check(_ context.Context, in *authzv1.CheckRequest) (*authzv1.CheckResponse, error) {
	a, ok := b.answers[item{AccountID: in.GetAccountId(), UserID: in.GetUserId(), APIKey: in.GetApiKey(), Permission: in.GetPermission()}]
	if !ok {
		return nil, errors.New("not in the mix")
	}
	// A new message per call, as a server that computes its answer makes.
	return &authzv1.CheckResponse{Allowed: a.Allowed, Role: a.Role, Reason: a.Reason, RolesWithPermission: a.RolesWithPermission}, nil
}

func bareGRPC(mix []mixItem, rosterAddr, token string) (*grpc.Server, error) {
	if rosterAddr == "" {
		return nil, errors.New("bare: -grpc needs -roster-grpc")
	}
	cc, err := grpc.NewClient(rosterAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	defer cc.Close()
	client := authzv1.NewAuthzServiceClient(cc)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+token)
	answers := map[item]*authzv1.CheckResponse{}
	for _, m := range mix {
		a, err := client.Check(ctx, grpcRequest(m.item))
		if err != nil {
			return nil, fmt.Errorf("roster gRPC check: %w", err)
		}
		answers[m.item] = a
	}
	gs := grpc.NewServer()
	authzv1.RegisterAuthzServiceServer(gs, &bareAuthz{answers: answers})
	return gs, nil
}

func grpcRequest(it item) *authzv1.CheckRequest {
	return &authzv1.CheckRequest{AccountId: it.AccountID, Subject: &authzv1.CheckRequest_UserId{UserId: it.UserID}, Permission: it.Permission}
}

func verify(args []string) error {
	fs := flag.NewFlagSet("verify", flag.ExitOnError)
	mixPath := fs.String("mix", "", "the mix (wire prepare's mix.json)")
	a := fs.String("a", "", "base URL of one server")
	b := fs.String("b", "", "base URL of the other")
	token := fs.String("token", "wire-service-token", "service token")
	fs.Parse(args)
	mix, err := readMix(*mixPath)
	if err != nil {
		return err
	}
	c := &http.Client{Timeout: 10 * time.Second}
	kinds := map[string]map[string]int{} // kind -> reason -> count
	same := func(path string, body []byte) ([]byte, error) {
		ga, err := post(c, *a+path, *token, body)
		if err != nil {
			return nil, err
		}
		gb, err := post(c, *b+path, *token, body)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(ga, gb) {
			return nil, fmt.Errorf("%s %s: %s answered %q, %s %q", path, body, *a, ga, *b, gb)
		}
		return ga, nil
	}
	for _, m := range mix {
		got, err := same("/v1/authz/check", checkBody(m.item))
		if err != nil {
			return err
		}
		var an answer
		if err := json.Unmarshal(got, &an); err != nil {
			return err
		}
		if (m.Kind != "member") && (an.Allowed || an.Reason != "not_member") {
			return fmt.Errorf("%+v: %s, want not_member", m, got)
		}
		if kinds[m.Kind] == nil {
			kinds[m.Kind] = map[string]int{}
		}
		kinds[m.Kind][an.Reason]++
	}
	for _, body := range batchBodies(mix) {
		if _, err := same("/v1/authz/check-batch", body); err != nil {
			return err
		}
	}
	fmt.Printf("verify: %d checks and %d batches answered byte-equal by both; reasons by kind %v\n", len(mix), len(mix)/batchSize, kinds)
	return nil
}

func grpcLoad(args []string) error {
	fs := flag.NewFlagSet("grpc-load", flag.ExitOnError)
	mixPath := fs.String("mix", "", "the mix (wire prepare's mix.json)")
	a := fs.String("a", "", "gRPC address of the measured server (Roster)")
	b := fs.String("b", "", "gRPC address of the reference (bare)")
	base := fs.String("base", "", "gRPC address of another Roster (an older build) measured in the same rounds (optional)")
	callers := fs.Int("c", 32, "concurrent callers")
	conns := fs.Int("conns", 1, "connections per server the callers share")
	rounds := fs.Int("rounds", 3, "rounds of (a window, b window)")
	d := fs.Duration("d", 10*time.Second, "each window")
	token := fs.String("token", "wire-service-token", "service token")
	pidA := fs.Int("pid-a", 0, "process ID of a's server, to report its CPU time per call (0: none)")
	pidB := fs.Int("pid-b", 0, "process ID of b's server")
	pidBase := fs.Int("pid-base", 0, "process ID of base's server")
	fs.Parse(args)
	mix, err := readMix(*mixPath)
	if err != nil {
		return err
	}
	reqs := make([]*authzv1.CheckRequest, len(mix))
	for i, m := range mix {
		reqs[i] = grpcRequest(m.item)
	}
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+*token)
	clients := func(addr string) ([]authzv1.AuthzServiceClient, func(), error) {
		var out []authzv1.AuthzServiceClient
		var ccs []*grpc.ClientConn
		for range *conns {
			cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				return nil, nil, err
			}
			ccs = append(ccs, cc)
			out = append(out, authzv1.NewAuthzServiceClient(cc))
		}
		return out, func() {
			for _, cc := range ccs {
				cc.Close()
			}
		}, nil
	}
	ca, closeA, err := clients(*a)
	if err != nil {
		return err
	}
	defer closeA()
	cb, closeB, err := clients(*b)
	if err != nil {
		return err
	}
	defer closeB()
	var cbase []authzv1.AuthzServiceClient
	if *base != "" {
		var closeBase func()
		if cbase, closeBase, err = clients(*base); err != nil {
			return err
		}
		defer closeBase()
	}
	// Every answer of the mix the same from both, on every connection.
	for i, r := range reqs {
		ra, err := ca[i%len(ca)].Check(ctx, r)
		if err != nil {
			return fmt.Errorf("%s: %v: %w", *a, r, err)
		}
		rb, err := cb[i%len(cb)].Check(ctx, r)
		if err != nil {
			return fmt.Errorf("%s: %v: %w", *b, r, err)
		}
		if !proto.Equal(ra, rb) {
			return fmt.Errorf("%v: %s answered %v, %s %v", r, *a, ra, *b, rb)
		}
	}
	// window runs the callers against cs for d: calls a second, and the
	// server's (pid's) CPU time per call in µs (0 without pid).
	window := func(cs []authzv1.AuthzServiceClient, d time.Duration, pid int) (float64, float64, error) {
		var n atomic.Int64
		var wg sync.WaitGroup
		var once sync.Once
		var failure error
		c0 := procCPU(pid)
		start := time.Now()
		deadline := start.Add(d)
		for w := range *callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := cs[w%len(cs)]
				i := w * 7919
				for time.Now().Before(deadline) {
					if _, err := c.Check(ctx, reqs[i%len(reqs)]); err != nil {
						once.Do(func() { failure = err })
						return
					}
					n.Add(1)
					i++
				}
			}()
		}
		wg.Wait()
		rate := float64(n.Load()) / time.Since(start).Seconds()
		return rate, float64(procCPU(pid)-c0) / float64(time.Microsecond) / float64(max(1, n.Load())), failure
	}
	if _, _, err := window(ca, time.Second, 0); err != nil { // warm-up
		return err
	}
	if _, _, err := window(cb, time.Second, 0); err != nil {
		return err
	}
	if cbase != nil {
		if _, _, err := window(cbase, time.Second, 0); err != nil {
			return err
		}
	}
	var sa, sb, sc, ua, ub, uc float64
	for r := range *rounds {
		ra, xa, err := window(ca, *d, *pidA)
		if err != nil {
			return err
		}
		rb, xb, err := window(cb, *d, *pidB)
		if err != nil {
			return err
		}
		note := ""
		if cbase != nil {
			rc, xc, err := window(cbase, *d, *pidBase)
			if err != nil {
				return err
			}
			sc, uc = sc+rc, uc+xc
			note = fmt.Sprintf(", base %.0f checks/s, roster/base %.3f", rc, ra/rc)
		}
		sa, sb, ua, ub = sa+ra, sb+rb, ua+xa, ub+xb
		fmt.Printf("round %d: roster %.0f checks/s, bare %.0f checks/s, ratio %.3f%s\n", r+1, ra, rb, ra/rb, note)
	}
	n := float64(*rounds)
	note := ""
	if *pidA != 0 && *pidB != 0 {
		note = fmt.Sprintf("; server CPU per call: roster %.1f us, bare %.1f us (bare/roster %.3f)", ua/n, ub/n, ub/ua)
	}
	if cbase != nil {
		note += fmt.Sprintf("; base %.0f checks/s, roster/base %.3f", sc/n, sa/sc)
		if *pidBase != 0 {
			note += fmt.Sprintf(", base CPU per call %.1f us", uc/n)
		}
	}
	fmt.Printf("grpc check: roster %.0f checks/s, bare %.0f checks/s (means of %d rounds of %s, %d callers on %d connection(s) each): ratio %.3f (target >= 0.9)%s\n",
		sa/n, sb/n, *rounds, *d, *callers, *conns, sa/sb, note)
	return nil
}

// procCPU is the user and system CPU time process pid has used (0 for
// pid 0 or when /proc cannot be read): /proc/pid/stat in clock ticks,
// taken as 100 a second (Linux's USER_HZ).
func procCPU(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name, field 2, may hold spaces: count from after its ")".
	rest := raw[bytes.LastIndexByte(raw, ')')+1:]
	f := bytes.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	var ut, st int64
	fmt.Sscan(string(f[11]), &ut) // field 14, utime
	fmt.Sscan(string(f[12]), &st) // field 15, stime
	return time.Duration(ut+st) * 10 * time.Millisecond
}

func ports(args []string) error {
	var n int
	if len(args) != 1 {
		return errors.New("usage: wire ports N")
	}
	if _, err := fmt.Sscan(args[0], &n); err != nil {
		return err
	}
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		lns = append(lns, ln)
		fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	}
	return nil
}
