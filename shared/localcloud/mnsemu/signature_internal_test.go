package mnsemu

import (
	"net/http"
	"testing"
)

// TestSignature_ReferenceVector checks the worked example of
// alibaba-reference.md §6.2 against the server-side signer.
func TestSignature_ReferenceVector(t *testing.T) {
	if got, want := contentMD5(nil), "ZDQxZDhjZDk4ZjAwYjIwNGU5ODAwOTk4ZWNmODQyN2U="; got != want {
		t.Fatalf("contentMD5(empty) = %q, want %q", got, want)
	}
	h := http.Header{}
	h.Set("X-Mns-Version", "2015-06-06")
	toSign := stringToSign(http.MethodGet, contentMD5(nil), "application/xml",
		"Wed, 01 May 2024 08:00:00 GMT", h, "/queues/sg-sync/messages?numOfMessages=16&waitseconds=10")
	if got, want := signature("testsecret", toSign), "rTOEClXLBIePgLEQ7f+koDtRAsQ="; got != want {
		t.Fatalf("signature = %q, want %q\nstring to sign:\n%s", got, want, toSign)
	}
}
