package mnsemu

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/sgpilot/sgpilot/shared/localcloud/core"
)

// Retry schedules of the two NotifyStrategy values, as the MNS
// documentation describes them (the exact jitter is unconfirmed):
//   - BACKOFF_RETRY: 3 retries, each after a random 10 to 20 s.
//   - EXPONENTIAL_DECAY_RETRY: 176 retries over a day, after 2^n s
//     (1, 2, 4, … capped at 512 s).
const (
	backoffRetries     = 3
	exponentialRetries = 176
	exponentialCap     = 512 * time.Second
)

// retryWait is the wait before retry n (1-based) of strategy.
func retryWait(strategy string, n int) time.Duration {
	if strategy == StrategyExponential {
		d := time.Duration(math.Pow(2, float64(n-1))) * time.Second
		if d > exponentialCap || d <= 0 {
			d = exponentialCap
		}
		return d
	}
	return 10*time.Second + mrand.N(10*time.Second)
}

func maxRetries(strategy string) int {
	if strategy == StrategyExponential {
		return exponentialRetries
	}
	return backoffRetries
}

// pushTimeout bounds one push request (unconfirmed; MNS documents 5 s for
// an endpoint to answer).
const pushTimeout = 5 * time.Second

func (s *Service) startPush(tp *topic, p *Published, sub SubscriptionAttributes, certURL string) {
	s.topics.mu.Lock()
	scale := s.topics.retryScale
	if scale <= 0 {
		scale = 1
	}
	if s.topics.client == nil {
		s.topics.client = &http.Client{Timeout: pushTimeout}
	}
	client := s.topics.client
	s.topics.inFlight++
	s.topics.mu.Unlock()
	go func() {
		defer func() {
			s.topics.mu.Lock()
			s.topics.inFlight--
			s.topics.mu.Unlock()
		}()
		for attempt := 1; ; attempt++ {
			status, err := s.pushOnce(client, tp, p, sub, certURL)
			done := err == nil && status >= 200 && status < 300
			last := attempt > maxRetries(sub.NotifyStrategy)
			s.recordDelivery(p, sub.Name, attempt, status, err, done, last)
			if done || last {
				return
			}
			wait := time.Duration(float64(retryWait(sub.NotifyStrategy, attempt)) * scale)
			select {
			case <-time.After(wait):
			case <-s.closed:
				s.recordDelivery(p, sub.Name, attempt, status, errors.New("emulator closed"), false, true)
				return
			}
		}
	}()
}

func (s *Service) recordDelivery(p *Published, sub string, attempts, status int, err error, done, last bool) {
	s.topics.mu.Lock()
	defer s.topics.mu.Unlock()
	for i := range p.Deliveries {
		d := &p.Deliveries[i]
		if d.Subscription != sub {
			continue
		}
		d.Attempts, d.LastStatus, d.LastError = attempts, status, ""
		if err != nil {
			d.LastError = err.Error()
		}
		switch {
		case done:
			d.State = "delivered"
		case last:
			d.State = "failed"
		}
	}
}

// pushOnce POSTs the notification and returns the endpoint's status.
func (s *Service) pushOnce(client *http.Client, tp *topic, p *Published, sub SubscriptionAttributes, certURL string) (int, error) {
	body, contentType := notificationBody(s.env.AccountID, tp.name, p, sub)
	target, err := url.Parse(sub.Endpoint)
	if err != nil {
		return 0, fmt.Errorf("endpoint %q: %w", sub.Endpoint, err)
	}
	// The documented default path is /notifications when the endpoint has
	// none.
	if target.Path == "" || target.Path == "/" {
		target.Path = "/notifications"
	}
	ctx, cancel := context.WithTimeout(context.Background(), pushTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target.String(), bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	h := req.Header
	h.Set("Content-Type", contentType)
	h.Set("Content-MD5", contentMD5(body))
	h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	h.Set("x-mns-version", APIVersion)
	h.Set("x-mns-request-id", core.NewHexID(12))
	h.Set("x-mns-signing-cert-url", base64.StdEncoding.EncodeToString([]byte(certURL)))
	if sub.NotifyContentFormat == FormatSimplified {
		h.Set("x-mns-message-id", p.ID)
		if p.Tag != "" {
			h.Set("x-mns-message-tag", p.Tag)
		}
	}
	key, _, err := s.signer()
	if err != nil {
		return 0, fmt.Errorf("signing key: %w", err)
	}
	toSign := stringToSign(http.MethodPost, h.Get("Content-MD5"), contentType, h.Get("Date"), h, target.RequestURI())
	sum := sha1.Sum([]byte(toSign))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA1, sum[:])
	if err != nil {
		return 0, fmt.Errorf("sign push: %w", err)
	}
	// The push's Authorization is the bare base64 signature (no "MNS id:").
	h.Set("Authorization", base64.StdEncoding.EncodeToString(sig))
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// notificationBody renders p in the subscription's format: XML (the
// message and its metadata), SIMPLIFIED (the body alone) or JSON (the
// XML's fields as a JSON object; field names unconfirmed).
func notificationBody(owner, topicName string, p *Published, sub SubscriptionAttributes) ([]byte, string) {
	switch sub.NotifyContentFormat {
	case FormatSimplified:
		return []byte(p.Body), "text/plain;charset=utf-8"
	case FormatJSON:
		b, _ := json.Marshal(map[string]string{
			"TopicOwner": owner, "TopicName": topicName, "Subscriber": owner, "SubscriptionName": sub.Name,
			"MessageId": p.ID, "MessageMD5": bodyMD5(p.Body), "MessageTag": p.Tag, "Message": p.Body,
			"PublishTime": strconv.FormatInt(p.PublishTime.UnixMilli(), 10),
		})
		return b, "application/json;charset=utf-8"
	}
	var x xmlWriter
	x.root("Notification")
	x.text("TopicOwner", owner)
	x.text("TopicName", topicName)
	x.text("Subscriber", owner)
	x.text("SubscriptionName", sub.Name)
	x.text("MessageId", p.ID)
	x.text("MessageMD5", bodyMD5(p.Body))
	if p.Tag != "" {
		x.text("MessageTag", p.Tag)
	}
	x.text("Message", p.Body)
	x.num("PublishTime", p.PublishTime.UnixMilli())
	x.close("Notification")
	return x.Bytes(), "text/xml;charset=utf-8"
}

// VerifyPush checks a push the way an HTTP endpoint should: it reads the
// certificate URL from x-mns-signing-cert-url (base64), gets the PEM
// certificate with fetch, rebuilds the string to sign from the request and
// verifies the RSA-SHA1 signature in Authorization. Endpoints in tests use
// it; fetch is usually an HTTP GET of the URL.
func VerifyPush(r *http.Request, fetch func(certURL string) ([]byte, error)) error {
	raw, err := base64.StdEncoding.DecodeString(r.Header.Get("x-mns-signing-cert-url"))
	if err != nil || len(raw) == 0 {
		return errors.New("x-mns-signing-cert-url is missing or not base64")
	}
	pemBytes, err := fetch(string(raw))
	if err != nil {
		return fmt.Errorf("fetch signing certificate %s: %w", raw, err)
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return errors.New("signing certificate is not PEM")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return fmt.Errorf("parse signing certificate: %w", err)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return errors.New("signing certificate has no RSA key")
	}
	sig, err := base64.StdEncoding.DecodeString(r.Header.Get("Authorization"))
	if err != nil {
		return errors.New("authorization is not base64")
	}
	toSign := stringToSign(r.Method, r.Header.Get("Content-MD5"), r.Header.Get("Content-Type"), r.Header.Get("Date"), r.Header, r.URL.RequestURI())
	sum := sha1.Sum([]byte(toSign))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA1, sum[:], sig); err != nil {
		return fmt.Errorf("push signature does not verify: %w", err)
	}
	return nil
}
