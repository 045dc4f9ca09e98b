package authz

import (
	"maps"
	"sync"
	"sync/atomic"

	"github.com/rosterhq/roster"
)

// Reason says why a check answered as it did.
type Reason uint8

const (
	ReasonAllowed Reason = iota
	ReasonNotMember
	ReasonSuspended
	ReasonMissingPermission
	ReasonMFARequired // the account requires two-factor sign-in and the user has none
	ReasonSSORequired // the account requires its single sign-on of the member, who did not come through it
	ReasonDeactivated // the company's directory deactivated the member (SCIM active: false)
)

var reasonNames = [...]string{"allowed", "not_member", "suspended", "missing_permission", "mfa_required", "sso_required", "deactivated"}

// String returns the reason's API name.
func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "unknown"
}

// Decision is a check's answer.
type Decision struct {
	Allowed bool
	Role    roster.Role // the member's role, RoleNone when not a member
	Reason  Reason
}

// shards is how many parts the memberships are cut into, by account: a
// change copies one part (a copy-on-write map of about members/shards
// entries), so a write costs little and a read takes no lock.
const shards = 1024 // a power of two

// A membership entry packs what a check needs into one word, so a check
// is one map lookup: the role in the low bits; of the user, whether they
// have two-factor sign-in on, whether their address is on one of the
// account's verified domains, whether they have signed in through the
// account's single sign-on and whether the company's directory deactivated
// them; of the account, whether it is known to the
// index, on the committed plan, and requires two-factor sign-in or its
// single sign-on. A plan change rewrites the entries of the account's
// members (writes are rare, and one account's members share one shard).
// The entry is 16 bits: a map slot of a uint64 key holds 8 bytes of value
// space either way, so the second byte costs no memory.
const (
	roleBits   = 0x07  // roles are 0..5
	onDomain   = 0x08  // the user's address is on a verified domain of the account (kept while the account requires SSO)
	userMFA    = 0x10  // the user has two-factor sign-in on
	requireMFA = 0x20  // the account requires it of its members
	known      = 0x40  // the account is known to the index
	committed  = 0x80  // the account is on the committed plan
	ssoSeen    = 0x100 // the member has signed in through the account's single sign-on
	requireSSO = 0x200 // the account requires its single sign-on of the members on its domains
	deactivate = 0x400 // the company's directory deactivated the member (members.deactivated_at)

	memberBits  = roleBits | onDomain | userMFA | ssoSeen | deactivate
	accountBits = requireMFA | known | committed | requireSSO
)

// Index holds every membership, every account's plan and Auth ID, and
// every personal API key in memory, so a check costs one map lookup, no
// lock, no atomic write and no allocation: reads scale with cores. Each
// shard is an immutable map published through an atomic pointer; writers
// (team and plan changes, rare) are serialized, copy the shards they
// touch, and publish them when done.
//
// Memberships are keyed by account and user ID packed into one uint64, so
// both must fit in 32 bits (4 billion rows each); SetMember panics beyond.
type Index struct {
	members [shards]atomic.Pointer[map[uint64]uint16]
	authIDs [shards]atomic.Pointer[map[string]int64]
	keys    [shards]atomic.Pointer[map[[32]byte]keyEntry]

	writeMu  sync.Mutex                       // serializes writers
	accounts map[int64]uint16                 // each account's flags (known, committed, requireMFA, requireSSO); under writeMu
	byMember map[uint64]map[[32]byte]struct{} // a member's keys; under writeMu
}

type keyEntry struct{ keyID, account, user int64 }

// NewIndex returns an empty index.
func NewIndex() *Index {
	ix := &Index{}
	ix.Reset()
	return ix
}

// Reset empties the index (before a full reload).
func (ix *Index) Reset() {
	ix.writeMu.Lock()
	defer ix.writeMu.Unlock()
	for i := range shards {
		m := map[uint64]uint16{}
		ix.members[i].Store(&m)
		a := map[string]int64{}
		ix.authIDs[i].Store(&a)
		k := map[[32]byte]keyEntry{}
		ix.keys[i].Store(&k)
	}
	ix.accounts = make(map[int64]uint16)
	ix.byMember = make(map[uint64]map[[32]byte]struct{})
}

func pack(account, user int64) uint64 {
	if uint64(account) > 0xFFFFFFFF || uint64(user) > 0xFFFFFFFF {
		panic("authz: account and user IDs must fit in 32 bits")
	}
	return uint64(account)<<32 | uint64(user)
}

// mix spreads account IDs (sequential) over the shards.
func mix(k uint64) uint64 {
	k ^= k >> 33
	k *= 0xff51afd7ed558ccd
	k ^= k >> 33
	return k
}

// shardOf is the shard of an account's memberships.
func shardOf(account int64) int { return int(mix(uint64(account)) & (shards - 1)) }

// stringShard is the shard of an Auth ID (FNV-1a).
func stringShard(s string) int {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return int(h & (shards - 1))
}

// Batch is a set of changes published at once: each shard it touches is
// copied once, however many changes it holds (a full load copies nothing).
type Batch struct {
	ix      *Index
	members [shards]map[uint64]uint16
	authIDs [shards]map[string]int64
	keys    [shards]map[[32]byte]keyEntry
}

// Update applies fn's changes under the writer lock and publishes them
// when fn returns: a reader sees all of them or none of a shard's.
func (ix *Index) Update(fn func(b *Batch)) {
	ix.writeMu.Lock()
	defer ix.writeMu.Unlock()
	b := &Batch{ix: ix}
	fn(b)
	for i := range shards {
		if m := b.members[i]; m != nil {
			ix.members[i].Store(&m)
		}
		if m := b.authIDs[i]; m != nil {
			ix.authIDs[i].Store(&m)
		}
		if m := b.keys[i]; m != nil {
			ix.keys[i].Store(&m)
		}
	}
}

func (b *Batch) memberShard(account int64) map[uint64]uint16 {
	i := shardOf(account)
	if b.members[i] == nil {
		b.members[i] = maps.Clone(*b.ix.members[i].Load())
	}
	return b.members[i]
}

func (b *Batch) keyShard(h [32]byte) map[[32]byte]keyEntry {
	i := int(h[0]) | int(h[1])<<8&(shards-1)
	i &= shards - 1
	if b.keys[i] == nil {
		b.keys[i] = maps.Clone(*b.ix.keys[i].Load())
	}
	return b.keys[i]
}

func keyShardOf(h [32]byte) int { return (int(h[0]) | int(h[1])<<8) & (shards - 1) }

// Reserve sizes the shards for about n memberships (a full load), so
// they are not grown over and over.
func (b *Batch) Reserve(n int) {
	per := n/shards + n/shards/4 + 8
	for i := range shards {
		if b.members[i] == nil {
			m := make(map[uint64]uint16, per)
			for k, v := range *b.ix.members[i].Load() {
				m[k] = v
			}
			b.members[i] = m
		}
	}
}

// Account is what the index keeps of an account.
type Account struct {
	AuthID     string // "" keeps what is known
	Committed  bool   // on the committed plan
	RequireMFA bool   // requires two-factor sign-in of its members
	RequireSSO bool   // requires its single sign-on of the members on its verified domains
}

// Facts is what the index keeps of a member beyond the role.
type Facts struct {
	MFA bool // the user has two-factor sign-in on
	// OnDomain: the user's address is on one of the account's verified
	// domains. Only read while the account requires single sign-on (the
	// keeper reloads the account's members when it is turned on).
	OnDomain bool
	SSOSeen  bool // the member has signed in through the account's single sign-on
	// Deactivated: the company's directory deactivated the member; they
	// keep their role but hold nothing in the account.
	Deactivated bool
}

// SetAccount records the account: its Auth ID ("" keeps what is known),
// whether it is on the committed plan, and whether it requires two-factor
// sign-in of its members.
func (b *Batch) SetAccount(accountID int64, authID string, isCommitted, needsMFA bool) {
	b.SetAccountOf(accountID, Account{AuthID: authID, Committed: isCommitted, RequireMFA: needsMFA})
}

// SetAccountOf records the account.
func (b *Batch) SetAccountOf(accountID int64, a Account) {
	if a.AuthID != "" {
		i := stringShard(a.AuthID)
		if b.authIDs[i] == nil {
			b.authIDs[i] = maps.Clone(*b.ix.authIDs[i].Load())
		}
		b.authIDs[i][a.AuthID] = accountID
	}
	f := uint16(known)
	if a.Committed {
		f |= committed
	}
	if a.RequireMFA {
		f |= requireMFA
	}
	if a.RequireSSO {
		f |= requireSSO
	}
	if old, ok := b.ix.accounts[accountID]; ok && old == f {
		return
	}
	b.ix.accounts[accountID] = f
	b.refresh(accountID, f)
}

// refresh rewrites the account's flags in its members' entries. They all
// live in the account's shard, so it is one pass over one shard.
func (b *Batch) refresh(accountID int64, f uint16) {
	m := b.memberShard(accountID)
	for k, v := range m {
		if k>>32 == uint64(accountID) {
			m[k] = v&memberBits | f
		}
	}
}

// RemoveAccount forgets the account's plan; its members then check as not
// members.
func (b *Batch) RemoveAccount(accountID int64) {
	b.ix.accounts[accountID] = 0
	b.refresh(accountID, 0)
}

// SetMember records the user's role in the account and whether the user
// has two-factor sign-in on (and nothing of single sign-on).
func (b *Batch) SetMember(accountID, userID int64, role roster.Role, mfa bool) {
	b.SetMemberOf(accountID, userID, role, Facts{MFA: mfa})
}

// SetMemberOf records the user's role in the account and what else the
// index keeps of the member.
func (b *Batch) SetMemberOf(accountID, userID int64, role roster.Role, f Facts) {
	v := uint16(role)&roleBits | b.ix.accounts[accountID]
	if f.MFA {
		v |= userMFA
	}
	if f.OnDomain {
		v |= onDomain
	}
	if f.SSOSeen {
		v |= ssoSeen
	}
	if f.Deactivated {
		v |= deactivate
	}
	b.memberShard(accountID)[pack(accountID, userID)] = v
}

// RemoveMember forgets the membership.
func (b *Batch) RemoveMember(accountID, userID int64) {
	delete(b.memberShard(accountID), pack(accountID, userID))
}

// SetKey records a personal API key (by the SHA-256 of the key) of a member.
func (b *Batch) SetKey(hash [32]byte, keyID, accountID, userID int64) {
	m := pack(accountID, userID)
	b.keyShard(hash)[hash] = keyEntry{keyID, accountID, userID}
	if b.ix.byMember[m] == nil {
		b.ix.byMember[m] = map[[32]byte]struct{}{}
	}
	b.ix.byMember[m][hash] = struct{}{}
}

// RemoveKeysOf forgets every key of the member (removed or re-keyed).
func (b *Batch) RemoveKeysOf(accountID, userID int64) {
	m := pack(accountID, userID)
	for h := range b.ix.byMember[m] {
		delete(b.keyShard(h), h)
	}
	delete(b.ix.byMember, m)
}

// SetAccount is Update with one Batch.SetAccount.
func (ix *Index) SetAccount(accountID int64, authID string, isCommitted, needsMFA bool) {
	ix.Update(func(b *Batch) { b.SetAccount(accountID, authID, isCommitted, needsMFA) })
}

// RemoveAccount is Update with one Batch.RemoveAccount.
func (ix *Index) RemoveAccount(accountID int64) {
	ix.Update(func(b *Batch) { b.RemoveAccount(accountID) })
}

// SetAccountOf is Update with one Batch.SetAccountOf.
func (ix *Index) SetAccountOf(accountID int64, a Account) {
	ix.Update(func(b *Batch) { b.SetAccountOf(accountID, a) })
}

// SetMemberOf is Update with one Batch.SetMemberOf.
func (ix *Index) SetMemberOf(accountID, userID int64, role roster.Role, f Facts) {
	ix.Update(func(b *Batch) { b.SetMemberOf(accountID, userID, role, f) })
}

// SetMember is Update with one Batch.SetMember.
func (ix *Index) SetMember(accountID, userID int64, role roster.Role, mfa bool) {
	ix.Update(func(b *Batch) { b.SetMember(accountID, userID, role, mfa) })
}

// RemoveMember is Update with one Batch.RemoveMember.
func (ix *Index) RemoveMember(accountID, userID int64) {
	ix.Update(func(b *Batch) { b.RemoveMember(accountID, userID) })
}

// SetKey is Update with one Batch.SetKey.
func (ix *Index) SetKey(hash [32]byte, keyID, accountID, userID int64) {
	ix.Update(func(b *Batch) { b.SetKey(hash, keyID, accountID, userID) })
}

// RemoveKeysOf is Update with one Batch.RemoveKeysOf.
func (ix *Index) RemoveKeysOf(accountID, userID int64) {
	ix.Update(func(b *Batch) { b.RemoveKeysOf(accountID, userID) })
}

// Member returns the user's role in the account, whether it is active (not
// suspended by the plan, nor deactivated by the company's directory), and
// whether the user is a member at all.
func (ix *Index) Member(accountID, userID int64) (role roster.Role, active, ok bool) {
	d := ix.Check(accountID, userID, roster.PermissionNone)
	if d.Role == roster.RoleNone {
		return 0, false, false
	}
	return d.Role, d.Reason != ReasonSuspended && d.Reason != ReasonDeactivated, true
}

// Members returns how many memberships the index holds.
func (ix *Index) Members() int {
	n := 0
	for i := range shards {
		n += len(*ix.members[i].Load())
	}
	return n
}

// Account returns the integer ID of the account with the Auth ID, from
// memory; ok is false for an Auth ID the index does not know.
func (ix *Index) Account(authID string) (int64, bool) {
	id, ok := (*ix.authIDs[stringShard(authID)].Load())[authID]
	return id, ok
}

// SignIn is how the person asking signed in, as far as single sign-on
// and two-factor sign-in go: what the index cannot know of a request.
type SignIn uint8

const (
	// ByUser: a check by user ID (the platform's other services), which
	// sees no session: a member bound to single sign-on counts as signed in
	// through it once they have ever been (Facts.SSOSeen).
	ByUser SignIn = iota
	// ByKey: a personal API key, which never came through single sign-on.
	ByKey
	// ByOtherSession: a session that came through a password (and the
	// user's second factor when they have one on).
	ByOtherSession
	// BySSOElsewhere: a session that came through another account's single
	// sign-on. It presented no second factor of the user's own, so it
	// counts as having none (issue 22: another account's provider cannot
	// stand in for this account's two-factor requirement).
	BySSOElsewhere
	// BySSO: a session that came through one of the account's connections;
	// it presented no second factor of the user's own.
	BySSO
	// BySSOAsMFA: as BySSO, through a connection that counts as two-factor
	// sign-in.
	BySSOAsMFA
)

// Check answers whether the user may use the permission in the account,
// asked by user ID (ByUser): not a member (or unknown account),
// deactivated by the company's directory, suspended
// (a non-owner of an account off the committed plan), single sign-on
// required and never used, two-factor required and missing, the role
// lacks it, or allowed.
func (ix *Index) Check(accountID, userID int64, p roster.Permission) Decision {
	return ix.CheckBy(accountID, userID, p, ByUser)
}

// CheckBy is Check for a caller who signed in as s: see Decide.
func (ix *Index) CheckBy(accountID, userID int64, p roster.Permission, s SignIn) Decision {
	if uint64(accountID) > 0xFFFFFFFF || uint64(userID) > 0xFFFFFFFF {
		return Decision{Reason: ReasonNotMember}
	}
	v, ok := (*ix.members[shardOf(accountID)].Load())[uint64(accountID)<<32|uint64(userID)]
	if !ok || v&known == 0 {
		return Decision{Reason: ReasonNotMember}
	}
	hasSSO, hasMFA := false, v&userMFA != 0
	switch s {
	case ByUser:
		hasSSO = v&ssoSeen != 0
	case BySSO:
		hasSSO, hasMFA = true, false
	case BySSOAsMFA:
		hasSSO, hasMFA = true, true
	case BySSOElsewhere:
		hasMFA = false
	}
	return Decide(roster.Role(v&roleBits), Standing{
		Deactivated: v&deactivate != 0,
		Committed:   v&committed != 0,
		NeedsMFA:    v&requireMFA != 0,
		HasMFA:      hasMFA,
		NeedsSSO:    v&requireSSO != 0 && v&onDomain != 0,
		HasSSO:      hasSSO,
	}, p)
}

// Standing is what is known of a membership beyond its role, for Decide.
type Standing struct {
	Deactivated bool // the company's directory deactivated the member
	Committed   bool // the account is on the committed plan
	NeedsMFA    bool // the account requires two-factor sign-in
	HasMFA      bool // the session presented the user's second factor, or came through a connection that counts as it
	NeedsSSO    bool // the account requires its single sign-on and the user's address is on its verified domains
	HasSSO      bool // the caller came through the account's single sign-on (see SignIn)
}

// Decide is the rule of every check, over what is known of a membership:
// the member's role (RoleNone: not a member) and its standing. In this
// order: not a member, deactivated by the company's directory (never the
// owner: the service refuses to deactivate them, and Decide holds to it
// too), suspended, single sign-on required and not used
// (never of the owner, who keeps a password path for when the provider is
// down), two-factor required and missing, the role lacks the permission,
// allowed. Check answers by it from memory; the service shows access by it
// (what a member holds), so what is shown and what is decided cannot part.
func Decide(role roster.Role, st Standing, p roster.Permission) Decision {
	switch {
	case role == roster.RoleNone || int(role) >= len(masks):
		return Decision{Reason: ReasonNotMember}
	case st.Deactivated && role != roster.RoleOwner:
		return Decision{Role: role, Reason: ReasonDeactivated}
	case roster.Suspended(role, st.Committed):
		return Decision{Role: role, Reason: ReasonSuspended}
	case st.NeedsSSO && !st.HasSSO && role != roster.RoleOwner:
		return Decision{Role: role, Reason: ReasonSSORequired}
	case st.NeedsMFA && !st.HasMFA:
		return Decision{Role: role, Reason: ReasonMFARequired}
	case masks[role]&(1<<p) == 0:
		return Decision{Role: role, Reason: ReasonMissingPermission}
	}
	return Decision{Allowed: true, Role: role, Reason: ReasonAllowed}
}

// Key returns the key's ID and member, if the key is known.
func (ix *Index) Key(hash [32]byte) (keyID, accountID, userID int64, ok bool) {
	e, ok := (*ix.keys[keyShardOf(hash)].Load())[hash]
	return e.keyID, e.account, e.user, ok
}
