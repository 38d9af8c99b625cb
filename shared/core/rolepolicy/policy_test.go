package rolepolicy_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sgpilot/sgpilot/shared/core/rolepolicy"
)

func MustParse(tb testing.TB, doc string) rolepolicy.Policy {
	tb.Helper()
	p, err := rolepolicy.Parse([]byte(doc))
	if err != nil {
		tb.Fatalf("Parse: %v", err)
	}
	return p
}

func TestParse_DefaultAndExampleAreValid(t *testing.T) {
	for name, data := range map[string][]byte{"default": rolepolicy.DefaultYAML(), "example": rolepolicy.ExampleYAML()} {
		t.Run(name, func(t *testing.T) {
			if _, err := rolepolicy.Parse(data); err != nil {
				t.Fatalf("%s policy: %v", name, err)
			}
		})
	}
	def := rolepolicy.Default()
	if len(def.Roles) != 2 {
		t.Fatalf("default roles: %+v", def.Roles)
	}
	redis, _ := def.Role("redis")
	web, _ := def.Role("web")
	want := []rolepolicy.RuleSpec{
		{Direction: "ingress", Protocol: "tcp", Ports: "6379/6379", Peer: rolepolicy.Peer{Role: "web"}, Action: "accept",
			Priority: 1, Description: "Redis from the web tier", NicType: "intranet"},
		{Direction: "ingress", Protocol: "tcp", Ports: "6379/6379", Peer: rolepolicy.Peer{CIDR: "0.0.0.0/0"}, Action: "drop",
			Priority: 100, Description: "Redis from anyone else is dropped", NicType: "intranet"},
	}
	if diff := cmp.Diff(want, redis.Rules); diff != "" {
		t.Errorf("redis rules (-want +got):\n%s", diff)
	}
	if len(web.Rules) != 1 || web.Rules[0].Ports != "80/80" || !web.Rules[0].AllowInternetWide || !web.Networks.AllVPCs || web.GroupType != rolepolicy.Basic {
		t.Errorf("web: %+v", web)
	}
}

func TestParse_Defaults(t *testing.T) {
	p := MustParse(t, `
version: 1
roles:
  db:
    rules:
      - {direction: ingress, protocol: ICMP, source: {cidr: 192.168.1.7}}
      - {direction: egress, protocol: tcp, ports: " 443 / 443 ", destination: {prefixList: pl-abcd1234}, action: DROP}
`)
	db, _ := p.Role("db")
	want := rolepolicy.Role{Name: "db", GroupType: rolepolicy.Basic,
		Networks: rolepolicy.Networks{AllVPCs: true, VPCs: []string{}},
		Rules: []rolepolicy.RuleSpec{
			{Direction: "ingress", Protocol: "icmp", Ports: "-1/-1", Peer: rolepolicy.Peer{CIDR: "192.168.1.7/32"}, Action: "accept", Priority: 1, NicType: "intranet"},
			{Direction: "egress", Protocol: "tcp", Ports: "443/443", Peer: rolepolicy.Peer{PrefixList: "pl-abcd1234"}, Action: "drop", Priority: 1, NicType: "intranet"},
		}}
	if diff := cmp.Diff(want, db); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestParse_Validation(t *testing.T) {
	head := "version: 1\nroles:\n"
	webOK := "  web:\n    rules: []\n"
	cases := []struct {
		name string
		doc  string
		want []string // substrings of the problems, in order
	}{
		{"empty file", "", []string{"the file is empty"}},
		{"not yaml", "version: [", []string{"not a valid policy document"}},
		{"unknown field", head + "  web:\n    color: blue\n", []string{"field color not found"}},
		{"no version", "roles:\n" + webOK, []string{"version: missing"}},
		{"version 2", "version: 2\nroles:\n" + webOK, []string{"version: 2 is not supported"}},
		{"no roles", "version: 1\n", []string{"roles: no roles declared"}},
		{"bad role name", head + "  Web_1:\n    rules: []\n", []string{`role "Web_1" name: want 1-32`}},
		{"bad group type", head + "  web:\n    groupType: premium\n", []string{`role "web" groupType: "premium"`}},
		{"no network", head + "  web:\n    networks: {}\n", []string{`role "web" networks: no network`}},
		{"all and list", head + "  web:\n    networks: {allVpcs: true, vpcs: [vpc-abcdefgh1]}\n", []string{"allVpcs and a vpcs list exclude each other"}},
		{"bad vpc", head + "  web:\n    networks: {vpcs: [vpc-1, vpc-abcdefgh1, vpc-abcdefgh1]}\n",
			[]string{`networks.vpcs[0]: "vpc-1" is not a VPC ID`, `networks.vpcs[2]: "vpc-abcdefgh1" is listed twice`}},
		{"missing direction", head + "  web:\n    rules:\n      - {protocol: tcp, ports: 1/2, source: {cidr: 1.2.3.4/32}}\n",
			[]string{`role "web" rule 0 direction: missing`}},
		{"bad protocol", head + "  web:\n    rules:\n      - {direction: ingress, protocol: sctp, source: {cidr: 1.2.3.4/32}}\n",
			[]string{`rule 0 protocol: "sctp"`}},
		{"port zero", head + "  web:\n    rules:\n      - {direction: ingress, protocol: tcp, ports: 0/80, source: {cidr: 1.2.3.4/32}}\n",
			[]string{`rule 0 ports: "0/80": ports must be 1-65535`}},
		{"port too high", head + "  web:\n    rules:\n      - {direction: ingress, protocol: udp, ports: 1/65536, source: {cidr: 1.2.3.4/32}}\n",
			[]string{`ports must be 1-65535`}},
		{"start after end", head + "  web:\n    rules:\n      - {direction: ingress, protocol: tcp, ports: 200/1, source: {cidr: 1.2.3.4/32}}\n",
			[]string{`rule 0 ports: "200/1": start 200 is after end 1`}},
		{"tcp without ports", head + "  web:\n    rules:\n      - {direction: ingress, protocol: tcp, source: {cidr: 1.2.3.4/32}}\n",
			[]string{`rule 0 ports: missing`}},
		{"icmp with ports", head + "  web:\n    rules:\n      - {direction: ingress, protocol: icmp, ports: 1/1, source: {cidr: 1.2.3.4/32}}\n",
			[]string{`protocol icmp has no ports, use -1/-1`}},
		{"all with ports", head + "  web:\n    rules:\n      - {direction: egress, protocol: all, ports: 1/65535, destination: {cidr: 1.2.3.4/32}}\n",
			[]string{`protocol all has no ports`}},
		{"gre with ports", head + "  web:\n    rules:\n      - {direction: egress, protocol: gre, ports: 5/5, destination: {cidr: 1.2.3.4/32}}\n",
			[]string{`protocol gre has no ports`}},
		{"not start/end", head + "  web:\n    rules:\n      - {direction: ingress, protocol: tcp, ports: \"80\", source: {cidr: 1.2.3.4/32}}\n",
			[]string{`"80" is not start/end`}},
		{"priority 0", head + "  web:\n    rules:\n      - {direction: ingress, protocol: tcp, ports: 1/1, priority: 0, source: {cidr: 1.2.3.4/32}}\n",
			[]string{`rule 0 priority: 0: want 1 (highest) to 100 (lowest)`}},
		{"priority 101", head + "  web:\n    rules:\n      - {direction: ingress, protocol: tcp, ports: 1/1, priority: 101, source: {cidr: 1.2.3.4/32}}\n",
			[]string{`rule 0 priority: 101`}},
		{"bad action", head + "  web:\n    rules:\n      - {direction: ingress, protocol: tcp, ports: 1/1, action: reject, source: {cidr: 1.2.3.4/32}}\n",
			[]string{`rule 0 action: "reject"`}},
		{"no peer", head + "  web:\n    rules:\n      - {direction: ingress, protocol: tcp, ports: 1/1}\n",
			[]string{`rule 0 source: missing`}},
		{"egress with source", head + "  web:\n    rules:\n      - {direction: egress, protocol: tcp, ports: 1/1, source: {cidr: 1.2.3.4/32}}\n",
			[]string{`rule 0 source: an egress rule names a destination`}},
		{"two peers", head + "  web:\n    rules:\n      - {direction: ingress, protocol: tcp, ports: 1/1, source: {cidr: 1.2.3.4/32, prefixList: pl-abcd1234}}\n",
			[]string{`rule 0 source: give exactly one of role, cidr and prefixList`}},
		{"bad cidr", head + "  web:\n    rules:\n      - {direction: ingress, protocol: tcp, ports: 1/1, source: {cidr: 10.0.0.0/33}}\n",
			[]string{`rule 0 source.cidr: "10.0.0.0/33" is not an IPv4 or IPv6 CIDR`}},
		{"bad prefix list", head + "  web:\n    rules:\n      - {direction: ingress, protocol: tcp, ports: 1/1, source: {prefixList: list-1}}\n",
			[]string{`source.prefixList: "list-1" is not a prefix list ID`}},
		{"undeclared role", head + "  web:\n    rules:\n      - {direction: ingress, protocol: tcp, ports: 1/1, source: {role: lb}}\n",
			[]string{`role "web" rule 0 source.role: role "lb" is not declared`}},
		{"group rule on advanced group", head + webOK + "  batch:\n    groupType: advanced\n    rules:\n      - {direction: egress, protocol: tcp, ports: 1/1, destination: {role: web}}\n",
			[]string{`role "batch" rule 0 destination.role: advanced groups cannot have group-to-group rules`}},
		{"advanced group as peer", head + "  batch:\n    groupType: advanced\n  web:\n    rules:\n      - {direction: ingress, protocol: tcp, ports: 1/1, source: {role: batch}}\n",
			[]string{`role "web" rule 0 source.role: role "batch" has an advanced group`}},
		{"peer role in fewer networks", head + "  lb:\n    networks: {vpcs: [vpc-abcdefgh1]}\n  web:\n    rules:\n      - {direction: ingress, protocol: tcp, ports: 1/1, source: {role: lb}}\n",
			[]string{`role "lb" does not exist in every network role "web" does`}},
		{"internet wide without ack", head + "  web:\n    rules:\n      - {direction: ingress, protocol: tcp, ports: 80/80, source: {cidr: 0.0.0.0/0}}\n",
			[]string{`rule 0 source.cidr: 0.0.0.0/0 on an internal (intranet) rule opens it to everyone`}},
		{"ipv6 wide without ack", head + "  web:\n    rules:\n      - {direction: ingress, protocol: tcp, ports: 80/80, source: {cidr: \"::/0\"}}\n",
			[]string{`::/0 on an internal`}},
		{"internet on a vpc role", head + "  web:\n    rules:\n      - {direction: ingress, protocol: tcp, ports: 80/80, nicType: internet, source: {cidr: 0.0.0.0/0}}\n",
			[]string{`rule 0 nicType: internet rules exist only in the classic network`}},
		{"internet on a mixed role", head + "  web:\n    networks: {allVpcs: true, classic: true}\n    rules:\n      - {direction: ingress, protocol: tcp, ports: 80/80, nicType: internet, source: {cidr: 1.1.1.1}}\n",
			[]string{`also lives in VPCs`}},
		{"internet group rule", head + "  web:\n    networks: {classic: true}\n    rules:\n      - {direction: ingress, protocol: tcp, ports: 80/80, nicType: internet, source: {role: web}}\n",
			[]string{`rule 0 nicType: a group-to-group rule must be intranet`}},
		{"bad nic type", head + "  web:\n    rules:\n      - {direction: ingress, protocol: tcp, ports: 80/80, nicType: wifi, source: {cidr: 1.1.1.1}}\n",
			[]string{`rule 0 nicType: "wifi"`}},
		{"duplicate rule", head + "  web:\n    rules:\n      - {direction: ingress, protocol: tcp, ports: 80/80, source: {cidr: 1.1.1.1}}\n      - {direction: ingress, protocol: tcp, ports: 80/80, source: {cidr: 1.1.1.1/32}, priority: 5}\n",
			[]string{`role "web" rule 1: the same rule as rule 0`}},
		{"long description", head + "  web:\n    rules:\n      - {direction: ingress, protocol: tcp, ports: 80/80, source: {cidr: 1.1.1.1}, description: " + strings.Repeat("x", 513) + "}\n",
			[]string{`rule 0 description: 513 characters`}},
		{"several problems reported at once", head + "  web:\n    rules:\n      - {direction: up, protocol: tcp, ports: 9/8, priority: 200, source: {cidr: 1.1.1.1}}\n",
			[]string{`rule 0 direction: "up"`, `rule 0 ports: "9/8"`, `rule 0 priority: 200`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := rolepolicy.Parse([]byte(tc.doc))
			var ve *rolepolicy.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("want a *ValidationError, got %v", err)
			}
			if len(ve.Problems) != len(tc.want) {
				t.Fatalf("got %d problems, want %d: %v", len(ve.Problems), len(tc.want), err)
			}
			for i, w := range tc.want {
				if got := ve.Problems[i].String(); !strings.Contains(got, w) {
					t.Errorf("problem %d = %q, want it to contain %q", i, got, w)
				}
			}
		})
	}
}

func TestParse_AcceptsClassicInternetAndWideDrop(t *testing.T) {
	p := MustParse(t, `
version: 1
roles:
  ftp:
    networks: {classic: true}
    rules:
      - {direction: ingress, protocol: tcp, ports: 21/21, nicType: internet, source: {cidr: 0.0.0.0/0}}
      - {direction: ingress, protocol: tcp, ports: 22/22, source: {cidr: 0.0.0.0/0}, action: drop, priority: 100}
`)
	ftp, _ := p.Role("ftp")
	if len(ftp.Rules) != 2 || ftp.Rules[0].NicType != "internet" {
		t.Fatalf("%+v", ftp.Rules)
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, rolepolicy.DefaultYAML(), 0o600); err != nil {
		t.Fatal(err)
	}
	if p, err := rolepolicy.LoadFile(good); err != nil || len(p.Roles) != 2 {
		t.Fatalf("LoadFile(good) = %+v, %v", p, err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("version: 3\nroles: {web: {}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := rolepolicy.LoadFile(bad)
	var ve *rolepolicy.ValidationError
	if !errors.As(err, &ve) || !strings.Contains(err.Error(), bad) {
		t.Fatalf("LoadFile(bad) = %v, want a ValidationError naming the path", err)
	}
	if _, err := rolepolicy.LoadFile(filepath.Join(dir, "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("LoadFile(missing) = %v", err)
	}
}
