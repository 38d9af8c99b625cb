package mnsqueue

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/sgpilot/sgpilot/shared/core/cloudauth"
	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/retry"
)

// Limits of the MNS queue API (alibaba-reference.md §6.5).
const (
	// MaxBatch is the most messages one BatchSend/BatchReceive/BatchDelete
	// carries.
	MaxBatch = 16
	// MaxWait is the longest long poll MNS accepts.
	MaxWait = 30 * time.Second
	// MaxBodyBytes is the largest message body MNS accepts (a queue may set
	// a lower MaximumMessageSize; MNS then refuses with InvalidArgument).
	MaxBodyBytes = 65536
	// MaxBatchBytes is the total body size of one BatchSendMessage
	// (believed to be 64 KiB; unconfirmed, so batches are cut at it).
	MaxBatchBytes = 65536
	// MaxDelay is the longest per-message delay.
	MaxDelay = 7 * 24 * time.Hour
	// MinVisibility and MaxVisibility bound ChangeVisibility and the queue's
	// VisibilityTimeout.
	MinVisibility = time.Second
	MaxVisibility = 12 * time.Hour
	// maxQueueName is the SDK's own limit; the service may enforce 120.
	maxQueueName = 256
)

// DefaultRequestTimeout bounds one HTTP request. It must exceed MaxWait so a
// full long poll completes; the SDK uses 35 s as well.
const DefaultRequestTimeout = 35 * time.Second

// Config says which queue to use and how to reach it.
type Config struct {
	// Endpoint is the MNS account endpoint,
	// http(s)://<AccountId>.mns.<region>[-internal].aliyuncs.com. The SDK
	// derives the account and region from it and requires exactly five
	// dot-separated labels, no path and no query.
	Endpoint string
	// DialAddress is a local/testing knob: when set (host:port), every
	// request is sent to that address instead of the endpoint's host,
	// while the SDK still sees the five-label Endpoint. This is how
	// functions and tests reach localcloud's MNS emulator
	// (e.g. Endpoint "http://1234567890.mns.cn-hangzhou.aliyuncs.com",
	// DialAddress "127.0.0.1:9100"). The host name is not part of the
	// MNS signature, so requests still verify. Leave it empty in the cloud.
	DialAddress string
	// Queue is the queue name: letters, digits and '-', starting with a
	// letter or digit.
	Queue string
	// Credentials sign every request. With a SecurityToken they are STS
	// credentials (a function role's); they are never logged.
	Credentials cloudauth.Credentials
	// Retry is the back-off policy for throttled and transient failures.
	// MaxAttempts 0 means retry.Default(), keeping any Sleep, Now and
	// Jitter set here (tests inject an instant Sleep).
	Retry retry.Policy
	// RequestTimeout bounds one HTTP request (DefaultRequestTimeout); it
	// must be longer than MaxWait.
	RequestTimeout time.Duration
}

// String describes the config without secrets.
func (c Config) String() string {
	s := fmt.Sprintf("mns queue %q at %s", c.Queue, c.Endpoint)
	if c.DialAddress != "" {
		s += " via " + c.DialAddress
	}
	return s + " with " + c.Credentials.String()
}

// GoString keeps %#v from printing the credentials.
func (c Config) GoString() string { return c.String() }

// endpoint is a validated Config.Endpoint.
type endpoint struct {
	url     string // scheme://host[:port], no trailing slash
	tls     bool
	account string
	region  string
}

// parseEndpoint checks the endpoint the way the SDK will read it, so that
// New returns an error where the SDK would panic.
func parseEndpoint(raw string) (endpoint, error) {
	bad := func(format string, args ...any) (endpoint, error) {
		return endpoint{}, domain.Errorf(domain.KindInvalid, "mns config", "",
			"endpoint %q: "+format, append([]any{raw}, args...)...)
	}
	if raw == "" {
		return bad("empty; want http(s)://<AccountId>.mns.<region>.aliyuncs.com")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return bad("not a URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return bad("scheme must be http or https")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		return bad("must be scheme://host[:port] only, without user, path or query")
	}
	host := u.Hostname()
	labels := strings.Split(host, ".")
	if len(labels) != 5 {
		return bad("host must have exactly five labels (<AccountId>.mns.<region>.aliyuncs.com), has %d; "+
			"to reach a local emulator keep such a host and set DialAddress", len(labels))
	}
	for _, l := range labels {
		if l == "" {
			return bad("host has an empty label")
		}
	}
	if labels[1] != "mns" {
		return bad("second label must be \"mns\", is %q", labels[1])
	}
	if port := u.Port(); port != "" && strings.Contains(port, ".") {
		return bad("bad port %q", port)
	}
	region := labels[2]
	for _, suffix := range []string{"-internal-vpc", "-internal", "-control"} {
		region = strings.TrimSuffix(region, suffix)
	}
	return endpoint{
		url:     u.Scheme + "://" + u.Host,
		tls:     u.Scheme == "https",
		account: labels[0],
		region:  region,
	}, nil
}

func validate(cfg Config) (endpoint, error) {
	ep, err := parseEndpoint(cfg.Endpoint)
	if err != nil {
		return endpoint{}, err
	}
	bad := func(format string, args ...any) error {
		return domain.Errorf(domain.KindInvalid, "mns config", "", format, args...)
	}
	if cfg.DialAddress != "" {
		h, p, err := net.SplitHostPort(cfg.DialAddress)
		if err != nil || h == "" || p == "" {
			return endpoint{}, bad("DialAddress %q: want host:port", cfg.DialAddress)
		}
	}
	if err := validQueueName(cfg.Queue); err != nil {
		return endpoint{}, err
	}
	if cfg.Credentials.AccessKeyID == "" || cfg.Credentials.AccessKeySecret == "" {
		return endpoint{}, bad("credentials: AccessKeyID and AccessKeySecret are required")
	}
	if cfg.RequestTimeout != 0 && cfg.RequestTimeout <= MaxWait {
		return endpoint{}, bad("RequestTimeout %s must be longer than the longest long poll (%s)", cfg.RequestTimeout, MaxWait)
	}
	return ep, nil
}

func validQueueName(name string) error {
	bad := func(why string) error {
		return domain.Errorf(domain.KindInvalid, "mns config", "", "queue name %q: %s", name, why)
	}
	if name == "" {
		return bad("empty")
	}
	if len(name) > maxQueueName {
		return bad(fmt.Sprintf("longer than %d characters", maxQueueName))
	}
	for i, c := range name {
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		digit := c >= '0' && c <= '9'
		if !letter && !digit && (c != '-' || i == 0) {
			return bad("only letters, digits and '-' (not first) are allowed")
		}
	}
	return nil
}
