package core

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"sync"
	"time"
)

// Errors returned by Credentials.Lookup. Each emulator maps them to its own
// wire error (ECS: InvalidAccessKeyId.NotFound / InvalidSecurityToken.*,
// MNS: InvalidAccessKeyId / AccessDenied).
var (
	ErrUnknownAccessKey     = errors.New("access key id not found")
	ErrSecurityTokenMissing = errors.New("security token required for an STS access key")
	ErrSecurityTokenInvalid = errors.New("security token does not match the access key")
	ErrSecurityTokenExpired = errors.New("security token expired")
)

// Credential is one AccessKey pair, optionally an STS pair with its token.
type Credential struct {
	AccessKeyID     string    `json:"accessKeyId"`
	AccessKeySecret string    `json:"accessKeySecret"`
	SecurityToken   string    `json:"securityToken,omitempty"`
	Expiration      time.Time `json:"expiration,omitempty"`
	// Role and Session name the assumed role of an STS credential (empty:
	// the account's own key, which RAM never restricts).
	Role    string `json:"role,omitempty"`
	Session string `json:"session,omitempty"`
}

// Credentials is the account's store of AccessKey pairs and issued STS
// credentials. Safe for concurrent use.
type Credentials struct {
	mu    sync.RWMutex
	clock *Clock
	keys  map[string]Credential
}

// NewCredentials returns a store using clock to expire STS tokens.
func NewCredentials(clock *Clock) *Credentials {
	return &Credentials{clock: clock, keys: map[string]Credential{}}
}

// AddAccessKey registers a permanent AccessKey pair.
func (c *Credentials) AddAccessKey(id, secret string) {
	c.mu.Lock()
	c.keys[id] = Credential{AccessKeyID: id, AccessKeySecret: secret}
	c.mu.Unlock()
}

// NewAccessKey creates and registers a random permanent pair.
func (c *Credentials) NewAccessKey() Credential {
	cred := Credential{AccessKeyID: "LTAI" + randomToken(15), AccessKeySecret: randomToken(30)}
	c.AddAccessKey(cred.AccessKeyID, cred.AccessKeySecret)
	return cred
}

// IssueSTS creates temporary credentials valid for ttl, as the FC runtime
// hands to a function through its role.
func (c *Credentials) IssueSTS(ttl time.Duration) Credential {
	cred := Credential{
		AccessKeyID:     "STS." + randomToken(24),
		AccessKeySecret: randomToken(30),
		SecurityToken:   "CAIS" + randomToken(96),
		Expiration:      c.clock.Now().Add(ttl),
	}
	c.mu.Lock()
	c.keys[cred.AccessKeyID] = cred
	c.mu.Unlock()
	return cred
}

// IssueSTSForRole is IssueSTS for an assumed role: the credential carries
// the role ARN and session name, which the emulators hand to Env.Authorize.
// FC issues a function's credentials this way, from its role.
func (c *Credentials) IssueSTSForRole(roleARN, session string, ttl time.Duration) Credential {
	cred := c.IssueSTS(ttl)
	cred.Role, cred.Session = roleARN, session
	c.mu.Lock()
	c.keys[cred.AccessKeyID] = cred
	c.mu.Unlock()
	return cred
}

// Get returns the credential of accessKeyID, without checking its token.
func (c *Credentials) Get(accessKeyID string) (Credential, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	cred, ok := c.keys[accessKeyID]
	return cred, ok
}

// Lookup returns the secret for accessKeyID after checking the security token
// rules: STS keys need their exact, unexpired token; permanent keys ignore it.
func (c *Credentials) Lookup(accessKeyID, securityToken string) (string, error) {
	c.mu.RLock()
	cred, ok := c.keys[accessKeyID]
	c.mu.RUnlock()
	if !ok {
		return "", ErrUnknownAccessKey
	}
	if cred.SecurityToken == "" {
		return cred.AccessKeySecret, nil
	}
	switch {
	case securityToken == "":
		return "", ErrSecurityTokenMissing
	case securityToken != cred.SecurityToken:
		return "", ErrSecurityTokenInvalid
	case !cred.Expiration.IsZero() && c.clock.Now().After(cred.Expiration):
		return "", ErrSecurityTokenExpired
	}
	return cred.AccessKeySecret, nil
}

func randomToken(n int) string {
	buf := make([]byte, n)
	_, _ = rand.Read(buf)
	s := base64.RawURLEncoding.EncodeToString(buf)
	out := make([]byte, 0, n)
	for i := 0; i < len(s) && len(out) < n; i++ {
		if ch := s[i]; ch != '-' && ch != '_' {
			out = append(out, ch)
		}
	}
	for len(out) < n {
		out = append(out, 'x')
	}
	return string(out)
}
