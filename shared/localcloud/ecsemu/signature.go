package ecsemu

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// PercentEncode encodes s the way RPC signature v1 wants (RFC 3986: only
// A-Z a-z 0-9 - _ . ~ stay literal; space is %20).
func PercentEncode(s string) string {
	e := url.QueryEscape(s)
	if !strings.ContainsAny(e, "+*%") {
		return e
	}
	e = strings.ReplaceAll(e, "+", "%20")
	e = strings.ReplaceAll(e, "*", "%2A")
	return strings.ReplaceAll(e, "%7E", "~")
}

// StringToSign builds the signature v1 string for an HTTP method and the
// request's parameters (query and form merged). The Signature parameter is
// left out; every other parameter, empty ones included, is signed.
func StringToSign(method string, params url.Values) string {
	type kv struct{ k, v string }
	pairs := make([]kv, 0, len(params))
	for k, vs := range params {
		if k == "Signature" {
			continue
		}
		ek := PercentEncode(k)
		for _, v := range vs {
			pairs = append(pairs, kv{ek, PercentEncode(v)})
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return method + "&" + PercentEncode("/") + "&" + PercentEncode(b.String())
}

// Sign returns base64(HMAC-SHA1(secret+"&", stringToSign)).
func Sign(secret, stringToSign string) string {
	m := hmac.New(sha1.New, []byte(secret+"&"))
	m.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// nonceCache remembers SignatureNonce values for at least window. It keeps two
// generations and drops the older one when the current one is window old, so
// pruning is O(1) per call.
type nonceCache struct {
	mu      sync.Mutex
	window  time.Duration
	started time.Time
	cur     map[string]struct{}
	prev    map[string]struct{}
}

func newNonceCache(window time.Duration, now time.Time) *nonceCache {
	return &nonceCache{window: window, started: now, cur: map[string]struct{}{}, prev: map[string]struct{}{}}
}

// seen records key and reports whether it had been recorded before.
func (c *nonceCache) seen(key string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.Sub(c.started) >= c.window {
		c.prev, c.cur = c.cur, map[string]struct{}{}
		c.started = now
	}
	if _, ok := c.cur[key]; ok {
		return true
	}
	if _, ok := c.prev[key]; ok {
		return true
	}
	c.cur[key] = struct{}{}
	return false
}
