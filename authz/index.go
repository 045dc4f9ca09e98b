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
)

var reasonNames = [...]string{"allowed", "not_member", "suspended", "role_lacks_permission"}

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

// Index holds every membership, every account's plan and every personal
// API key in memory, so a check costs two map lookups under read locks and
// no allocation. It is safe for concurrent use; writers are rare (team
// changes) and readers many (every request).
//
// Memberships are keyed by account and user ID packed into one uint64, so
// both must fit in 32 bits (4 billion rows each); SetMember panics beyond.
type Index struct {
	members  [shards]memberShard
	accounts [shards]accountShard
	keysMu   sync.RWMutex
	keys     map[[32]byte]keyEntry
	byMember map[uint64]map[[32]byte]struct{}
}

type memberShard struct {
	mu sync.RWMutex
	m  map[uint64]roster.Role
	_  [40]byte // keep shards on separate cache lines
}

type accountShard struct {
	mu sync.RWMutex
	m  map[int64]bool // committed?
	_  [40]byte
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
	for i := range ix.members {
		ix.members[i].mu.Lock()
		ix.members[i].m = make(map[uint64]roster.Role)
		ix.members[i].mu.Unlock()
	}
	for i := range ix.accounts {
		ix.accounts[i].mu.Lock()
		ix.accounts[i].m = make(map[int64]bool)
		ix.accounts[i].mu.Unlock()
	}
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

func (ix *Index) memberShard(k uint64) *memberShard { return &ix.members[mix(k)&(shards-1)] }

func (ix *Index) accountShard(a int64) *accountShard {
	return &ix.accounts[mix(uint64(a))&(shards-1)]
}

// SetAccount records the account and whether it is on the committed plan.
func (ix *Index) SetAccount(accountID int64, committed bool) {
	s := ix.accountShard(accountID)
	s.mu.Lock()
	s.m[accountID] = committed
	s.mu.Unlock()
}

// RemoveAccount forgets the account; its members then check as not members.
func (ix *Index) RemoveAccount(accountID int64) {
	s := ix.accountShard(accountID)
	s.mu.Lock()
	delete(s.m, accountID)
	s.mu.Unlock()
}

// SetMember records the user's role in the account.
func (ix *Index) SetMember(accountID, userID int64, role roster.Role) {
	k := pack(accountID, userID)
	s := ix.memberShard(k)
	s.mu.Lock()
	s.m[k] = role
	s.mu.Unlock()
}

// RemoveMember forgets the membership.
func (ix *Index) RemoveMember(accountID, userID int64) {
	k := pack(accountID, userID)
	s := ix.memberShard(k)
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
	ms := ix.memberShard(k)
	ms.mu.RLock()
	role, ok := ms.m[k]
	ms.mu.RUnlock()
	if !ok {
		return Decision{Reason: ReasonNotMember}
	}
	as := ix.accountShard(accountID)
	as.mu.RLock()
	committed, ok := as.m[accountID]
	as.mu.RUnlock()
	switch {
	case !ok:
		return Decision{Reason: ReasonNotMember}
	case !committed && role != roster.RoleOwner:
		return Decision{Role: role, Reason: ReasonSuspended}
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
