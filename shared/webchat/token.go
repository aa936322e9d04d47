package webchat

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TokenLifetime bounds a visitor token: a visitor who comes back within it
// resumes (POST /chat/sessions with the old token renews it); later, the
// widget starts a new anonymous session.
const TokenLifetime = 30 * 24 * time.Hour

// Claims are a visitor token's: the subject is the visitor's identity key
// ("visitor:<site>:<id>" or, verified, "chat:<site>:<identifier>"), bound
// to its site; Email and Name are what the visitor gave before chatting
// (contact data, never a link to another contact).
type Claims struct {
	Site     string `json:"site"`
	Verified bool   `json:"verified,omitempty"`
	Email    string `json:"email,omitempty"`
	Name     string `json:"name,omitempty"`
	jwt.RegisteredClaims
}

// Signer issues and checks visitor tokens: HS256 (golang-jwt), the key id
// in the header. Keys is CHAT_SIGNING_KEY split at commas: the first signs,
// every one verifies, so a key is rotated by prepending the new one and
// dropping the old after TokenLifetime.
type Signer struct {
	keys []signingKey
	Now  func() time.Time
}

type signingKey struct {
	id  string
	key []byte
}

// ErrToken is why a token was refused (missing, malformed, forged,
// expired, for another site).
var ErrToken = errors.New("visitor token refused")

// NewSigner takes CHAT_SIGNING_KEY; each key needs 16 bytes at least.
func NewSigner(keys string) (*Signer, error) {
	s := &Signer{}
	for _, k := range strings.Split(keys, ",") {
		k = strings.TrimSpace(k)
		if len(k) < 16 {
			return nil, errors.New("webchat: CHAT_SIGNING_KEY needs keys of at least 16 bytes (comma-separated, the first signs)")
		}
		sum := sha256.Sum256([]byte(k))
		s.keys = append(s.keys, signingKey{id: hex.EncodeToString(sum[:4]), key: []byte(k)})
	}
	return s, nil
}

func (s *Signer) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Issue signs a token for c, valid for TokenLifetime from now.
func (s *Signer) Issue(c Claims) (string, time.Time, error) {
	now := s.now()
	exp := now.Add(TokenLifetime)
	c.IssuedAt, c.ExpiresAt = jwt.NewNumericDate(now), jwt.NewNumericDate(exp)
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	t.Header["kid"] = s.keys[0].id
	signed, err := t.SignedString(s.keys[0].key)
	return signed, exp, err
}

// Verify checks a token (signature by a known key id, HS256 only, not
// expired, a subject and a site) and returns its claims.
func (s *Signer) Verify(token string) (Claims, error) {
	var c Claims
	_, err := jwt.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		for _, k := range s.keys {
			if k.id == kid {
				return k.key, nil
			}
		}
		return nil, errors.New("unknown key id")
	}, jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired(), jwt.WithTimeFunc(s.now), jwt.WithIssuedAt())
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrToken, err)
	}
	if c.Site == "" || !strings.HasPrefix(c.Subject, "visitor:"+c.Site+":") && !strings.HasPrefix(c.Subject, "chat:"+c.Site+":") {
		return Claims{}, fmt.Errorf("%w: no visitor of its site", ErrToken)
	}
	return c, nil
}

// IdentifierHash is what a site computes server-side to vouch for its
// user: hex HMAC-SHA256 of the identifier with CHAT_IDENTITY_SECRET (as
// Chatwoot's identifier_hash).
func IdentifierHash(secret, identifier string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(identifier))
	return hex.EncodeToString(mac.Sum(nil))
}

// checkIdentifier reports whether hash vouches for identifier, in
// constant time.
func checkIdentifier(secret, identifier, hash string) bool {
	if secret == "" || identifier == "" {
		return false
	}
	want := IdentifierHash(secret, identifier)
	return hmac.Equal([]byte(want), []byte(strings.ToLower(hash)))
}

// Bind is the proof that an upload key was issued to a visitor (its
// token's subject): a message may name only its own uploads.
func (s *Signer) Bind(subject, key string) string { return bindMAC(s.keys[0].key, subject, key) }

// Bound checks a Bind proof against every key (a rotation keeps it valid).
func (s *Signer) Bound(subject, key, proof string) bool {
	for _, k := range s.keys {
		if hmac.Equal([]byte(bindMAC(k.key, subject, key)), []byte(proof)) {
			return true
		}
	}
	return false
}

func bindMAC(key []byte, subject, upload string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("upload\x00" + subject + "\x00" + upload))
	return hex.EncodeToString(mac.Sum(nil))
}
