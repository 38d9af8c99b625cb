package mnsemu

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"sort"
	"strings"

	"github.com/sgpilot/sgpilot/shared/localcloud/core"
)

// APIVersion is the only x-mns-version the service speaks.
const APIVersion = "2015-06-06"

// contentMD5 is the SDK's Content-MD5: base64 of the lower-case hex MD5, not
// of the raw 16 bytes (alibaba-reference.md §6.2).
func contentMD5(body []byte) string {
	sum := md5.Sum(body)
	return base64.StdEncoding.EncodeToString([]byte(hex.EncodeToString(sum[:])))
}

// stringToSign builds the text MNS signs: method, Content-MD5, Content-Type,
// Date, every x-mns-* header as "name:value" (lower-case name, trimmed value,
// sorted) and the resource with its raw query, joined by newlines.
func stringToSign(method, md5, contentType, date string, header http.Header, resource string) string {
	var mns []string
	for k, vs := range header {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-mns-") && len(vs) > 0 {
			mns = append(mns, lk+":"+strings.TrimSpace(vs[0]))
		}
	}
	sort.Strings(mns)
	var b strings.Builder
	b.Grow(64 + len(resource) + 32*len(mns))
	b.WriteString(method)
	b.WriteByte('\n')
	b.WriteString(md5)
	b.WriteByte('\n')
	b.WriteString(contentType)
	b.WriteByte('\n')
	b.WriteString(date)
	b.WriteByte('\n')
	b.WriteString(strings.Join(mns, "\n"))
	b.WriteByte('\n')
	b.WriteString(resource)
	return b.String()
}

// signature is base64(HMAC-SHA1(secret, stringToSign)); unlike ECS, the key
// has no "&" suffix.
func signature(secret, toSign string) string {
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(toSign))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// requestResource is the CanonicalizedResource: the request target exactly
// as the client sent it (path plus raw query).
func requestResource(r *http.Request) string {
	if strings.HasPrefix(r.RequestURI, "/") {
		return r.RequestURI
	}
	return r.URL.RequestURI()
}

// authenticate checks the version, Date, Content-MD5, credentials and
// signature of r, in that order.
func (s *Service) authenticate(r *http.Request, body []byte) *Error {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return newError(http.StatusBadRequest, CodeMissingAuthorizationHeader,
			"The Authorization header you provided is missing.")
	}
	cred, ok := strings.CutPrefix(auth, "MNS ")
	akid, sig, ok2 := strings.Cut(cred, ":")
	if !ok || !ok2 || akid == "" || sig == "" {
		return newError(http.StatusBadRequest, CodeInvalidAuthorizationHeader,
			"The Authorization header you provided is invalid: want \"MNS AccessKeyId:Signature\".")
	}

	switch v := r.Header.Get("x-mns-version"); v {
	case "":
		return newError(http.StatusBadRequest, CodeMissingVersionHeader, "The x-mns-version header you provided is missing.")
	case APIVersion:
	default:
		return newError(http.StatusBadRequest, CodeInvalidVersionHeader,
			"The x-mns-version %q you provided is not supported; use %s.", v, APIVersion)
	}

	date := r.Header.Get("Date")
	if date == "" {
		return newError(http.StatusBadRequest, CodeMissingDateHeader, "The Date header you provided is missing.")
	}
	t, err := http.ParseTime(date)
	if err != nil {
		return newError(http.StatusBadRequest, CodeInvalidDateHeader, "The Date header %q is not an RFC 1123 GMT time.", date)
	}
	if skew := s.opts.WallNow().Sub(t); skew > s.opts.DateSkew || skew < -s.opts.DateSkew {
		return newError(statusTimeExpired, CodeTimeExpired,
			"The Date header %q is more than %s away from the server time.", date, s.opts.DateSkew)
	}

	md5 := r.Header.Get("Content-MD5")
	if md5 != "" && md5 != contentMD5(body) {
		return newError(http.StatusBadRequest, CodeInvalidDigest, "The Content-MD5 you specified is not valid.")
	}

	secret, err := s.env.Credentials.Lookup(akid, r.Header.Get("security-token"))
	if err != nil {
		return errCredentials(errors.Is(err, core.ErrUnknownAccessKey), err.Error())
	}

	toSign := stringToSign(r.Method, md5, r.Header.Get("Content-Type"), date, r.Header, requestResource(r))
	if !hmac.Equal([]byte(sig), []byte(signature(secret, toSign))) {
		return newError(statusSignatureMismatch, CodeSignatureDoesNotMatch,
			"The request signature we calculated does not match the signature you provided. StringToSign: %q", toSign)
	}
	return nil
}
