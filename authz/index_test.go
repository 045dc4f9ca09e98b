package authz_test

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/authz"
)

func TestIndex_Check(t *testing.T) {
	ix := authz.NewIndex()
	ix.SetAccount(1, "", true, false)
	ix.SetAccount(2, "", false, false)
	ix.SetMember(1, 10, roster.RoleOwner, false)
	ix.SetMember(1, 11, roster.RoleSupport, false)
	ix.SetMember(2, 20, roster.RoleOwner, false)
	ix.SetMember(2, 21, roster.RoleAdmin, false)
	ix.SetMember(3, 30, roster.RoleAdmin, false) // an account the index does not know

	for _, tc := range []struct {
		acct, user int64
		perm       roster.Permission
		want       authz.Decision
	}{
		{1, 10, roster.TeamEdit, authz.Decision{true, roster.RoleOwner, authz.ReasonAllowed}},
		{1, 11, roster.SettingsEdit, authz.Decision{true, roster.RoleSupport, authz.ReasonAllowed}},
		{1, 11, roster.CredentialsView, authz.Decision{false, roster.RoleSupport, authz.ReasonMissingPermission}},
		{1, 20, roster.NumbersView, authz.Decision{false, roster.RoleNone, authz.ReasonNotMember}},
		{2, 20, roster.BillingEdit, authz.Decision{true, roster.RoleOwner, authz.ReasonAllowed}},
		{2, 21, roster.NumbersView, authz.Decision{false, roster.RoleAdmin, authz.ReasonSuspended}},
		{3, 30, roster.NumbersView, authz.Decision{false, roster.RoleNone, authz.ReasonNotMember}},
		{-1, 10, roster.NumbersView, authz.Decision{false, roster.RoleNone, authz.ReasonNotMember}},
		{1 << 40, 10, roster.NumbersView, authz.Decision{false, roster.RoleNone, authz.ReasonNotMember}},
	} {
		if got := ix.Check(tc.acct, tc.user, tc.perm); got != tc.want {
			t.Errorf("Check(%d, %d, %s) = %+v, want %+v", tc.acct, tc.user, tc.perm, got, tc.want)
		}
	}

	// The plan returns: the suspended admin is restored.
	ix.SetAccount(2, "", true, false)
	if d := ix.Check(2, 21, roster.NumbersView); !d.Allowed {
		t.Errorf("after upgrade: %+v", d)
	}
	if role, active, ok := ix.Member(2, 21); role != roster.RoleAdmin || !active || !ok {
		t.Errorf("Member = %v %v %v", role, active, ok)
	}
	ix.RemoveMember(2, 21)
	if d := ix.Check(2, 21, roster.NumbersView); d.Allowed || d.Reason != authz.ReasonNotMember {
		t.Errorf("after removal: %+v", d)
	}
	if _, _, ok := ix.Member(2, 21); ok {
		t.Error("removed member still there")
	}
	if n := ix.Members(); n != 4 {
		t.Errorf("Members = %d, want 4", n)
	}
	ix.RemoveAccount(1)
	if d := ix.Check(1, 10, roster.NumbersView); d.Reason != authz.ReasonNotMember {
		t.Errorf("after account removal: %+v", d)
	}
	ix.Reset()
	if ix.Members() != 0 {
		t.Error("Reset left members")
	}
}

func TestIndex_Keys(t *testing.T) {
	ix := authz.NewIndex()
	k1, k2, k3 := sha256.Sum256([]byte("a")), sha256.Sum256([]byte("b")), sha256.Sum256([]byte("c"))
	ix.SetKey(k1, 1, 5, 50)
	ix.SetKey(k2, 2, 5, 50)
	ix.SetKey(k3, 3, 5, 51)
	if id, a, u, ok := ix.Key(k2); id != 2 || a != 5 || u != 50 || !ok {
		t.Errorf("Key(k2) = %d %d %d %v", id, a, u, ok)
	}
	ix.RemoveKeysOf(5, 50)
	for _, k := range [][32]byte{k1, k2} {
		if _, _, _, ok := ix.Key(k); ok {
			t.Error("RemoveKeysOf left a key of the member")
		}
	}
	if _, _, _, ok := ix.Key(k3); !ok {
		t.Error("RemoveKeysOf removed another member's key")
	}
}

// TestIndex_ConcurrentWritersAndReaders runs under -race in CI.
func TestIndex_ConcurrentWritersAndReaders(t *testing.T) {
	ix := authz.NewIndex()
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(2)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				a := int64(w*10000 + i)
				ix.SetAccount(a, "", true, false)
				ix.SetMember(a, 1, roster.RoleDeveloper, false)
				if i%2 == 0 {
					ix.RemoveMember(a, 1)
				}
			}
		}(w)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				ix.Check(int64(w*10000+i), 1, roster.NumbersEdit)
			}
		}(w)
	}
	wg.Wait()
	if n := ix.Members(); n != 8*1000 {
		t.Errorf("Members = %d, want %d", n, 8*1000)
	}
	for w := 0; w < 8; w++ {
		if d := ix.Check(int64(w*10000+1), 1, roster.NumbersEdit); !d.Allowed {
			t.Errorf("worker %d odd member: %+v", w, d)
		}
		if d := ix.Check(int64(w*10000+2), 1, roster.NumbersEdit); d.Allowed {
			t.Errorf("worker %d even member: %+v", w, d)
		}
	}
}

type triple struct {
	a, u int64
	p    roster.Permission
}

// benchWorld is an index and the same memberships in a plain map (the
// reference: one lookup of a packed key, a bitmask test), with queries.
type benchWorld struct {
	ix      *authz.Index
	plain   map[uint64]uint8
	queries []triple
}

var (
	benchMu     sync.Mutex
	benchWorlds = map[int]*benchWorld{}
)

// world builds n memberships, 10 an account, once per n.
func world(n int) *benchWorld {
	benchMu.Lock()
	defer benchMu.Unlock()
	if w := benchWorlds[n]; w != nil {
		return w
	}
	r := rand.New(rand.NewPCG(1, 2))
	w := &benchWorld{ix: authz.NewIndex(), plain: make(map[uint64]uint8, n)}
	const perAccount = 10
	accounts := int64(n / perAccount)
	w.ix.Update(func(b *authz.Batch) {
		b.Reserve(n)
		for a := int64(1); a <= accounts; a++ {
			b.SetAccount(a, "", true, false)
			for j := int64(0); j < perAccount; j++ {
				role := roster.Roles[r.IntN(len(roster.Roles))]
				b.SetMember(a, a*perAccount+j, role, false)
				w.plain[uint64(a)<<32|uint64(a*perAccount+j)] = uint8(role)
			}
		}
	})
	w.queries = make([]triple, 1<<16)
	for i := range w.queries {
		a := 1 + r.Int64N(accounts)
		w.queries[i] = triple{a, a*perAccount + r.Int64N(perAccount), roster.AllPermissions[r.IntN(roster.NumPermissions)]}
	}
	benchWorlds[n] = w
	return w
}

var sink int

// BenchmarkCheck: one check at a time, against 1,000 and 1,000,000
// memberships, beside the plain-map reference of the same size.
func BenchmarkCheck(b *testing.B) {
	for _, n := range []int{1_000, 1_000_000} {
		w := world(n)
		if got := w.ix.Members(); got != n {
			b.Fatalf("%d members, want %d", got, n)
		}
		b.Run(fmt.Sprintf("index/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			allowed := 0
			for i := 0; i < b.N; i++ {
				q := w.queries[i&(len(w.queries)-1)]
				if w.ix.Check(q.a, q.u, q.p).Allowed {
					allowed++
				}
			}
			sink += allowed
		})
		b.Run(fmt.Sprintf("plainmap/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			allowed := 0
			for i := 0; i < b.N; i++ {
				q := w.queries[i&(len(w.queries)-1)]
				if v, ok := w.plain[uint64(q.a)<<32|uint64(q.u)]; ok && authz.Mask(roster.Role(v))&(1<<q.p) != 0 {
					allowed++
				}
			}
			sink += allowed
		})
	}
}

// BenchmarkCheckParallel: checks from every core at once, beside the
// plain-map reference read from every core (a map nobody writes).
func BenchmarkCheckParallel(b *testing.B) {
	for _, n := range []int{1_000, 1_000_000} {
		w := world(n)
		b.Run(fmt.Sprintf("index/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i, allowed := rand.IntN(len(w.queries)), 0
				for pb.Next() {
					q := w.queries[i&(len(w.queries)-1)]
					if w.ix.Check(q.a, q.u, q.p).Allowed {
						allowed++
					}
					i++
				}
				benchMu.Lock()
				sink += allowed
				benchMu.Unlock()
			})
		})
		b.Run(fmt.Sprintf("plainmap/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i, allowed := rand.IntN(len(w.queries)), 0
				for pb.Next() {
					q := w.queries[i&(len(w.queries)-1)]
					if v, ok := w.plain[uint64(q.a)<<32|uint64(q.u)]; ok && authz.Mask(roster.Role(v))&(1<<q.p) != 0 {
						allowed++
					}
					i++
				}
				benchMu.Lock()
				sink += allowed
				benchMu.Unlock()
			})
		})
	}
}

// BenchmarkLoad: building the index of 1,000,000 memberships in one batch.
func BenchmarkLoad(b *testing.B) {
	for i := 0; i < b.N; i++ {
		ix := authz.NewIndex()
		ix.Update(func(bt *authz.Batch) {
			bt.Reserve(1_000_000)
			for a := int64(1); a <= 100_000; a++ {
				bt.SetAccount(a, "", true, false)
				for j := int64(0); j < 10; j++ {
					bt.SetMember(a, a*10+j, roster.RoleDeveloper, false)
				}
			}
		})
	}
}

func ExampleIndex_Check() {
	ix := authz.NewIndex()
	ix.SetAccount(1, "", true, false)
	ix.SetMember(1, 7, roster.RoleFinanceAnalyst, false)
	fmt.Println(ix.Check(1, 7, roster.BillingEdit).Allowed, ix.Check(1, 7, roster.NumbersView).Reason)
	// Output: true missing_permission
}

// An account that requires two-factor sign-in refuses, with its own reason,
// a member who has none, and no one else; a suspension comes first.
func TestIndex_RequireMFA(t *testing.T) {
	ix := authz.NewIndex()
	ix.SetAccount(1, "", true, true)
	ix.SetMember(1, 10, roster.RoleOwner, true)
	ix.SetMember(1, 11, roster.RoleDeveloper, false)
	if d := ix.Check(1, 10, roster.NumbersView); !d.Allowed {
		t.Errorf("owner with MFA: %+v", d)
	}
	if d := ix.Check(1, 11, roster.NumbersView); d.Allowed || d.Reason != authz.ReasonMFARequired || d.Role != roster.RoleDeveloper {
		t.Errorf("developer without MFA: %+v", d)
	}
	ix.SetMember(1, 11, roster.RoleDeveloper, true) // enrolled
	if d := ix.Check(1, 11, roster.NumbersView); !d.Allowed {
		t.Errorf("developer after enrolling: %+v", d)
	}
	ix.SetMember(1, 11, roster.RoleDeveloper, false)
	ix.SetAccount(1, "", false, true) // off the plan: suspended first
	if d := ix.Check(1, 11, roster.NumbersView); d.Reason != authz.ReasonSuspended {
		t.Errorf("suspended without MFA: %+v", d)
	}
	ix.SetAccount(1, "", true, false) // requirement off: the flag of the user stays
	if d := ix.Check(1, 11, roster.NumbersView); !d.Allowed {
		t.Errorf("requirement off: %+v", d)
	}
	ix.SetAccount(1, "", true, true)
	if d := ix.Check(1, 11, roster.PermissionNone); d.Allowed {
		t.Errorf("PermissionNone allowed: %+v", d)
	}
}

// An account that requires single sign-on binds the members on its
// verified domains (Facts.OnDomain) but never its owner: by user ID they
// count as through it once they have signed in through it (SSOSeen); a
// key never came through it; a session did or did not. Suspension comes
// first; single sign-on before two-factor, and a connection that counts
// as two-factor satisfies the account's requirement.
func TestIndex_RequireSSO(t *testing.T) {
	ix := authz.NewIndex()
	ix.SetAccountOf(1, authz.Account{Committed: true, RequireSSO: true})
	ix.SetMemberOf(1, 10, roster.RoleOwner, authz.Facts{OnDomain: true})
	ix.SetMemberOf(1, 11, roster.RoleDeveloper, authz.Facts{OnDomain: true})
	ix.SetMemberOf(1, 12, roster.RoleDeveloper, authz.Facts{OnDomain: true, SSOSeen: true})
	ix.SetMemberOf(1, 13, roster.RoleDeveloper, authz.Facts{}) // a contractor on another domain
	for _, tc := range []struct {
		user int64
		by   authz.SignIn
		want authz.Reason
	}{
		{10, authz.ByUser, authz.ReasonAllowed},
		{10, authz.ByKey, authz.ReasonAllowed},
		{10, authz.ByOtherSession, authz.ReasonAllowed},
		{11, authz.ByUser, authz.ReasonSSORequired},
		{11, authz.ByKey, authz.ReasonSSORequired},
		{11, authz.ByOtherSession, authz.ReasonSSORequired},
		{11, authz.BySSO, authz.ReasonAllowed},
		{11, authz.BySSOAsMFA, authz.ReasonAllowed},
		{12, authz.ByUser, authz.ReasonAllowed},
		{12, authz.ByKey, authz.ReasonSSORequired},
		{12, authz.ByOtherSession, authz.ReasonSSORequired},
		{13, authz.ByUser, authz.ReasonAllowed},
		{13, authz.ByKey, authz.ReasonAllowed},
		{13, authz.ByOtherSession, authz.ReasonAllowed},
	} {
		if d := ix.CheckBy(1, tc.user, roster.NumbersView, tc.by); d.Reason != tc.want || d.Allowed != (tc.want == authz.ReasonAllowed) {
			t.Errorf("CheckBy(user %d, %d) = %+v, want %s", tc.user, tc.by, d, tc.want)
		}
	}
	if d := ix.Check(1, 11, roster.NumbersView); d.Reason.String() != "sso_required" || d.Role != roster.RoleDeveloper {
		t.Errorf("Check = %+v", d)
	}

	// The requirement off: no one is bound, and the member facts stay.
	ix.SetAccountOf(1, authz.Account{Committed: true})
	if d := ix.CheckBy(1, 11, roster.NumbersView, authz.ByKey); !d.Allowed {
		t.Errorf("requirement off: %+v", d)
	}
	ix.SetAccountOf(1, authz.Account{Committed: true, RequireSSO: true})
	if d := ix.CheckBy(1, 11, roster.NumbersView, authz.ByKey); d.Reason != authz.ReasonSSORequired {
		t.Errorf("requirement on again: %+v", d)
	}
	// Off the plan: suspended first.
	ix.SetAccountOf(1, authz.Account{RequireSSO: true})
	if d := ix.CheckBy(1, 11, roster.NumbersView, authz.ByKey); d.Reason != authz.ReasonSuspended {
		t.Errorf("suspended: %+v", d)
	}
	// Two-factor too: single sign-on first, then two-factor, which a
	// connection that counts as it satisfies.
	ix.SetAccountOf(1, authz.Account{Committed: true, RequireSSO: true, RequireMFA: true})
	for by, want := range map[authz.SignIn]authz.Reason{
		authz.ByOtherSession: authz.ReasonSSORequired,
		authz.BySSO:          authz.ReasonMFARequired,
		authz.BySSOAsMFA:     authz.ReasonAllowed,
	} {
		if d := ix.CheckBy(1, 11, roster.NumbersView, by); d.Reason != want {
			t.Errorf("with two-factor required, %d: %+v, want %s", by, d, want)
		}
	}
	// The user's own two-factor counts for a session that presented it
	// (a password login asks for the code), never for one that came
	// through a provider: this account's (unless it counts as two-factor)
	// or another account's.
	ix.SetMemberOf(1, 11, roster.RoleDeveloper, authz.Facts{OnDomain: true, MFA: true})
	if d := ix.CheckBy(1, 11, roster.NumbersView, authz.BySSO); d.Reason != authz.ReasonMFARequired {
		t.Errorf("single sign-on with the user's own two-factor on: %+v, want mfa_required", d)
	}
	ix.SetAccountOf(1, authz.Account{Committed: true, RequireMFA: true})
	if d := ix.CheckBy(1, 11, roster.NumbersView, authz.ByOtherSession); !d.Allowed {
		t.Errorf("a password session of a user with two-factor on: %+v", d)
	}
	if d := ix.CheckBy(1, 11, roster.NumbersView, authz.BySSOElsewhere); d.Reason != authz.ReasonMFARequired {
		t.Errorf("another account's single sign-on: %+v, want mfa_required", d)
	}
	ix.SetAccountOf(1, authz.Account{Committed: true, RequireSSO: true, RequireMFA: true})
	// A plan change keeps the member facts.
	ix.SetAccountOf(1, authz.Account{Committed: false, RequireSSO: true})
	ix.SetAccountOf(1, authz.Account{Committed: true, RequireSSO: true})
	if d := ix.CheckBy(1, 12, roster.NumbersView, authz.ByUser); !d.Allowed {
		t.Errorf("SSOSeen lost by a plan change: %+v", d)
	}
	if d := ix.CheckBy(1, 11, roster.NumbersView, authz.ByUser); d.Reason != authz.ReasonSSORequired {
		t.Errorf("OnDomain lost by a plan change: %+v", d)
	}
}

// Decide is the one rule: its order, table-tested.
func TestDecide_Order(t *testing.T) {
	for _, tc := range []struct {
		role roster.Role
		st   authz.Standing
		want authz.Reason
	}{
		{roster.RoleNone, authz.Standing{Committed: true}, authz.ReasonNotMember},
		{roster.RoleNone, authz.Standing{Deactivated: true}, authz.ReasonNotMember},
		{roster.RoleAdmin, authz.Standing{Deactivated: true, NeedsSSO: true, NeedsMFA: true}, authz.ReasonDeactivated},
		{roster.RoleAdmin, authz.Standing{Deactivated: true, Committed: true, HasSSO: true, HasMFA: true}, authz.ReasonDeactivated},
		{roster.RoleOwner, authz.Standing{Deactivated: true, Committed: true}, authz.ReasonAllowed},
		{roster.RoleAdmin, authz.Standing{NeedsSSO: true, NeedsMFA: true}, authz.ReasonSuspended},
		{roster.RoleAdmin, authz.Standing{Committed: true, NeedsSSO: true, NeedsMFA: true}, authz.ReasonSSORequired},
		{roster.RoleAdmin, authz.Standing{Committed: true, NeedsSSO: true, HasSSO: true, NeedsMFA: true}, authz.ReasonMFARequired},
		{roster.RoleOwner, authz.Standing{Committed: true, NeedsSSO: true, NeedsMFA: true}, authz.ReasonMFARequired},
		{roster.RoleOwner, authz.Standing{NeedsSSO: true}, authz.ReasonAllowed},
		{roster.RoleSupport, authz.Standing{Committed: true, NeedsSSO: true, HasSSO: true}, authz.ReasonMissingPermission},
		{roster.RoleDeveloper, authz.Standing{Committed: true, NeedsSSO: true, HasSSO: true, NeedsMFA: true, HasMFA: true}, authz.ReasonAllowed},
	} {
		if d := authz.Decide(tc.role, tc.st, roster.NumbersEdit); d.Reason != tc.want {
			t.Errorf("Decide(%s, %+v) = %s, want %s", tc.role, tc.st, d.Reason, tc.want)
		}
	}
}

// The check allocates nothing, whatever the sign-in.
func TestIndex_CheckAllocatesNothing(t *testing.T) {
	ix := authz.NewIndex()
	ix.SetAccountOf(1, authz.Account{Committed: true, RequireSSO: true, RequireMFA: true})
	ix.SetMemberOf(1, 11, roster.RoleDeveloper, authz.Facts{OnDomain: true})
	if n := testing.AllocsPerRun(1000, func() {
		for by := authz.ByUser; by <= authz.BySSOAsMFA; by++ {
			ix.CheckBy(1, 11, roster.NumbersView, by)
		}
	}); n != 0 {
		t.Errorf("CheckBy allocates %v times", n)
	}
}

// A deactivated member checks as deactivated whatever else holds, by
// user ID and by key, keeps their role in the decision, and the bit
// survives the account's plan and requirement changes; reactivating
// restores the role's access.
func TestIndex_Deactivated(t *testing.T) {
	ix := authz.NewIndex()
	ix.SetAccountOf(1, authz.Account{AuthID: "MA1", Committed: true})
	ix.SetMemberOf(1, 10, roster.RoleAdmin, authz.Facts{Deactivated: true})
	ix.SetMemberOf(1, 11, roster.RoleAdmin, authz.Facts{})
	for _, by := range []authz.SignIn{authz.ByUser, authz.ByKey, authz.ByOtherSession, authz.BySSOAsMFA} {
		if d := ix.CheckBy(1, 10, roster.NumbersView, by); d.Allowed || d.Reason != authz.ReasonDeactivated || d.Role != roster.RoleAdmin {
			t.Errorf("by %d: %+v, want deactivated admin", by, d)
		}
	}
	if d := ix.Check(1, 10, roster.NumbersView); d.Reason.String() != "deactivated" {
		t.Errorf("reason name %q", d.Reason)
	}
	if _, active, ok := ix.Member(1, 10); active || !ok {
		t.Errorf("Member: active %v ok %v, want a member, not active", active, ok)
	}
	ix.SetAccountOf(1, authz.Account{Committed: false, RequireMFA: true, RequireSSO: true})
	ix.SetAccountOf(1, authz.Account{Committed: true})
	if d := ix.Check(1, 10, roster.NumbersView); d.Reason != authz.ReasonDeactivated {
		t.Errorf("after plan changes: %+v", d)
	}
	if d := ix.Check(1, 11, roster.NumbersView); !d.Allowed {
		t.Errorf("the other member: %+v", d)
	}
	ix.SetMemberOf(1, 10, roster.RoleAdmin, authz.Facts{})
	if d := ix.Check(1, 10, roster.NumbersView); !d.Allowed || d.Role != roster.RoleAdmin {
		t.Errorf("reactivated: %+v", d)
	}
}

// A large team (searched by halves), changes of one membership within one
// batch (the last wins), a member recorded before its account, and
// account IDs far apart all answer as the smallest case does.
func TestIndex_LargeTeamAndBatches(t *testing.T) {
	ix := authz.NewIndex()
	ix.SetMember(1<<31, 5, roster.RoleAdmin, false) // before its account
	if d := ix.Check(1<<31, 5, roster.NumbersView); d.Reason != authz.ReasonNotMember {
		t.Errorf("member of an unknown account: %+v", d)
	}
	ix.Update(func(b *authz.Batch) {
		b.SetAccount(1<<31, "", true, false)
		b.SetAccount(7, "", true, false)
		for u := int64(5000); u >= 1; u-- { // out of order
			b.SetMember(7, u*3, roster.RoleSupport, false)
		}
		b.SetMember(7, 300, roster.RoleDeveloper, false) // the last change wins
		b.RemoveMember(7, 600)
		b.SetMember(7, 600, roster.RoleAdmin, false)
		b.SetMember(7, 900, roster.RoleAdmin, false)
		b.RemoveMember(7, 900)
	})
	if n := ix.Members(); n != 5000 {
		t.Errorf("Members = %d, want 5000", n)
	}
	for _, tc := range []struct {
		user int64
		want roster.Role
	}{{3, roster.RoleSupport}, {15000, roster.RoleSupport}, {300, roster.RoleDeveloper}, {600, roster.RoleAdmin}, {900, roster.RoleNone}, {4, roster.RoleNone}, {15003, roster.RoleNone}} {
		if d := ix.Check(7, tc.user, roster.NumbersView); d.Role != tc.want {
			t.Errorf("user %d: %+v, want role %v", tc.user, d, tc.want)
		}
	}
	if d := ix.Check(1<<31, 5, roster.NumbersView); !d.Allowed {
		t.Errorf("member once the account is known: %+v", d)
	}
	ix.RemoveMember(7, 3)
	if d := ix.Check(7, 3, roster.NumbersView); d.Reason != authz.ReasonNotMember || ix.Members() != 4999 {
		t.Errorf("after removal: %+v, %d members", d, ix.Members())
	}
}

// TestIndex_RoleCounts: the team list's counts (issue 26) follow every
// change of the account's members, and another account's never mix in.
func TestIndex_RoleCounts(t *testing.T) {
	ix := authz.NewIndex()
	ix.SetAccount(7, "A7", true, false)
	ix.SetAccount(8, "A8", true, false)
	if c := ix.RoleCounts(7); c.All() != 0 {
		t.Fatalf("an empty account: %v", c)
	}
	ix.SetMember(7, 1, roster.RoleOwner, false)
	for u := int64(2); u <= 41; u++ {
		ix.SetMember(7, u, roster.Roles[1+int(u)%4], u%2 == 0)
	}
	ix.SetMember(8, 1, roster.RoleOwner, false)
	ix.SetMember(8, 2, roster.RoleAdmin, false)
	ix.SetMember(7, 2, roster.RoleSupport, true) // a role changed
	ix.RemoveMember(7, 3)
	want := authz.RoleCounts{}
	want[roster.RoleOwner] = 1
	for u := int64(4); u <= 41; u++ {
		want[roster.Roles[1+int(u)%4]]++
	}
	want[roster.RoleSupport]++ // user 2
	if got := ix.RoleCounts(7); got != want || got.All() != 40 {
		t.Errorf("counts %v (all %d), want %v (all 40)", got, got.All(), want)
	}
	if got := ix.RoleCounts(8); got.All() != 2 || got[roster.RoleAdmin] != 1 {
		t.Errorf("account 8: %v", got)
	}
	if got := ix.RoleCounts(9); got.All() != 0 {
		t.Errorf("an unknown account: %v", got)
	}
	if got := ix.RoleCounts(-1); got.All() != 0 {
		t.Errorf("a negative ID: %v", got)
	}
}

// ReserveAccounts sizes the Auth ID map of a batch: the accounts known
// before it stay known, those set after it are found, and an Auth ID
// removed from no account is not invented.
func TestIndex_ReserveAccounts(t *testing.T) {
	authID := func(a int64) string { return fmt.Sprintf("MA%018d", a) } // Roster's form: 20 bytes
	ix := authz.NewIndex()
	ix.SetAccount(1, authID(1), true, false)
	ix.Update(func(b *authz.Batch) {
		b.ReserveAccounts(10_000)
		for a := int64(2); a <= 5000; a++ {
			b.SetAccountOf(a, authz.Account{AuthID: authID(a), Committed: true})
		}
		b.ReserveAccounts(10) // again, after accounts were set: nothing lost
	})
	if id, ok := ix.Account(authID(1)); !ok || id != 1 {
		t.Errorf("the account known before: %d, %v", id, ok)
	}
	for _, a := range []int64{2, 777, 5000} {
		if id, ok := ix.Account(authID(a)); !ok || id != a {
			t.Errorf("%s: %d, %v", authID(a), id, ok)
		}
	}
	if id, ok := ix.Account(authID(5001)); ok {
		t.Errorf("an Auth ID never set: %d", id)
	}
}

// Auth IDs of Roster's length are held inline, others in a map of
// strings: both are found, neither is found by the other's prefix or by
// a near miss, and an account given another Auth ID is found by it.
func TestIndex_AuthIDsOfAnyLength(t *testing.T) {
	ix := authz.NewIndex()
	ids := map[string]int64{"MA0123456789ABCDEFGH": 1, "AC-old": 2, "MA0123456789ABCDEFGHI": 3, "MA0123456789ABCDEFG": 4}
	ix.Update(func(b *authz.Batch) {
		for s, a := range ids {
			b.SetAccountOf(a, authz.Account{AuthID: s, Committed: true})
		}
	})
	for s, a := range ids {
		if id, ok := ix.Account(s); !ok || id != a {
			t.Errorf("%q: %d, %v; want %d", s, id, ok, a)
		}
	}
	for _, s := range []string{"", "MA0123456789ABCDEFGX", "ma0123456789abcdefgh", "AC-ol", "MA0123456789ABCDEF"} {
		if id, ok := ix.Account(s); ok {
			t.Errorf("%q found: %d", s, id)
		}
	}
	ix.SetAccount(5, "MA0123456789ABCDEFGH", true, false) // an Auth ID moved to another account (a reload would)
	ix.SetAccount(6, "AC-old", true, false)
	if id, _ := ix.Account("MA0123456789ABCDEFGH"); id != 5 {
		t.Errorf("after the move: %d", id)
	}
	if id, _ := ix.Account("AC-old"); id != 6 {
		t.Errorf("after the move: %d", id)
	}
}

// BenchmarkUpdateOneMember: one write of the kind a catch-up applies (a
// member's role and one key) to an index of 1,000 members: what it costs
// to copy and publish, beside the plain-map reference's one assignment.
func BenchmarkUpdateOneMember(b *testing.B) {
	w := world(1_000)
	b.Run("index", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			q := w.queries[i&(len(w.queries)-1)]
			w.ix.Update(func(bt *authz.Batch) {
				bt.RemoveKeysOf(q.a, q.u)
				bt.SetMemberOf(q.a, q.u, roster.RoleDeveloper, authz.Facts{})
				bt.SetKey([32]byte{byte(i), byte(i >> 8), 1}, int64(i), q.a, q.u)
			})
		}
	})
	b.Run("plainmap", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			q := w.queries[i&(len(w.queries)-1)]
			w.plain[uint64(q.a)<<32|uint64(q.u)] = uint8(roster.RoleDeveloper)
		}
	})
}

// TestUpdate_AllocatesForWhatItTouches: a write of one member allocates
// for the page and the key shard it copies, not for every shard (a loop
// over the 1,024 shards that took each one's address made 2,048
// allocations at every write, 98 µs of a catch-up's; issue 26).
func TestUpdate_AllocatesForWhatItTouches(t *testing.T) {
	w := world(1_000)
	i := 0
	allocs := testing.AllocsPerRun(100, func() {
		i++
		q := w.queries[i&(len(w.queries)-1)]
		w.ix.Update(func(bt *authz.Batch) {
			bt.RemoveKeysOf(q.a, q.u)
			bt.SetMemberOf(q.a, q.u, roster.RoleDeveloper, authz.Facts{})
			bt.SetKey([32]byte{byte(i), byte(i >> 8), 1}, int64(i), q.a, q.u)
		})
	})
	if allocs > 40 {
		t.Errorf("%v allocations for a write of one member, want at most 40", allocs)
	}
}

// Replace swaps a whole new content in: readers checking meanwhile never
// find a member or an Auth ID missing (Reset and Update left the index
// empty while it was refilled), a failed build publishes nothing, and
// what the new content drops is gone once Replace returns.
func TestIndex_ReplaceKeepsReadersAnswered(t *testing.T) {
	const accounts = 3000
	authID := func(a int64) string { return fmt.Sprintf("MA%018d", a) }
	fill := func(b *authz.Batch, role roster.Role) {
		for a := int64(1); a <= accounts; a++ {
			b.SetAccountOf(a, authz.Account{AuthID: authID(a), Committed: true})
			b.SetMember(a, 7, role, false)
		}
	}
	ix := authz.NewIndex()
	ix.Update(func(b *authz.Batch) { fill(b, roster.RoleAdmin) })
	var missed atomic.Int64
	var wg sync.WaitGroup
	done := make(chan struct{})
	for r := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int64(r); ; i++ {
				select {
				case <-done:
					return
				default:
				}
				a := 1 + i%accounts
				if seq, ok := ix.Account(authID(a)); !ok || seq != a {
					missed.Add(1)
				}
				if _, _, ok := ix.Member(a, 7); !ok {
					missed.Add(1)
				}
			}
		}()
	}
	for n := range 20 {
		role := []roster.Role{roster.RoleAdmin, roster.RoleSupport}[n%2]
		if !ix.Replace(func(b *authz.Batch) bool { fill(b, role); return true }) {
			t.Fatal("Replace reported a failure")
		}
	}
	close(done)
	wg.Wait()
	if n := missed.Load(); n > 0 {
		t.Errorf("%d lookups found nothing while the index was replaced", n)
	}
	if role, _, _ := ix.Member(5, 7); role != roster.RoleSupport {
		t.Errorf("after the last Replace: role %v", role)
	}
	// A build that fails publishes nothing, however far it got.
	if ix.Replace(func(b *authz.Batch) bool { b.SetMember(1, 8, roster.RoleAdmin, false); return false }) {
		t.Error("a failed build reported success")
	}
	if _, _, ok := ix.Member(1, 8); ok {
		t.Error("a failed build was published")
	}
	// The new content is the whole content: what it lacks is gone.
	ix.Replace(func(b *authz.Batch) bool {
		b.SetAccountOf(1, authz.Account{AuthID: authID(1), Committed: true})
		return true
	})
	if _, _, ok := ix.Member(1, 7); ok || ix.Members() != 0 {
		t.Errorf("a member the new content lacks: still there (%d members)", ix.Members())
	}
	if _, ok := ix.Account(authID(2)); ok {
		t.Error("an Auth ID the new content lacks: still there")
	}
}
