// Package cloudauth holds the credentials the functions call Alibaba Cloud with.
// The FC adapter reads them from the invocation context (or the standard
// environment variables) and the SDK adapters sign with them; they moved out
// of the domain, which keeps only sgpilot's vocabulary and rules. Standard
// library only.
package cloudauth

// Credentials are the temporary or permanent keys a function uses. They come
// from the FC context or the environment only, and are never logged.
type Credentials struct {
	AccessKeyID     string
	AccessKeySecret string
	SecurityToken   string
}

// String never reveals the secret or the token.
func (c Credentials) String() string {
	if c.AccessKeyID == "" {
		return "credentials(none)"
	}
	id := c.AccessKeyID
	if len(id) > 8 {
		id = id[:4] + "…" + id[len(id)-2:]
	}
	if c.SecurityToken != "" {
		return "credentials(sts " + id + ")"
	}
	return "credentials(" + id + ")"
}

// GoString keeps %#v from printing the secret too.
func (c Credentials) GoString() string { return c.String() }
