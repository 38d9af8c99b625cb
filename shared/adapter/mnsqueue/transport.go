package mnsqueue

import (
	"time"

	"github.com/valyala/fasthttp"
)

// dialTransport sends every request to a fixed address (Config.DialAddress)
// while the SDK keeps building URLs from the five-label endpoint. The
// request URI's host is rewritten just before dialling; MNS signs the
// method, headers and resource path but not the host, so the signature
// stays valid.
type dialTransport struct {
	hc *fasthttp.HostClient
}

func newDialTransport(addr string, tls bool, timeout time.Duration) *dialTransport {
	return &dialTransport{hc: &fasthttp.HostClient{
		Addr:         addr,
		IsTLS:        tls,
		ReadTimeout:  timeout,
		WriteTimeout: timeout,
		// Keep-alive connections to an emulator that restarts between test
		// runs must not linger.
		MaxIdleConnDuration: 10 * time.Second,
	}}
}

// RoundTrip implements fasthttp.RoundTripper.
func (t *dialTransport) RoundTrip(_ *fasthttp.HostClient, req *fasthttp.Request, resp *fasthttp.Response) (retry bool, err error) {
	req.URI().SetHost(t.hc.Addr)
	return false, t.hc.Do(req, resp)
}
