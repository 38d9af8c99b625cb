// Package ecsnames holds ECS's naming rules for security groups, the one
// copy that the ECS emulator (ecsemu) and the in-memory fake
// (testkit/fake) both apply. Standard library only, like all of localcloud.
package ecsnames

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// ValidGroupName reports whether n is a valid SecurityGroupName (and
// InstanceName-style name): 2-128 characters, starting with a letter,
// letters, digits and . : _ - only, and not a URL.
func ValidGroupName(n string) bool {
	l := utf8.RuneCountInString(n)
	if l < 2 || l > 128 || isURL(n) {
		return false
	}
	for i, r := range n {
		if i == 0 && !unicode.IsLetter(r) {
			return false
		}
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune(".:_-", r) {
			return false
		}
	}
	return true
}

// ValidDescription reports whether d is a valid Description: 2-256
// characters, not a URL.
func ValidDescription(d string) bool {
	l := utf8.RuneCountInString(d)
	return l >= 2 && l <= 256 && !isURL(d)
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}
