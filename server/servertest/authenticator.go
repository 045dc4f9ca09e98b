package servertest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"

	"github.com/rosterhq/roster/server"
)

// Localhost is a Tweak (Options.Tweak) that names the test server
// http://localhost:<port> rather than http://127.0.0.1:<port>: a WebAuthn
// relying party ID must be a domain, never an IP address, so passkeys
// need it. Requests may still go to e.URL.
func Localhost(cfg *server.Config) {
	cfg.BaseURL = strings.Replace(cfg.BaseURL, "://127.0.0.1:", "://localhost:", 1)
}

// Authenticator is a software WebAuthn authenticator for API tests: one
// ECDSA P-256 credential (ES256), attestation "none". Its fields are the
// knobs a test turns to make what a browser never would: another origin,
// another relying party, no user verification, a counter going back.
type Authenticator struct {
	Origin string // the origin clientDataJSON names
	RPID   string // the relying party whose SHA-256 the authenticator data holds
	// NoUV leaves the user-verified flag off (the user was only present).
	NoUV bool
	// SignCount is the counter the next assertion carries, after Get adds
	// one to it; set it back to act as a copy of the authenticator.
	SignCount uint32
	// BackupEligible and BackedUp are the BE and BS flags (a synced passkey).
	BackupEligible, BackedUp bool

	Key          *ecdsa.PrivateKey
	CredentialID []byte
	UserHandle   []byte // from the creation options, for assertions
}

// NewAuthenticator returns an authenticator for origin (the server's
// BaseURL: see Localhost) with a new key and credential ID.
func NewAuthenticator(origin string) *Authenticator {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	id := make([]byte, 32)
	rand.Read(id)
	u, err := url.Parse(origin)
	if err != nil {
		panic(err)
	}
	return &Authenticator{Origin: strings.TrimRight(origin, "/"), RPID: u.Hostname(), Key: key, CredentialID: id}
}

// Clone returns a copy of the authenticator: the same key and credential
// and counter, as a cloned device has.
func (a *Authenticator) Clone() *Authenticator {
	b := *a
	return &b
}

var b64 = base64.RawURLEncoding

// optionString reads a string member at path (e.g. "user", "id") of the
// options' publicKey object.
func optionString(options map[string]any, path ...string) string {
	var v any = options
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	s, _ := v.(string)
	return s
}

func (a *Authenticator) flags(extra byte) byte {
	f := byte(0x01) | extra // user present
	if !a.NoUV {
		f |= 0x04
	}
	if a.BackupEligible {
		f |= 0x08
	}
	if a.BackedUp {
		f |= 0x10
	}
	return f
}

func (a *Authenticator) authData(flags byte, attested []byte) []byte {
	h := sha256.Sum256([]byte(a.RPID))
	out := append(h[:], flags)
	out = binary.BigEndian.AppendUint32(out, a.SignCount)
	return append(out, attested...)
}

func (a *Authenticator) clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": a.Origin, "crossOrigin": false})
	return b
}

// Create answers navigator.credentials.create: options is the publicKey
// object of the creation options (the API's public_key). It returns the
// PublicKeyCredential's JSON, with the counter at SignCount.
func (a *Authenticator) Create(options map[string]any) json.RawMessage {
	handle, err := b64.DecodeString(optionString(options, "user", "id"))
	if err == nil {
		a.UserHandle = handle
	}
	x, y := a.Key.PublicKey.X.FillBytes(make([]byte, 32)), a.Key.PublicKey.Y.FillBytes(make([]byte, 32))
	cose, err := webauthncbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: x, -3: y})
	if err != nil {
		panic(err)
	}
	attested := make([]byte, 16) // AAGUID: none
	attested = binary.BigEndian.AppendUint16(attested, uint16(len(a.CredentialID)))
	attested = append(append(attested, a.CredentialID...), cose...)
	authData := a.authData(a.flags(0x40), attested)
	att, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": authData})
	if err != nil {
		panic(err)
	}
	return mustJSON(map[string]any{
		"id": b64.EncodeToString(a.CredentialID), "rawId": b64.EncodeToString(a.CredentialID), "type": "public-key",
		"authenticatorAttachment": "platform", "clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(a.clientData("webauthn.create", optionString(options, "challenge"))),
			"attestationObject": b64.EncodeToString(att),
			"transports":        []string{"internal", "hybrid"},
		},
	})
}

// Get answers navigator.credentials.get: options is the publicKey object
// of the request options. SignCount goes up by one first.
func (a *Authenticator) Get(options map[string]any) json.RawMessage {
	a.SignCount++
	authData := a.authData(a.flags(0), nil)
	cd := a.clientData("webauthn.get", optionString(options, "challenge"))
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, authData...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.Key, digest[:])
	if err != nil {
		panic(err)
	}
	return mustJSON(map[string]any{
		"id": b64.EncodeToString(a.CredentialID), "rawId": b64.EncodeToString(a.CredentialID), "type": "public-key",
		"authenticatorAttachment": "platform", "clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(cd),
			"authenticatorData": b64.EncodeToString(authData),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(a.UserHandle),
		},
	})
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprint("servertest: ", err))
	}
	return b
}
