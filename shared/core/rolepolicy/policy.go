package rolepolicy

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"gopkg.in/yaml.v3"
)

// Version is the only policy file version this package reads.
const Version = 1

// EnvPolicyFile names the environment variable that points at an override
// policy file; the config wiring reads it and calls LoadFile.
const EnvPolicyFile = "SGPILOT_ROLE_POLICY_FILE"

// Default tag keys put on the groups a plan creates; the same values as
// shared/core/domain's defaults (sgpilot:role, sgpilot:managed=true).
const (
	DefaultRoleTagKey      = "sgpilot:role"
	DefaultManagedTagKey   = "sgpilot:managed"
	DefaultManagedTagValue = "true"
)

//go:embed default.yaml
var defaultPolicy []byte

//go:embed example.yaml
var examplePolicy []byte

// GroupType is a role group's ECS type.
type GroupType string

const (
	// Basic groups ("normal" in the API): members reach each other, rules may name other groups.
	Basic GroupType = "basic"
	// Advanced groups ("enterprise"): members are isolated, no group-to-group rules.
	Advanced GroupType = "advanced"
)

// ECSType is the SecurityGroupType value of CreateSecurityGroup.
func (t GroupType) ECSType() string {
	if t == Advanced {
		return "enterprise"
	}
	return "normal"
}

// Policy is a parsed, valid role policy. Roles are sorted by name.
type Policy struct {
	Version int    `json:"version"`
	Roles   []Role `json:"roles"`
}

// Role is one role's group and rules.
type Role struct {
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Networks    Networks   `json:"networks"`
	GroupType   GroupType  `json:"groupType"`
	Rules       []RuleSpec `json:"rules"`
}

// Networks says where a role's group exists: in every VPC, in the listed
// VPCs, and/or in the classic network. Omitted in the file: every VPC.
type Networks struct {
	AllVPCs bool     `json:"allVpcs"`
	VPCs    []string `json:"vpcs"`
	Classic bool     `json:"classic"`
}

// Includes reports whether a group of the role belongs in n.
func (ns Networks) Includes(n Network) bool {
	if n.VPCID == "" {
		return ns.Classic
	}
	if ns.AllVPCs {
		return true
	}
	for _, v := range ns.VPCs {
		if v == n.VPCID {
			return true
		}
	}
	return false
}

// coveredBy reports whether every network of ns is also one of o.
func (ns Networks) coveredBy(o Networks) bool {
	if ns.Classic && !o.Classic {
		return false
	}
	if o.AllVPCs {
		return true
	}
	if ns.AllVPCs {
		return false
	}
	for _, v := range ns.VPCs {
		if !o.Includes(Network{VPCID: v}) {
			return false
		}
	}
	return true
}

func (ns Networks) hasVPC() bool { return ns.AllVPCs || len(ns.VPCs) > 0 }

// Peer is the other side of a rule: another role's group (a group-to-group
// rule), a CIDR (IPv4 or IPv6) or a prefix list ID. Exactly one is set.
type Peer struct {
	Role       string `json:"role,omitempty"`
	CIDR       string `json:"cidr,omitempty"`
	PrefixList string `json:"prefixList,omitempty"`
}

// RuleSpec is one rule as the policy declares it.
type RuleSpec struct {
	Direction Direction `json:"direction"`
	Protocol  Protocol  `json:"protocol"`
	Ports     string    `json:"ports"`
	// Peer is the source of an ingress rule, the destination of an egress rule.
	Peer        Peer   `json:"peer"`
	Action      Action `json:"action"`
	Priority    int    `json:"priority"`
	Description string `json:"description"`
	// NicType is intranet (default) or internet (classic network only; VPC
	// groups only have intranet rules).
	NicType string `json:"nicType"`
	// AllowInternetWide acknowledges an accept rule open to 0.0.0.0/0 (or
	// ::/0) on the internal network, which is every rule of a VPC group.
	AllowInternetWide bool `json:"allowInternetWide"`
}

// Role returns the role named name.
func (p Policy) Role(name string) (Role, bool) {
	for _, r := range p.Roles {
		if r.Name == name {
			return r, true
		}
	}
	return Role{}, false
}

// RolesIn returns the roles whose groups belong in network n.
func (p Policy) RolesIn(n Network) []Role {
	var out []Role
	for _, r := range p.Roles {
		if r.Networks.Includes(n) {
			out = append(out, r)
		}
	}
	return out
}

// Default returns the embedded default policy (default.yaml), which
// implements the ECS best-practice examples: web open on 80/80 to the
// internet, redis on 6379 only from web, a low-priority drop.
func Default() Policy {
	p, err := Parse(defaultPolicy)
	if err != nil {
		// A test keeps the embedded file valid; an invalid one is a build bug.
		return Policy{Version: Version}
	}
	return p
}

// DefaultYAML returns the bytes of the embedded default policy.
func DefaultYAML() []byte { return bytes.Clone(defaultPolicy) }

// ExampleYAML returns the documented example policy (example.yaml).
func ExampleYAML() []byte { return bytes.Clone(examplePolicy) }

// maxFileSize bounds LoadFile: a policy is small, a huge file is a mistake.
const maxFileSize = 1 << 20

// LoadFile reads and parses the policy file at path (the file named by
// EnvPolicyFile). Errors name the path.
func LoadFile(path string) (Policy, error) {
	f, err := os.Open(path)
	if err != nil {
		return Policy{}, fmt.Errorf("role policy %s: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return Policy{}, fmt.Errorf("role policy %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return Policy{}, fmt.Errorf("role policy %s: larger than %d bytes", path, maxFileSize)
	}
	p, err := Parse(data)
	if err != nil {
		return Policy{}, fmt.Errorf("role policy %s: %w", path, err)
	}
	return p, nil
}

// Problem is one validation failure. Rule is the rule's index in its role
// (from 0), or -1 for a role-level or file-level problem.
type Problem struct {
	Role    string `json:"role,omitempty"`
	Rule    int    `json:"rule"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	var where []string
	if p.Role != "" {
		where = append(where, fmt.Sprintf("role %q", p.Role))
	}
	if p.Rule >= 0 {
		where = append(where, fmt.Sprintf("rule %d", p.Rule))
	}
	if p.Field != "" {
		where = append(where, p.Field)
	}
	if len(where) == 0 {
		return p.Message
	}
	return strings.Join(where, " ") + ": " + p.Message
}

// ValidationError lists every problem Parse found.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	if len(parts) == 1 {
		return "invalid role policy: " + parts[0]
	}
	return fmt.Sprintf("invalid role policy (%d problems): %s", len(parts), strings.Join(parts, "; "))
}

// The file's shape. Field names are lowerCamel; unknown fields are errors.
type rawPolicy struct {
	Version *int               `yaml:"version"`
	Roles   map[string]rawRole `yaml:"roles"`
}

type rawRole struct {
	Description string       `yaml:"description"`
	Networks    *rawNetworks `yaml:"networks"`
	GroupType   string       `yaml:"groupType"`
	Rules       []rawRule    `yaml:"rules"`
}

type rawNetworks struct {
	AllVPCs bool     `yaml:"allVpcs"`
	VPCs    []string `yaml:"vpcs"`
	Classic bool     `yaml:"classic"`
}

type rawRule struct {
	Direction         string   `yaml:"direction"`
	Protocol          string   `yaml:"protocol"`
	Ports             string   `yaml:"ports"`
	Source            *rawPeer `yaml:"source"`
	Destination       *rawPeer `yaml:"destination"`
	Action            string   `yaml:"action"`
	Priority          *int     `yaml:"priority"`
	Description       string   `yaml:"description"`
	NicType           string   `yaml:"nicType"`
	AllowInternetWide bool     `yaml:"allowInternetWide"`
}

type rawPeer struct {
	Role       string `yaml:"role"`
	CIDR       string `yaml:"cidr"`
	PrefixList string `yaml:"prefixList"`
}

// Parse reads and validates a policy. On any problem it returns a
// *ValidationError listing all of them (nothing partial is returned).
func Parse(data []byte) (Policy, error) {
	var raw rawPolicy
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&raw); err != nil {
		if errors.Is(err, io.EOF) {
			return Policy{}, &ValidationError{[]Problem{{Rule: -1, Message: "the file is empty"}}}
		}
		return Policy{}, &ValidationError{[]Problem{{Rule: -1, Message: "not a valid policy document: " + err.Error()}}}
	}
	v := &validator{}
	p := v.policy(raw)
	if len(v.problems) > 0 {
		return Policy{}, &ValidationError{v.problems}
	}
	return p, nil
}

type validator struct {
	problems []Problem
}

func (v *validator) add(role string, rule int, field, format string, args ...any) {
	v.problems = append(v.problems, Problem{Role: role, Rule: rule, Field: field, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) policy(raw rawPolicy) Policy {
	switch {
	case raw.Version == nil:
		v.add("", -1, "version", "missing; want version: %d", Version)
	case *raw.Version != Version:
		v.add("", -1, "version", "%d is not supported; want %d", *raw.Version, Version)
	}
	if len(raw.Roles) == 0 {
		v.add("", -1, "roles", "no roles declared")
	}
	names := make([]string, 0, len(raw.Roles))
	for name := range raw.Roles {
		names = append(names, name)
	}
	sort.Strings(names)
	p := Policy{Version: Version}
	for _, name := range names {
		p.Roles = append(p.Roles, v.role(name, raw.Roles[name]))
	}
	// Cross-role checks need every role's networks and type.
	for _, r := range p.Roles {
		refs := map[string]bool{}
		for i, rs := range r.Rules {
			if rs.Peer.Role == "" {
				continue
			}
			field := peerField(rs.Direction) + ".role"
			peer, ok := p.Role(rs.Peer.Role)
			switch {
			case !ok:
				v.add(r.Name, i, field, "role %q is not declared", rs.Peer.Role)
				continue
			case r.GroupType == Advanced:
				v.add(r.Name, i, field, "advanced groups cannot have group-to-group rules; use a CIDR or a prefix list")
			case peer.GroupType == Advanced:
				v.add(r.Name, i, field, "role %q has an advanced group, which cannot be named in a rule", peer.Name)
			case !r.Networks.coveredBy(peer.Networks):
				v.add(r.Name, i, field, "role %q does not exist in every network role %q does", peer.Name, r.Name)
			}
			refs[rs.Peer.Role] = true
		}
		if len(refs) > GroupReferenceLimit {
			v.add(r.Name, -1, "rules", "names %d other roles; a group may reference at most %d groups", len(refs), GroupReferenceLimit)
		}
	}
	return p
}

func peerField(d Direction) string {
	if d == Egress {
		return "destination"
	}
	return "source"
}

func (v *validator) role(name string, raw rawRole) Role {
	if !domain.ValidRoleName(name) {
		v.add(name, -1, "name", "want 1-32 characters of a-z, 0-9 and '-', starting with a letter or digit")
	}
	r := Role{Name: name, Description: strings.TrimSpace(raw.Description), GroupType: Basic}
	if n := utf8.RuneCountInString(r.Description); n > 256 {
		v.add(name, -1, "description", "%d characters; a group description holds at most 256", n)
	}
	switch strings.ToLower(raw.GroupType) {
	case "", string(Basic):
	case string(Advanced):
		r.GroupType = Advanced
	default:
		v.add(name, -1, "groupType", "%q: want basic or advanced", raw.GroupType)
	}
	r.Networks = v.networks(name, raw.Networks)
	if len(raw.Rules) > RuleLimit {
		v.add(name, -1, "rules", "%d rules; a group holds at most %d", len(raw.Rules), RuleLimit)
	}
	seen := map[string]int{}
	for i, rr := range raw.Rules {
		rs, ok := v.rule(r, i, rr)
		if !ok {
			continue
		}
		k := rs.identity()
		if j, dup := seen[k]; dup {
			v.add(name, i, "", "the same rule as rule %d (ECS ignores priority and description when comparing rules)", j)
			continue
		}
		seen[k] = i
		r.Rules = append(r.Rules, rs)
	}
	if r.Rules == nil {
		r.Rules = []RuleSpec{}
	}
	return r
}

func (v *validator) networks(role string, raw *rawNetworks) Networks {
	if raw == nil {
		return Networks{AllVPCs: true, VPCs: []string{}}
	}
	n := Networks{AllVPCs: raw.AllVPCs, Classic: raw.Classic, VPCs: []string{}}
	seen := map[string]bool{}
	for i, id := range raw.VPCs {
		switch {
		case !domain.ValidVPCID(id):
			v.add(role, -1, fmt.Sprintf("networks.vpcs[%d]", i), "%q is not a VPC ID", id)
		case seen[id]:
			v.add(role, -1, fmt.Sprintf("networks.vpcs[%d]", i), "%q is listed twice", id)
		default:
			seen[id] = true
			n.VPCs = append(n.VPCs, id)
		}
	}
	sort.Strings(n.VPCs)
	switch {
	case n.AllVPCs && len(raw.VPCs) > 0:
		v.add(role, -1, "networks", "allVpcs and a vpcs list exclude each other")
	case !n.AllVPCs && len(raw.VPCs) == 0 && !n.Classic:
		v.add(role, -1, "networks", "no network: set allVpcs, list vpcs or set classic")
	}
	return n
}

// identity is the ECS identity of the rule as declared (see Rule.Key).
func (rs RuleSpec) identity() string {
	return strings.Join([]string{string(rs.Direction), string(rs.Protocol), rs.Ports, rs.NicType, string(rs.Action),
		rs.Peer.Role, normCIDR(rs.Peer.CIDR), rs.Peer.PrefixList}, "|")
}

func (v *validator) rule(r Role, i int, raw rawRule) (RuleSpec, bool) {
	before := len(v.problems)
	bad := func(field, format string, args ...any) { v.add(r.Name, i, field, format, args...) }
	rs := RuleSpec{Direction: Direction(strings.ToLower(raw.Direction)), Protocol: Protocol(strings.ToLower(raw.Protocol)),
		Ports: strings.TrimSpace(raw.Ports), Description: raw.Description, AllowInternetWide: raw.AllowInternetWide}
	switch rs.Direction {
	case Ingress, Egress:
	case "":
		bad("direction", "missing; want ingress or egress")
	default:
		bad("direction", "%q: want ingress or egress", raw.Direction)
	}
	switch rs.Protocol {
	case TCP, UDP, ICMP, GRE, All:
		if rs.Ports == "" && !rs.Protocol.hasPorts() {
			rs.Ports = AnyPorts
		}
		if rs.Ports == "" {
			bad("ports", "missing; %s needs start/end, e.g. 443/443", rs.Protocol)
		} else if err := validPortRange(rs.Protocol, rs.Ports); err != nil {
			bad("ports", "%v", err)
		}
	case "":
		bad("protocol", "missing; want tcp, udp, icmp, gre or all")
	default:
		bad("protocol", "%q: want tcp, udp, icmp, gre or all", raw.Protocol)
	}
	if lo, hi, err := parsePorts(rs.Ports); err == nil {
		rs.Ports = fmt.Sprintf("%d/%d", lo, hi) // " 80 / 80" → "80/80"
	}

	// Peer: source for ingress, destination for egress, never both.
	var peer *rawPeer
	switch {
	case raw.Source != nil && raw.Destination != nil:
		bad("source", "give source for an ingress rule or destination for an egress rule, not both")
	case rs.Direction == Egress && raw.Source != nil:
		bad("source", "an egress rule names a destination, not a source")
	case rs.Direction == Ingress && raw.Destination != nil:
		bad("destination", "an ingress rule names a source, not a destination")
	case raw.Source != nil:
		peer = raw.Source
	case raw.Destination != nil:
		peer = raw.Destination
	default:
		bad(peerField(rs.Direction), "missing; name a role, a cidr or a prefixList")
	}
	field := peerField(rs.Direction)
	if peer != nil {
		set := 0
		for _, s := range []string{peer.Role, peer.CIDR, peer.PrefixList} {
			if s != "" {
				set++
			}
		}
		if set != 1 {
			bad(field, "give exactly one of role, cidr and prefixList")
		}
		rs.Peer = Peer{Role: strings.ToLower(strings.TrimSpace(peer.Role)), CIDR: strings.TrimSpace(peer.CIDR), PrefixList: strings.TrimSpace(peer.PrefixList)}
		if rs.Peer.CIDR != "" {
			if p, err := parsePrefix(rs.Peer.CIDR); err != nil {
				bad(field+".cidr", "%q is not an IPv4 or IPv6 CIDR", rs.Peer.CIDR)
			} else {
				rs.Peer.CIDR = p.String()
			}
		}
		if rs.Peer.PrefixList != "" && !domain.ValidPrefixListID(rs.Peer.PrefixList) {
			bad(field+".prefixList", "%q is not a prefix list ID (pl-…)", rs.Peer.PrefixList)
		}
	}

	switch a := Action(strings.ToLower(raw.Action)); a {
	case "":
		rs.Action = Accept
	case Accept, Drop:
		rs.Action = a
	default:
		bad("action", "%q: want accept or drop", raw.Action)
	}
	rs.Priority = MinPriority
	if raw.Priority != nil {
		rs.Priority = *raw.Priority
		if rs.Priority < MinPriority || rs.Priority > MaxPriority {
			bad("priority", "%d: want %d (highest) to %d (lowest)", rs.Priority, MinPriority, MaxPriority)
		}
	}
	if n := utf8.RuneCountInString(rs.Description); n > MaxDescription {
		bad("description", "%d characters; at most %d", n, MaxDescription)
	}
	switch nic := strings.ToLower(raw.NicType); nic {
	case "", NicIntranet:
		rs.NicType = NicIntranet
	case NicInternet:
		rs.NicType = NicInternet
		switch {
		case !r.Networks.Classic:
			bad("nicType", "internet rules exist only in the classic network; role %q has no classic group", r.Name)
		case r.Networks.hasVPC():
			bad("nicType", "role %q also lives in VPCs, where every rule is intranet; split the role or drop nicType", r.Name)
		case rs.Peer.Role != "":
			bad("nicType", "a group-to-group rule must be intranet")
		}
	default:
		bad("nicType", "%q: want intranet or internet", raw.NicType)
	}
	if rs.Action == Accept && rs.NicType == NicIntranet && internetWide(rs.Peer.CIDR) && !rs.AllowInternetWide {
		bad(field+".cidr", "%s on an internal (intranet) rule opens it to everyone; set allowInternetWide: true if that is meant", rs.Peer.CIDR)
	}
	return rs, len(v.problems) == before
}

// internetWide reports whether cidr is 0.0.0.0/0 or ::/0.
func internetWide(cidr string) bool {
	if cidr == "" {
		return false
	}
	p, err := parsePrefix(cidr)
	return err == nil && p.Bits() == 0
}

// isPrivateWide reports whether cidr is the whole 10.0.0.0/8 (the classic
// network's internal range, wide open inside the region).
func isPrivateWide(cidr string) bool {
	p, err := parsePrefix(cidr)
	return err == nil && p == netip.MustParsePrefix("10.0.0.0/8")
}
