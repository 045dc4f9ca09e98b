package authz

import (
	"maps"
	"math"
	"slices"
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

// shards is how many parts the Auth IDs and the API keys are cut into: a
// change copies one part (a copy-on-write map), so a write costs little
// and a read takes no lock.
const shards = 1024 // a power of two

// A membership entry packs what a check needs into one word, so a check
// is one search of a short slice: the user ID in the high 32 bits, the
// member's flags in the low 16. The member's flags are the role in the
// low bits and, of the user, whether they have two-factor sign-in on,
// whether their address is on one of the account's verified domains,
// whether they have signed in through the account's single sign-on and
// whether the company's directory deactivated them. The account's flags
// (known to the index, on the committed plan, requiring two-factor sign-in
// or its single sign-on) are kept once, beside its members, and or-ed in
// at the check: a plan change rewrites one word.
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

// The accounts live in a two-level table indexed by the account's integer
// ID (IDs are handed out in sequence by both databases, so the table is
// dense): top[id>>20] is a directory of 4096 pages, each page 256
// accounts. A page is immutable once published; a writer copies the pages
// it touches and publishes each through its atomic pointer. 256 accounts
// make an 8 KiB page: what one write copies, besides the members of the
// account it changes.
const (
	pageBits = 8
	pageSize = 1 << pageBits
	dirBits  = 12
	dirSize  = 1 << dirBits
	topSize  = 1 << (32 - pageBits - dirBits)
)

// acctEntry is what the index keeps of an account: its flags and its
// members, sorted by user ID (the slice is never written once published).
type acctEntry struct {
	members []uint64
	flags   uint16
}

type page [pageSize]acctEntry

type directory [dirSize]atomic.Pointer[page]

// Index holds every membership, every account's plan and Auth ID, and
// every personal API key in memory, so a check costs two dependent loads
// and a search of the account's members, no lock, no atomic write and no
// allocation: reads scale with cores. Memberships take 8 bytes each (and
// an account 32, beside its Auth ID), so ten million fit in about 120 MB.
// Every page and shard is immutable once published through an atomic
// pointer; writers (team and plan changes, rare) are serialized, copy what
// they touch, and publish it when done.
//
// Accounts and users are identified by their integer IDs, which must fit
// in 32 bits (4 billion rows each); SetMember panics beyond.
type Index struct {
	top     [topSize]atomic.Pointer[directory]
	count   atomic.Int64 // memberships held
	authIDs [shards]atomic.Pointer[map[authKey]int64]
	otherID atomic.Pointer[map[string]int64] // Auth IDs of another length (see authKey)
	keys    [shards]atomic.Pointer[map[[32]byte]keyEntry]

	writeMu  sync.Mutex                       // serializes writers
	byMember map[uint64]map[[32]byte]struct{} // a member's keys; under writeMu
}

type keyEntry struct{ keyID, account, user int64 }

// authKey is an Auth ID held in the map's slot itself: Roster's are 20
// bytes ("MA" and 18 characters, store.NewAuthID). A lookup then follows
// no pointer to the key's bytes, and the maps hold none for the garbage
// collector to mark (a million strings at a million accounts). An Auth
// ID of another length, which Roster does not make, is kept in a map of
// strings beside them.
type authKey [authKeyLen]byte

const authKeyLen = 20

// authKeyOf is s as an authKey, if it has the length of one.
func authKeyOf(s string) (authKey, bool) {
	var k authKey
	if len(s) != authKeyLen {
		return k, false
	}
	copy(k[:], s)
	return k, true
}

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
	for i := range ix.top {
		ix.top[i].Store(nil)
	}
	ix.count.Store(0)
	other := map[string]int64{}
	ix.otherID.Store(&other)
	for i := range shards {
		a := map[authKey]int64{}
		ix.authIDs[i].Store(&a)
		k := map[[32]byte]keyEntry{}
		ix.keys[i].Store(&k)
	}
	ix.byMember = make(map[uint64]map[[32]byte]struct{})
}

func pack(account, user int64) uint64 {
	if uint64(account) > 0xFFFFFFFF || uint64(user) > 0xFFFFFFFF {
		panic("authz: account and user IDs must fit in 32 bits")
	}
	return uint64(account)<<32 | uint64(user)
}

// entryOf returns the account's entry, or nil when the index has none.
func (ix *Index) entryOf(account uint64) *acctEntry {
	d := ix.top[account>>(pageBits+dirBits)].Load()
	if d == nil {
		return nil
	}
	p := d[(account>>pageBits)&(dirSize-1)].Load()
	if p == nil {
		return nil
	}
	return &p[account&(pageSize-1)]
}

// find returns the flags of the user among members (sorted by user ID).
// An account's members are few as a rule: a short scan; a large team is
// searched by halves.
func find(members []uint64, user uint64) (uint16, bool) {
	if len(members) <= 16 {
		for _, e := range members {
			if e>>32 == user {
				return uint16(e), true
			}
		}
		return 0, false
	}
	lo, hi := 0, len(members)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if members[mid]>>32 < user {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo < len(members) && members[lo]>>32 == user {
		return uint16(members[lo]), true
	}
	return 0, false
}

// stringShard is the shard of an Auth ID (FNV-1a).
func stringShard(s string) int {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return int(h & (shards - 1))
}

func (b *Batch) keyShard(h [32]byte) map[[32]byte]keyEntry {
	i := keyShardOf(h)
	if b.keys[i] == nil {
		b.keys[i] = maps.Clone(*b.ix.keys[i].Load())
	}
	return b.keys[i]
}

func keyShardOf(h [32]byte) int { return (int(h[0]) | int(h[1])<<8) & (shards - 1) }

// memberOp is one change of a membership in a batch: the packed account
// and user, then the batch's sequence number (so the last change of a
// membership wins), whether it removes it, and the member's flags.
type memberOp struct {
	key uint64 // account<<32 | user
	aux uint64 // seq<<32 | removed<<16 | flags
}

const opRemove = 1 << 16

// Batch is a set of changes published at once: each page and shard it
// touches is copied once, however many changes it holds, and each
// account's members are rewritten once (a full load copies nothing).
type Batch struct {
	ix    *Index
	pages map[uint64]*page // by account>>pageBits: the copies being written
	ops   []memberOp
	// The shards of the Auth ID and key maps the batch touches, by shard:
	// copies being written (arrays of every shard were 16 KiB to allocate
	// and clear at every write).
	authIDs map[int]map[authKey]int64
	otherID map[string]int64 // the copy of Index.otherID, once touched
	keys    map[int]map[[32]byte]keyEntry
}

// Update applies fn's changes under the writer lock and publishes them
// when fn returns: a reader sees all of them or none of a page's.
func (ix *Index) Update(fn func(b *Batch)) {
	ix.writeMu.Lock()
	defer ix.writeMu.Unlock()
	b := &Batch{ix: ix, pages: map[uint64]*page{}, authIDs: map[int]map[authKey]int64{}, keys: map[int]map[[32]byte]keyEntry{}}
	fn(b)
	b.applyMembers()
	for n, p := range b.pages {
		t := &ix.top[n>>dirBits]
		d := t.Load()
		if d == nil {
			d = new(directory)
			t.Store(d)
		}
		d[n&(dirSize-1)].Store(p)
	}
	for i, m := range b.authIDs {
		ix.authIDs[i].Store(&m)
	}
	if b.otherID != nil {
		ix.otherID.Store(&b.otherID)
	}
	for i, m := range b.keys {
		ix.keys[i].Store(&m)
	}
}

// Replace builds the index's whole content anew with fn, in an index of
// its own, and publishes it in place of the current one: while it is
// built, readers go on with the old content (a reload emptied the index
// first, and for as long as it took, tens of milliseconds to seconds,
// members checked as strangers and their account's requests answered
// "No such account"). Each of the index's parts (a directory of a
// million accounts, a shard of the Auth IDs or of the keys) is swapped
// whole, so a reader sees an account, an Auth ID or a key as it was or as
// it is now, never half. When fn returns false (its reads failed)
// nothing is published. Old and new are both held until the swap: twice
// the index's memory for a moment.
func (ix *Index) Replace(fn func(b *Batch) bool) bool {
	fresh := NewIndex()
	ok := false
	fresh.Update(func(b *Batch) { ok = fn(b) })
	if !ok {
		return false
	}
	ix.writeMu.Lock()
	defer ix.writeMu.Unlock()
	for i := range ix.top {
		ix.top[i].Store(fresh.top[i].Load())
	}
	for i := range shards {
		ix.authIDs[i].Store(fresh.authIDs[i].Load())
		ix.keys[i].Store(fresh.keys[i].Load())
	}
	ix.otherID.Store(fresh.otherID.Load())
	ix.count.Store(fresh.count.Load())
	ix.byMember = fresh.byMember
	return true
}

// entry returns the batch's copy of the account's entry, copying its page
// on first use.
func (b *Batch) entry(account uint64) *acctEntry {
	n := account >> pageBits
	p := b.pages[n]
	if p == nil {
		p = new(page)
		if d := b.ix.top[n>>dirBits].Load(); d != nil {
			if old := d[n&(dirSize-1)].Load(); old != nil {
				*p = *old
			}
		}
		b.pages[n] = p
	}
	return &p[account&(pageSize-1)]
}

// applyMembers merges the batch's membership changes into the members of
// the accounts they touch: each account's new members are written once,
// all of them into one new array (old slices stay with the readers who
// hold them).
func (b *Batch) applyMembers() {
	ops := b.ops
	b.ops = nil
	if len(ops) == 0 {
		return
	}
	less := func(x, y memberOp) int {
		switch {
		case x.key < y.key:
			return -1
		case x.key > y.key:
			return 1
		case x.aux < y.aux:
			return -1
		case x.aux > y.aux:
			return 1
		}
		return 0
	}
	if !slices.IsSortedFunc(ops, less) {
		slices.SortFunc(ops, less)
	}
	// Room for the touched accounts' old members and every change.
	room := len(ops)
	for i := 0; i < len(ops); {
		acct := ops[i].key >> 32
		room += len(b.entry(acct).members)
		for i < len(ops) && ops[i].key>>32 == acct {
			i++
		}
	}
	slab := make([]uint64, 0, room)
	var delta int64
	for i := 0; i < len(ops); {
		acct := ops[i].key >> 32
		e := b.entry(acct)
		old := e.members
		start := len(slab)
		j := 0 // next of old
		for i < len(ops) && ops[i].key>>32 == acct {
			user := ops[i].key & 0xFFFFFFFF
			for i+1 < len(ops) && ops[i+1].key == ops[i].key {
				i++ // the last change of the membership wins
			}
			for j < len(old) && old[j]>>32 < user {
				slab = append(slab, old[j])
				j++
			}
			had := j < len(old) && old[j]>>32 == user
			if had {
				j++
				delta--
			}
			if ops[i].aux&opRemove == 0 {
				slab = append(slab, user<<32|ops[i].aux&0xFFFF)
				delta++
			}
			i++
		}
		slab = append(slab, old[j:]...)
		if len(slab) == start {
			e.members = nil
		} else {
			e.members = slab[start:len(slab):len(slab)]
		}
	}
	b.ix.count.Add(delta)
}

// Reserve sizes the batch for about n membership changes (a full load),
// so its list is not grown over and over.
func (b *Batch) Reserve(n int) {
	if cap(b.ops)-len(b.ops) < n {
		b.ops = slices.Grow(b.ops, n)
	}
}

// ReserveAccounts sizes the batch for about n accounts with Auth IDs (a
// full load): each part of the Auth ID map is made once at its size, not
// grown and copied over and over (a second of a start at a million
// accounts).
func (b *Batch) ReserveAccounts(n int) {
	per := n/shards + n/shards/8 + 1
	for i := range shards {
		if b.authIDs[i] == nil {
			old := *b.ix.authIDs[i].Load()
			m := make(map[authKey]int64, len(old)+per)
			maps.Copy(m, old)
			b.authIDs[i] = m
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
	if k, ok := authKeyOf(a.AuthID); ok {
		i := stringShard(a.AuthID)
		if b.authIDs[i] == nil {
			b.authIDs[i] = maps.Clone(*b.ix.authIDs[i].Load())
		}
		b.authIDs[i][k] = accountID
	} else if a.AuthID != "" {
		if b.otherID == nil {
			b.otherID = maps.Clone(*b.ix.otherID.Load())
		}
		b.otherID[a.AuthID] = accountID
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
	b.setFlags(accountID, f)
}

// setFlags sets the account's flags, copying its page only if they change.
func (b *Batch) setFlags(accountID int64, f uint16) {
	if uint64(accountID) > 0xFFFFFFFF {
		return // no member of it can be recorded (SetMember panics)
	}
	a := uint64(accountID)
	if _, mine := b.pages[a>>pageBits]; !mine {
		if e := b.ix.entryOf(a); e != nil && e.flags == f || e == nil && f == 0 {
			return
		}
	}
	b.entry(a).flags = f
}

// RemoveAccount forgets the account's plan; its members then check as not
// members.
func (b *Batch) RemoveAccount(accountID int64) {
	b.setFlags(accountID, 0)
}

// SetMember records the user's role in the account and whether the user
// has two-factor sign-in on (and nothing of single sign-on).
func (b *Batch) SetMember(accountID, userID int64, role roster.Role, mfa bool) {
	b.SetMemberOf(accountID, userID, role, Facts{MFA: mfa})
}

// SetMemberOf records the user's role in the account and what else the
// index keeps of the member.
func (b *Batch) SetMemberOf(accountID, userID int64, role roster.Role, f Facts) {
	v := uint64(role) & roleBits
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
	b.ops = append(b.ops, memberOp{pack(accountID, userID), uint64(len(b.ops))<<32 | v})
}

// RemoveMember forgets the membership.
func (b *Batch) RemoveMember(accountID, userID int64) {
	b.ops = append(b.ops, memberOp{pack(accountID, userID), uint64(len(b.ops))<<32 | opRemove})
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
func (ix *Index) Members() int { return int(ix.count.Load()) }

// Account returns the integer ID of the account with the Auth ID, from
// memory; ok is false for an Auth ID the index does not know.
func (ix *Index) Account(authID string) (int64, bool) {
	k, ok := authKeyOf(authID)
	if !ok {
		id, ok := (*ix.otherID.Load())[authID]
		return id, ok
	}
	id, ok := (*ix.authIDs[stringShard(authID)].Load())[k]
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
	e := ix.entryOf(uint64(accountID))
	if e == nil {
		return Decision{Reason: ReasonNotMember}
	}
	v, ok := find(e.members, uint64(userID))
	v |= e.flags
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

// RoleCounts is how many members an account has in each role, indexed by
// the role (0 unused): what the team list shows as its counts (issue 26),
// read from memory instead of counted in the database on every page.
type RoleCounts [8]int

// All is the members of every role.
func (c RoleCounts) All() int {
	n := 0
	for _, k := range c {
		n += k
	}
	return n
}

// RoleCounts returns the account's members by role: a pass over them, a
// nanosecond or two each (0.1 ms at 100,000).
func (ix *Index) RoleCounts(accountID int64) RoleCounts {
	var c RoleCounts
	if accountID <= 0 || accountID > math.MaxUint32 {
		return c
	}
	e := ix.entryOf(uint64(accountID))
	if e == nil {
		return c
	}
	for _, m := range e.members {
		c[m&roleBits]++
	}
	return c
}
