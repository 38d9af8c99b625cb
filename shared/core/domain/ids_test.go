package domain

import (
	"math/rand/v2"
	"regexp"
	"testing"
)

// The ID checks are hand-written; these patterns state the same syntax as
// regular expressions and serve as the oracle.
var idOracles = []struct {
	name  string
	check func(string) bool
	re    *regexp.Regexp
}{
	{"instance", ValidInstanceID, regexp.MustCompile(`^i-[a-z0-9]{8,30}$`)},
	{"group", ValidGroupID, regexp.MustCompile(`^sg-[a-z0-9]{8,30}$`)},
	{"vpc", ValidVPCID, regexp.MustCompile(`^vpc-[a-z0-9]{8,30}$`)},
	{"prefix list", ValidPrefixListID, regexp.MustCompile(`^pl-[a-z0-9]{4,40}$`)},
	{"region", ValidRegionID, regexp.MustCompile(`^[a-z]{2,}(-[a-z0-9]+){1,3}$`)},
	{"account", ValidAccountID, regexp.MustCompile(`^[0-9]{10,20}$`)},
	{"role", ValidRoleName, regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)},
}

func TestIDChecks_Table(t *testing.T) {
	cases := []struct {
		check func(string) bool
		in    string
		want  bool
	}{
		{ValidInstanceID, "i-bp1abcdefgh", true},
		{ValidInstanceID, "i-bp1abcd", false},      // 7 characters after the prefix
		{ValidInstanceID, "i-BP1ABCDEFGH", false},  // upper case
		{ValidInstanceID, "sg-bp1abcdefgh", false}, // another kind
		{ValidInstanceID, "i-bp1abcdefgh\n", false},
		{ValidGroupID, "sg-bp1abcdefgh", true},
		{ValidGroupID, "sg-" + string(make([]byte, 31)), false},
		{ValidVPCID, "vpc-bp1abcdefgh", true},
		{ValidVPCID, "vpc-bp1abcdefg_", false},
		{ValidPrefixListID, "pl-abcd", true},
		{ValidPrefixListID, "pl-abc", false},
		{ValidRegionID, "cn-hangzhou", true},
		{ValidRegionID, "ap-southeast-1", true},
		{ValidRegionID, "cn-hangzhou-finance-1", true},
		{ValidRegionID, "cn-hangzhou-finance-1-x", false}, // four parts after the first
		{ValidRegionID, "c-hangzhou", false},
		{ValidRegionID, "cn", false},
		{ValidRegionID, "cn--hangzhou", false},
		{ValidRegionID, "cn-hangzhou-", false},
		{ValidRegionID, "1n-hangzhou", false},
		{ValidAccountID, "1234567890", true},
		{ValidAccountID, "123456789", false},
		{ValidAccountID, "123456789012345678901", false},
		{ValidAccountID, "12345678901234567a", false},
		{ValidRoleName, "web", true},
		{ValidRoleName, "0web-tier", true},
		{ValidRoleName, "-web", false},
		{ValidRoleName, "", false},
		{ValidRoleName, "Web", false},
		{ValidRoleName, "a234567890123456789012345678901b", true},   // 32
		{ValidRoleName, "a234567890123456789012345678901bc", false}, // 33
	}
	for _, c := range cases {
		if got := c.check(c.in); got != c.want {
			t.Errorf("check(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

// Random strings over a small alphabet (the prefixes' letters, digits,
// dashes, upper case, a multi-byte rune) agree with the patterns.
func TestIDChecks_AgreeWithPatterns(t *testing.T) {
	alphabet := []string{"a", "z", "i", "s", "g", "v", "p", "c", "l", "0", "9", "-", "A", "_", "é", "sg-", "i-", "vpc-", "pl-", "cn-"}
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 200000; n++ {
		var s string
		for k := r.IntN(14); k > 0; k-- {
			s += alphabet[r.IntN(len(alphabet))]
		}
		for range r.IntN(3) { // lengthen some to reach the upper bounds
			s += "abcdefghij0123456789"[:r.IntN(21)]
		}
		for _, o := range idOracles {
			if got, want := o.check(s), o.re.MatchString(s); got != want {
				t.Fatalf("%s check(%q) = %v, the pattern says %v", o.name, s, got, want)
			}
		}
	}
}

func FuzzIDChecks(f *testing.F) {
	for _, s := range []string{"i-bp1abcdefgh", "sg-12345678", "cn-hangzhou", "ap-southeast-1", "1234567890", "web-1", "pl-abcd"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, o := range idOracles {
			if got, want := o.check(s), o.re.MatchString(s); got != want {
				t.Fatalf("%s check(%q) = %v, the pattern says %v", o.name, s, got, want)
			}
		}
	})
}
