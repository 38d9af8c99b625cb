package rolepolicy

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Severity of an audit finding.
type Severity string

const (
	High   Severity = "high"
	Medium Severity = "medium"
	Low    Severity = "low"
	Info   Severity = "info"
)

func (s Severity) rank() int {
	switch s {
	case High:
		return 0
	case Medium:
		return 1
	case Low:
		return 2
	}
	return 3
}

// FindingType names what an audit finding is about.
type FindingType string

const (
	// An internal (intranet) ingress accept rule open to 0.0.0.0/0, ::/0 or 10.0.0.0/8.
	FindingInternalOpenWide FindingType = "internal-open-wide"
	// An ingress accept rule for every port of tcp or udp.
	FindingAllPorts FindingType = "all-ports"
	// An ingress accept rule for every protocol.
	FindingAllProtocols FindingType = "all-protocols"
	// A CIDR peer that is exactly a vSwitch or VPC range whose instances share a group.
	FindingCIDRCouldBeGroup FindingType = "cidr-could-be-group"
	// A rule that an earlier-deciding rule of the opposite policy overrides.
	FindingShadowed FindingType = "shadowed"
	// A rule that an earlier-deciding rule of the same policy already covers.
	FindingRedundant FindingType = "redundant"
	// A group near or at the per-group rule limit.
	FindingNearRuleLimit FindingType = "near-rule-limit"
	// A rule naming a group that no longer exists.
	FindingDeletedGroupReference FindingType = "deleted-group-reference"
)

// VPC is a VPC of the audited region and its CIDR blocks.
type VPC struct {
	ID    string   `json:"id"`
	CIDRs []string `json:"cidrs"`
	// SharedGroupIDs are groups every instance of the VPC is in.
	SharedGroupIDs []string `json:"sharedGroupIds"`
}

// VSwitch is a vSwitch of the audited region.
type VSwitch struct {
	ID    string `json:"id"`
	VPCID string `json:"vpcId"`
	CIDR  string `json:"cidr"`
	// SharedGroupIDs are groups every instance in the vSwitch is in (empty
	// when the vSwitch has no instances or they share none).
	SharedGroupIDs []string `json:"sharedGroupIds"`
}

// AuditInput is everything the audit looks at: every group of one region
// with its rules, the VPCs and vSwitches. Audit changes nothing.
type AuditInput struct {
	RegionID  string
	AccountID string // references to groups of other accounts are not checked
	Groups    []Group
	VPCs      []VPC
	VSwitches []VSwitch
	// Policy, when set, marks internet-wide rules it declares with
	// allowInternetWide as acknowledged (severity info).
	Policy *Policy
	// RuleLimit is the per-group limit (RuleLimit when 0); groups at
	// NearLimitPercent of it or more are reported (90 when 0).
	RuleLimit        int
	NearLimitPercent int
}

// Finding is one problem with a rule or a group.
type Finding struct {
	Type      FindingType `json:"type"`
	Severity  Severity    `json:"severity"`
	GroupID   string      `json:"groupId"`
	GroupName string      `json:"groupName"`
	Rule      *Rule       `json:"rule,omitempty"`
	// RelatedRuleID is the rule that shadows or covers this one.
	RelatedRuleID string `json:"relatedRuleId,omitempty"`
	Why           string `json:"why"`
	Fix           string `json:"fix"`
}

// Report is the audit's result.
type Report struct {
	RegionID string         `json:"regionId"`
	Groups   int            `json:"groups"`
	Rules    int            `json:"rules"`
	Counts   map[string]int `json:"counts"` // by severity, every severity present
	Findings []Finding      `json:"findings"`
}

// Audit checks every rule of every group of a region.
func Audit(in AuditInput) Report {
	limit := in.RuleLimit
	if limit <= 0 {
		limit = RuleLimit
	}
	near := in.NearLimitPercent
	if near <= 0 || near > 100 {
		near = 90
	}
	rep := Report{RegionID: in.RegionID, Groups: len(in.Groups), Findings: []Finding{},
		Counts: map[string]int{string(High): 0, string(Medium): 0, string(Low): 0, string(Info): 0}}
	exists := map[string]Group{}
	for _, g := range in.Groups {
		exists[g.ID] = g
	}
	ranges := cidrOwners(in)
	acked := acknowledged(in.Policy)

	for _, g := range in.Groups {
		rep.Rules += len(g.Rules)
		add := func(t FindingType, sev Severity, r *Rule, why, fix string) {
			rep.Findings = append(rep.Findings, Finding{Type: t, Severity: sev, GroupID: g.ID, GroupName: g.Name, Rule: r, Why: why, Fix: fix})
		}
		for i := range g.Rules {
			r := g.Rules[i]
			rp := &g.Rules[i]
			peer := r.PeerCIDR
			if peer == "" {
				peer = r.PeerIPv6CIDR
			}
			// Exposure findings concern what may reach the group: ingress.
			// Egress to anywhere is ECS's default and not reported.
			inbound := r.Direction == Ingress && r.Policy == Accept
			if inbound && r.NicType == NicIntranet && (internetWide(peer) || isPrivateWide(peer)) {
				sev, why := High, fmt.Sprintf("an internal rule open to %s lets every address reach the group on %s", peer, portsText(r))
				if isPrivateWide(peer) {
					why = fmt.Sprintf("an internal rule open to 10.0.0.0/8 lets every instance of the region's classic network (and any VPC using that range) reach the group on %s", portsText(r))
				}
				fix := "name the peer's security group instead of a CIDR, or narrow the CIDR to the addresses that need access"
				if acked[ackKey(g.Role, r)] {
					sev = Info
					why += "; the role policy declares it with allowInternetWide"
					fix = "none needed if the exposure is intended"
				}
				add(FindingInternalOpenWide, sev, rp, why, fix)
			}
			if inbound && r.Protocol == All {
				add(FindingAllProtocols, Medium, rp, fmt.Sprintf("accepts every protocol and port from %s", r.Peer()),
					"allow only the protocols and ports the service uses")
			} else if inbound && r.Protocol.hasPorts() && r.PortRange == "1/65535" {
				add(FindingAllPorts, Medium, rp, fmt.Sprintf("accepts every %s port from %s", r.Protocol, r.Peer()),
					"allow only the ports the service listens on")
			}
			if r.PeerCIDR != "" && g.VPCID != "" {
				if o, ok := ranges[normCIDR(r.PeerCIDR)]; ok && o.vpcID == g.VPCID {
					if gid := o.usableGroup(exists, g); gid != "" {
						add(FindingCIDRCouldBeGroup, Low, rp,
							fmt.Sprintf("%s is the range of %s, whose instances all share group %s; a CIDR keeps matching whatever is placed there later", r.PeerCIDR, o.name, groupRef(gid, exists[gid].Name)),
							fmt.Sprintf("replace the CIDR with the group %s (a group-to-group rule, NicType intranet)", gid))
					}
				}
			}
			if pg := r.PeerGroupID; pg != "" && (r.PeerGroupOwner == "" || in.AccountID == "" || r.PeerGroupOwner == in.AccountID) {
				if _, ok := exists[pg]; !ok {
					add(FindingDeletedGroupReference, High, rp, fmt.Sprintf("names group %s, which does not exist in %s", pg, in.RegionID),
						"revoke the rule, or point it at the group that replaced the deleted one")
				}
			}
			// Shadowing: some rule decides before r for every packet r matches.
			for j := range g.Rules {
				o := g.Rules[j]
				if i == j || !covers(o, r) || !(decidesBefore(o, r) || (o.Policy == r.Policy && o.Priority <= r.Priority && !covers(r, o))) {
					continue
				}
				f := Finding{GroupID: g.ID, GroupName: g.Name, Rule: rp, RelatedRuleID: o.ID}
				if o.Policy != r.Policy {
					f.Type, f.Severity = FindingShadowed, Medium
					f.Why = fmt.Sprintf("never takes effect: %s (%s) matches all its traffic and decides first", o.ID, o)
					f.Fix = "remove the rule, or give it a higher priority (a lower number) than the rule that overrides it"
				} else {
					f.Type, f.Severity = FindingRedundant, Low
					f.Why = fmt.Sprintf("never decides anything: %s (%s) matches all its traffic with the same policy first", o.ID, o)
					f.Fix = "remove the rule; it only uses up the group's rule quota"
				}
				rep.Findings = append(rep.Findings, f)
				break
			}
		}
		if n := len(g.Rules); n*100 >= limit*near {
			sev := Medium
			if n >= limit {
				sev = High
			}
			add(FindingNearRuleLimit, sev, nil, fmt.Sprintf("holds %d rules of the %d a group may have; authorizing more will fail", n, limit),
				"merge rules (port ranges, prefix lists, group references) or split the role into two groups")
		}
	}
	sort.SliceStable(rep.Findings, func(i, j int) bool {
		a, b := rep.Findings[i], rep.Findings[j]
		if a.Severity.rank() != b.Severity.rank() {
			return a.Severity.rank() < b.Severity.rank()
		}
		if a.GroupID != b.GroupID {
			return a.GroupID < b.GroupID
		}
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		return ruleIDOf(a) < ruleIDOf(b)
	})
	for _, f := range rep.Findings {
		rep.Counts[string(f.Severity)]++
	}
	return rep
}

func ruleIDOf(f Finding) string {
	if f.Rule == nil {
		return ""
	}
	return f.Rule.ID + "|" + f.Rule.Key()
}

type rangeOwner struct {
	name   string
	vpcID  string
	shared []string
}

// usableGroup is a shared group of the range that g's rule could name: a
// basic group of g's VPC, other than g itself.
func (o rangeOwner) usableGroup(exists map[string]Group, g Group) string {
	if g.Type == "enterprise" {
		return ""
	}
	ids := append([]string(nil), o.shared...)
	sort.Strings(ids)
	for _, id := range ids {
		sg, ok := exists[id]
		if ok && id != g.ID && sg.VPCID == g.VPCID && sg.Type != "enterprise" {
			return id
		}
	}
	return ""
}

func cidrOwners(in AuditInput) map[string]rangeOwner {
	out := map[string]rangeOwner{}
	for _, v := range in.VPCs {
		for _, c := range v.CIDRs {
			out[normCIDR(c)] = rangeOwner{name: "VPC " + v.ID, vpcID: v.ID, shared: v.SharedGroupIDs}
		}
	}
	for _, s := range in.VSwitches {
		if s.CIDR != "" {
			out[normCIDR(s.CIDR)] = rangeOwner{name: "vSwitch " + s.ID, vpcID: s.VPCID, shared: s.SharedGroupIDs}
		}
	}
	return out
}

// acknowledged returns the (role, rule identity without network) keys of
// internet-wide rules the policy allows explicitly.
func acknowledged(p *Policy) map[string]bool {
	out := map[string]bool{}
	if p == nil {
		return out
	}
	for _, role := range p.Roles {
		for _, rs := range role.Rules {
			if rs.AllowInternetWide {
				out[role.Name+"|"+string(rs.Direction)+"|"+string(rs.Protocol)+"|"+rs.Ports+"|"+normCIDR(rs.Peer.CIDR)] = true
			}
		}
	}
	return out
}

func ackKey(role string, r Rule) string {
	peer := r.PeerCIDR
	if peer == "" {
		peer = r.PeerIPv6CIDR
	}
	return role + "|" + string(r.Direction) + "|" + string(r.Protocol) + "|" + r.PortRange + "|" + normCIDR(peer)
}

func portsText(r Rule) string {
	if r.Protocol == All {
		return "every protocol"
	}
	if r.PortRange == AnyPorts {
		return string(r.Protocol)
	}
	return fmt.Sprintf("%s %s", r.Protocol, r.PortRange)
}

// JSON renders the report as indented JSON (lowerCamel names, empty lists as []).
func (r Report) JSON() ([]byte, error) {
	return json.MarshalIndent(r, "", "  ")
}

// Text renders the report for people, findings grouped by group.
func (r Report) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Security group audit of %s: %s, %s\n", r.RegionID, plural(r.Groups, "group"), plural(r.Rules, "rule"))
	if len(r.Findings) == 0 {
		b.WriteString("No findings.\n")
		return b.String()
	}
	fmt.Fprintf(&b, "Findings: %d high, %d medium, %d low, %d info\n",
		r.Counts[string(High)], r.Counts[string(Medium)], r.Counts[string(Low)], r.Counts[string(Info)])
	for i, f := range r.Findings {
		fmt.Fprintf(&b, "\n%d. [%s] %s in %s\n", i+1, strings.ToUpper(string(f.Severity)), f.Type, groupRef(f.GroupID, f.GroupName))
		if f.Rule != nil {
			fmt.Fprintf(&b, "   rule: %s%s\n", *f.Rule, ruleID(*f.Rule))
		}
		fmt.Fprintf(&b, "   why:  %s\n", f.Why)
		fmt.Fprintf(&b, "   fix:  %s\n", f.Fix)
	}
	return b.String()
}
