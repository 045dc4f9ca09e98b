package authz

import (
	"sync"

	"github.com/rosterhq/roster"
)

// Reason says why a check answered as it did.
type Reason uint8

const (
	ReasonAllowed Reason = iota
	ReasonNotMember
	ReasonSuspended
	ReasonRoleLacksPermission
	ReasonMFARequired // the account requires two-factor sign-in and the user has none
)

var reasonNames = [...]string{"allowed", "not_member", "suspended", "role_lacks_permission", "mfa_required"}

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

const shards = 256 // a power of two

// A membership entry packs what a check needs into one byte, so a check
// is one map lookup: the role in the low bits, whether the account is known
// to the index, and whether it is on the committed plan. A plan change
// rewrites the entries of the account's members (writes are rare).
const (
	roleBits   = 0x0f
	userMFA    = 0x10 // the user has two-factor sign-in on
	requireMFA = 0x20 // the account requires it of its members
	known      = 0x40
	committed  = 0x80
)

// Index holds every membership, every account's plan and every personal
// API key in memory, so a check costs one map lookup under a read lock and
// no allocation. It is safe for concurrent use; writers (team and plan
// changes, rare) are serialized, readers (every request) are not.
//
// Memberships are keyed by account and user ID packed into one uint64, so
// both must fit in 32 bits (4 billion rows each); SetMember panics beyond.
type Index struct {
	members [shards]memberShard

	writeMu  sync.Mutex              // serializes writers of members and accounts
	accounts map[int64]*accountEntry // under writeMu

	keysMu   sync.RWMutex
	keys     map[[32]byte]keyEntry
	byMember map[uint64]map[[32]byte]struct{}
}

type memberShard struct {
	mu sync.RWMutex
	m  map[uint64]uint8
	_  [40]byte // keep shards on separate cache lines
}

type accountEntry struct {
	committed  bool
	requireMFA bool
	known      bool
	users      map[int64]struct{}
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
	for i := range ix.members {
		ix.members[i].mu.Lock()
		ix.members[i].m = make(map[uint64]uint8)
		ix.members[i].mu.Unlock()
	}
	ix.accounts = make(map[int64]*accountEntry)
	ix.keysMu.Lock()
	ix.keys = make(map[[32]byte]keyEntry)
	ix.byMember = make(map[uint64]map[[32]byte]struct{})
	ix.keysMu.Unlock()
}

func pack(account, user int64) uint64 {
	if uint64(account) > 0xFFFFFFFF || uint64(user) > 0xFFFFFFFF {
		panic("authz: account and user IDs must fit in 32 bits")
	}
	return uint64(account)<<32 | uint64(user)
}

// mix spreads packed keys over the shards (IDs are sequential).
func mix(k uint64) uint64 {
	k ^= k >> 33
	k *= 0xff51afd7ed558ccd
	k ^= k >> 33
	return k
}

func (ix *Index) shard(k uint64) *memberShard { return &ix.members[mix(k)&(shards-1)] }

// account returns the account's entry, made when missing; under writeMu.
func (ix *Index) account(id int64) *accountEntry {
	a := ix.accounts[id]
	if a == nil {
		a = &accountEntry{users: map[int64]struct{}{}}
		ix.accounts[id] = a
	}
	return a
}

func (a *accountEntry) flags() uint8 {
	var f uint8
	if a.known {
		f |= known
	}
	if a.committed {
		f |= committed
	}
	if a.requireMFA {
		f |= requireMFA
	}
	return f
}

// put writes one entry; under writeMu.
func (ix *Index) put(accountID, userID int64, role roster.Role, mfa bool, a *accountEntry) {
	k := pack(accountID, userID)
	s := ix.shard(k)
	v := uint8(role)&roleBits | a.flags()
	if mfa {
		v |= userMFA
	}
	s.mu.Lock()
	s.m[k] = v
	s.mu.Unlock()
}

// SetAccount records the account, whether it is on the committed plan and
// whether it requires two-factor sign-in of its members.
func (ix *Index) SetAccount(accountID int64, isCommitted, needsMFA bool) {
	ix.writeMu.Lock()
	defer ix.writeMu.Unlock()
	a := ix.account(accountID)
	if a.known && a.committed == isCommitted && a.requireMFA == needsMFA {
		return
	}
	a.known, a.committed, a.requireMFA = true, isCommitted, needsMFA
	ix.refresh(accountID, a)
}

// refresh rewrites the flags of the account's members; under writeMu.
func (ix *Index) refresh(accountID int64, a *accountEntry) {
	for u := range a.users {
		k := pack(accountID, u)
		s := ix.shard(k)
		s.mu.Lock()
		s.m[k] = s.m[k]&(roleBits|userMFA) | a.flags()
		s.mu.Unlock()
	}
}

// RemoveAccount forgets the account; its members then check as not members.
func (ix *Index) RemoveAccount(accountID int64) {
	ix.writeMu.Lock()
	defer ix.writeMu.Unlock()
	a := ix.account(accountID)
	a.known, a.committed, a.requireMFA = false, false, false
	ix.refresh(accountID, a)
}

// SetMember records the user's role in the account and whether the user
// has two-factor sign-in on.
func (ix *Index) SetMember(accountID, userID int64, role roster.Role, mfa bool) {
	ix.writeMu.Lock()
	defer ix.writeMu.Unlock()
	a := ix.account(accountID)
	a.users[userID] = struct{}{}
	ix.put(accountID, userID, role, mfa, a)
}

// RemoveMember forgets the membership.
func (ix *Index) RemoveMember(accountID, userID int64) {
	ix.writeMu.Lock()
	defer ix.writeMu.Unlock()
	if a := ix.accounts[accountID]; a != nil {
		delete(a.users, userID)
	}
	k := pack(accountID, userID)
	s := ix.shard(k)
	s.mu.Lock()
	delete(s.m, k)
	s.mu.Unlock()
}

// Member returns the user's role in the account, whether it is active (not
// suspended by the plan), and whether the user is a member at all.
func (ix *Index) Member(accountID, userID int64) (role roster.Role, active, ok bool) {
	d := ix.Check(accountID, userID, 0)
	if d.Role == roster.RoleNone {
		return 0, false, false
	}
	return d.Role, d.Reason != ReasonSuspended, true
}

// Members returns how many memberships the index holds.
func (ix *Index) Members() int {
	n := 0
	for i := range ix.members {
		ix.members[i].mu.RLock()
		n += len(ix.members[i].m)
		ix.members[i].mu.RUnlock()
	}
	return n
}

// Check answers whether the user may use the permission in the account:
// not a member (or unknown account), suspended (a non-owner of an account
// off the committed plan), the role lacks it, or allowed.
func (ix *Index) Check(accountID, userID int64, p roster.Permission) Decision {
	if uint64(accountID) > 0xFFFFFFFF || uint64(userID) > 0xFFFFFFFF {
		return Decision{Reason: ReasonNotMember}
	}
	k := uint64(accountID)<<32 | uint64(userID)
	s := &ix.members[mix(k)&(shards-1)]
	s.mu.RLock()
	v, ok := s.m[k]
	s.mu.RUnlock()
	role := roster.Role(v & roleBits)
	switch {
	case !ok || v&known == 0:
		return Decision{Reason: ReasonNotMember}
	case roster.Suspended(role, v&committed != 0):
		return Decision{Role: role, Reason: ReasonSuspended}
	case v&requireMFA != 0 && v&userMFA == 0:
		return Decision{Role: role, Reason: ReasonMFARequired}
	case masks[role]&(1<<p) == 0:
		return Decision{Role: role, Reason: ReasonRoleLacksPermission}
	}
	return Decision{Allowed: true, Role: role, Reason: ReasonAllowed}
}

// SetKey records a personal API key (by the SHA-256 of the key) of a member.
func (ix *Index) SetKey(hash [32]byte, keyID, accountID, userID int64) {
	m := pack(accountID, userID)
	ix.keysMu.Lock()
	ix.keys[hash] = keyEntry{keyID, accountID, userID}
	if ix.byMember[m] == nil {
		ix.byMember[m] = map[[32]byte]struct{}{}
	}
	ix.byMember[m][hash] = struct{}{}
	ix.keysMu.Unlock()
}

// RemoveKey forgets a key.
func (ix *Index) RemoveKey(hash [32]byte) {
	ix.keysMu.Lock()
	if e, ok := ix.keys[hash]; ok {
		delete(ix.keys, hash)
		m := pack(e.account, e.user)
		delete(ix.byMember[m], hash)
		if len(ix.byMember[m]) == 0 {
			delete(ix.byMember, m)
		}
	}
	ix.keysMu.Unlock()
}

// RemoveKeysOf forgets every key of the member (removed or re-keyed).
func (ix *Index) RemoveKeysOf(accountID, userID int64) {
	m := pack(accountID, userID)
	ix.keysMu.Lock()
	for h := range ix.byMember[m] {
		delete(ix.keys, h)
	}
	delete(ix.byMember, m)
	ix.keysMu.Unlock()
}

// Key returns the key's ID and member, if the key is known.
func (ix *Index) Key(hash [32]byte) (keyID, accountID, userID int64, ok bool) {
	ix.keysMu.RLock()
	e, ok := ix.keys[hash]
	ix.keysMu.RUnlock()
	return e.keyID, e.account, e.user, ok
}
