package rolepolicy

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Direction of a rule: ingress (inbound) or egress (outbound).
type Direction string

const (
	Ingress Direction = "ingress"
	Egress  Direction = "egress"
)

// Protocol of a rule, lower case as the API accepts it (ECS echoes it upper
// case; the adapter lowers it).
type Protocol string

const (
	TCP  Protocol = "tcp"
	UDP  Protocol = "udp"
	ICMP Protocol = "icmp"
	GRE  Protocol = "gre"
	All  Protocol = "all"
)

// hasPorts reports whether the protocol takes a real port range; the others
// take "-1/-1".
func (p Protocol) hasPorts() bool { return p == TCP || p == UDP }

// Action is a rule's policy: accept or drop (lower case; ECS echoes Accept/Drop).
type Action string

const (
	Accept Action = "accept"
	Drop   Action = "drop"
)

// NicType of a rule. VPC groups only have intranet rules; classic groups
// have both.
const (
	NicIntranet = "intranet"
	NicInternet = "internet"
)

// Limits from the ECS documentation (AuthorizeSecurityGroup, 2026).
const (
	// RuleLimit is the number of rules (inbound plus outbound) one group may hold.
	RuleLimit = 200
	// GroupReferenceLimit is how many distinct groups a basic group's rules may name.
	GroupReferenceLimit = 20
	// MinPriority is the highest priority, MaxPriority the lowest; ECS's default is 1.
	MinPriority = 1
	MaxPriority = 100
	// MaxDescription is the longest rule description (characters).
	MaxDescription = 512
)

// AnyPorts is the port range of protocols without ports.
const AnyPorts = "-1/-1"

// Rule is one concrete security group rule: read from ECS (ID set) or
// derived from the policy for a network (ID empty). Peer fields name the
// source of an ingress rule and the destination of an egress rule; Local is
// the optional other side (DestCidrIp of an ingress rule, SourceCidrIp of an
// egress rule). Exactly one peer field is set.
type Rule struct {
	ID              string    `json:"id,omitempty"`
	Direction       Direction `json:"direction"`
	Protocol        Protocol  `json:"protocol"`
	PortRange       string    `json:"portRange"`
	SourcePortRange string    `json:"sourcePortRange,omitempty"`
	NicType         string    `json:"nicType"`
	Policy          Action    `json:"policy"`
	Priority        int       `json:"priority"`

	PeerCIDR       string `json:"peerCidr,omitempty"`
	PeerIPv6CIDR   string `json:"peerIpv6Cidr,omitempty"`
	PeerGroupID    string `json:"peerGroupId,omitempty"`
	PeerGroupOwner string `json:"peerGroupOwner,omitempty"` // account of PeerGroupID; "" = own
	PeerPrefixList string `json:"peerPrefixListId,omitempty"`
	// PeerRole names the role whose group is the peer when the plan could
	// not resolve it yet (the group is still to be created). Plan.Resolve
	// fills PeerGroupID.
	PeerRole     string `json:"peerRole,omitempty"`
	LocalCIDR    string `json:"localCidr,omitempty"`
	LocalIPv6    string `json:"localIpv6Cidr,omitempty"`
	Description  string `json:"description,omitempty"`
	PeerGroupRef string `json:"peerGroupName,omitempty"` // name of the peer group, for display
}

// Key is the rule's ECS identity: every attribute except ID, priority and
// description. Two rules with the same Key are the same rule to ECS.
func (r Rule) Key() string {
	peer := r.PeerGroupID
	if peer == "" && r.PeerRole != "" {
		peer = "role:" + r.PeerRole
	}
	return strings.Join([]string{string(r.Direction), string(r.Protocol), r.PortRange, r.SourcePortRange,
		r.NicType, string(r.Policy), normCIDR(r.PeerCIDR), normCIDR(r.PeerIPv6CIDR), peer, r.PeerPrefixList,
		normCIDR(r.LocalCIDR), normCIDR(r.LocalIPv6)}, "|")
}

// Peer describes the peer for people: a CIDR, "group sg-…", "role web" or
// "prefix list pl-…".
func (r Rule) Peer() string {
	switch {
	case r.PeerCIDR != "":
		return r.PeerCIDR
	case r.PeerIPv6CIDR != "":
		return r.PeerIPv6CIDR
	case r.PeerGroupID != "":
		s := "group " + r.PeerGroupID
		if r.PeerGroupRef != "" {
			s += " (" + r.PeerGroupRef + ")"
		}
		if r.PeerGroupOwner != "" {
			s += " of account " + r.PeerGroupOwner
		}
		return s
	case r.PeerRole != "":
		return "role " + r.PeerRole
	case r.PeerPrefixList != "":
		return "prefix list " + r.PeerPrefixList
	}
	return "(no peer)"
}

// String is a one-line description: "ingress accept tcp 80/80 from
// 0.0.0.0/0 (intranet, priority 1)".
func (r Rule) String() string {
	dir := "from"
	if r.Direction == Egress {
		dir = "to"
	}
	what := string(r.Protocol) + " " + r.PortRange
	switch {
	case r.Protocol == All:
		what = "all protocols"
	case r.PortRange == AnyPorts:
		what = string(r.Protocol)
	}
	s := fmt.Sprintf("%s %s %s %s %s", r.Direction, r.Policy, what, dir, r.Peer())
	if r.LocalCIDR != "" {
		s += " at " + r.LocalCIDR
	}
	return s + fmt.Sprintf(" (%s, priority %d)", r.NicType, r.Priority)
}

func normCIDR(s string) string {
	if s == "" {
		return ""
	}
	p, err := parsePrefix(s)
	if err != nil {
		return s
	}
	return p.String()
}

// parsePrefix reads a CIDR or a single address (a /32 or /128), as ECS
// accepts both, and masks host bits.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// parsePorts reads "start/end".
func parsePorts(pr string) (lo, hi int, err error) {
	a, b, ok := strings.Cut(pr, "/")
	if !ok {
		return 0, 0, fmt.Errorf("%q is not start/end", pr)
	}
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	hi, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("%q is not two port numbers start/end", pr)
	}
	return lo, hi, nil
}

// validPortRange checks pr for proto: 1 ≤ start ≤ end ≤ 65535 for tcp and
// udp, exactly "-1/-1" for the others.
func validPortRange(proto Protocol, pr string) error {
	lo, hi, err := parsePorts(pr)
	if err != nil {
		return err
	}
	if !proto.hasPorts() {
		if lo != -1 || hi != -1 {
			return fmt.Errorf("%q: protocol %s has no ports, use -1/-1", pr, proto)
		}
		return nil
	}
	switch {
	case lo < 1 || lo > 65535 || hi < 1 || hi > 65535:
		return fmt.Errorf("%q: ports must be 1-65535", pr)
	case lo > hi:
		return fmt.Errorf("%q: start %d is after end %d", pr, lo, hi)
	}
	return nil
}

// Match logic for the audit: does rule a's match cover every packet b matches?

func protocolCovers(a, b Protocol) bool { return a == All || a == b }

func portsCover(a, b Rule) bool {
	if a.Protocol == All || !a.Protocol.hasPorts() {
		return true // all ports of the protocol
	}
	if !b.Protocol.hasPorts() {
		return false // b is all/icmp/gre, a is tcp/udp: a matches less
	}
	alo, ahi, err1 := parsePorts(a.PortRange)
	blo, bhi, err2 := parsePorts(b.PortRange)
	if err1 != nil || err2 != nil {
		return false
	}
	if alo > blo || ahi < bhi {
		return false
	}
	if a.SourcePortRange != "" && a.SourcePortRange != b.SourcePortRange {
		return false
	}
	return true
}

func cidrCovers(a, b string) bool {
	if a == "" {
		return true // no narrowing on a's side
	}
	if b == "" {
		return false
	}
	pa, err1 := parsePrefix(a)
	pb, err2 := parsePrefix(b)
	if err1 != nil || err2 != nil {
		return false
	}
	return pa.Addr().BitLen() == pb.Addr().BitLen() && pa.Bits() <= pb.Bits() && pa.Contains(pb.Addr())
}

func peerCovers(a, b Rule) bool {
	switch {
	case a.PeerCIDR != "":
		return b.PeerCIDR != "" && cidrCovers(a.PeerCIDR, b.PeerCIDR)
	case a.PeerIPv6CIDR != "":
		return b.PeerIPv6CIDR != "" && cidrCovers(a.PeerIPv6CIDR, b.PeerIPv6CIDR)
	case a.PeerGroupID != "":
		return a.PeerGroupID == b.PeerGroupID && a.PeerGroupOwner == b.PeerGroupOwner
	case a.PeerPrefixList != "":
		return a.PeerPrefixList == b.PeerPrefixList
	}
	return false
}

// covers reports whether every packet b matches is also matched by a.
func covers(a, b Rule) bool {
	return a.Direction == b.Direction && a.NicType == b.NicType && protocolCovers(a.Protocol, b.Protocol) &&
		portsCover(a, b) && peerCovers(a, b) && cidrCovers(a.LocalCIDR, b.LocalCIDR) && cidrCovers(a.LocalIPv6, b.LocalIPv6)
}

// decidesBefore reports whether a is evaluated before b: a lower priority
// number, or the same priority with a dropping and b accepting.
func decidesBefore(a, b Rule) bool {
	if a.Priority != b.Priority {
		return a.Priority < b.Priority
	}
	return a.Policy == Drop && b.Policy == Accept
}
