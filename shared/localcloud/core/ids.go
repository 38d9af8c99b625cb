package core

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
)

const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// NewResourceID returns an ID in the style of Alibaba ECS resources: the
// prefix ("i-", "sg-", "eni-", "vpc-", "vsw-", "lt-", "sgr-"), a two-letter
// region code plus "1", then random lower-case alphanumerics up to 20
// characters after the dash, e.g. "sg-bp1a2b3c4d5e6f7g8h9i".
func NewResourceID(prefix, regionCode string) string {
	const bodyLen = 20
	var b strings.Builder
	b.WriteString(prefix)
	b.WriteString(regionCode)
	b.WriteByte('1')
	n := bodyLen - len(regionCode) - 1
	buf := make([]byte, n)
	_, _ = rand.Read(buf)
	for _, x := range buf {
		b.WriteByte(idAlphabet[int(x)%len(idAlphabet)])
	}
	return b.String()
}

// NewRequestID returns an upper-case GUID, the shape ECS uses for RequestId.
func NewRequestID() string {
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6] = (u[6] & 0x0f) | 0x40
	u[8] = (u[8] & 0x3f) | 0x80
	h := strings.ToUpper(hex.EncodeToString(u[:]))
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// NewHexID returns n random bytes as upper-case hex (MNS message and request IDs).
func NewHexID(n int) string {
	buf := make([]byte, n)
	_, _ = rand.Read(buf)
	return strings.ToUpper(hex.EncodeToString(buf))
}

// RegionCode maps a region ID to the two-letter code Alibaba embeds in
// resource IDs ("bp" for cn-hangzhou). Unknown regions get "lc".
func RegionCode(regionID string) string {
	if c, ok := regionCodes[regionID]; ok {
		return c
	}
	return "lc"
}

var regionCodes = map[string]string{
	"cn-hangzhou":    "bp",
	"cn-shanghai":    "uf",
	"cn-beijing":     "2z",
	"cn-shenzhen":    "wz",
	"cn-qingdao":     "m5",
	"cn-zhangjiakou": "8v",
	"cn-hongkong":    "j6",
	"ap-southeast-1": "t4",
	"us-west-1":      "rj",
	"eu-central-1":   "gw",
}
