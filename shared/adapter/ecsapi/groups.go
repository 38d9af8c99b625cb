package ecsapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/sgpilot/sgpilot/shared/core/domain"
)

// ListGroups returns every security group of the region matching f, all
// pages, tags included.
func (c *Client) ListGroups(ctx context.Context, regionID string, f domain.GroupFilter) ([]domain.SecurityGroup, error) {
	var out []domain.SecurityGroup
	err := c.ListGroupPages(ctx, regionID, f, func(page []domain.SecurityGroup) error {
		out = append(out, page...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListGroupPages is ListGroups one page (one DescribeSecurityGroups call) at
// a time: page gets each page as it arrives, in order, from the calling
// goroutine, and an error it returns stops the listing and is returned.
// A listing that fails part way has already handed over its first pages.
func (c *Client) ListGroupPages(ctx context.Context, regionID string, f domain.GroupFilter, page func([]domain.SecurityGroup) error) error {
	region := c.region(regionID)
	op := "ecs DescribeSecurityGroups in " + region
	if f.TagValue != "" && f.TagKey == "" {
		return domain.Errorf(domain.KindInvalid, op, "", "a TagValue filter needs a TagKey")
	}
	switch f.NetworkType {
	case "", domain.NetworkVPC, domain.NetworkClassic:
	default:
		return domain.Errorf(domain.KindInvalid, op, "", "network type %q is neither vpc nor classic", f.NetworkType)
	}
	return c.eachGroupPage(ctx, op, region, func(r *ecs.DescribeSecurityGroupsRequest) {
		r.VpcId = f.VPCID
		r.NetworkType = string(f.NetworkType)
		if f.TagKey != "" {
			r.Tag = &[]ecs.DescribeSecurityGroupsTag{{Key: f.TagKey, Value: f.TagValue}}
		}
	}, page)
}

// DescribeGroups returns the groups among ids, 100 per request. Unknown IDs
// are absent from the result.
func (c *Client) DescribeGroups(ctx context.Context, regionID string, ids []string) ([]domain.SecurityGroup, error) {
	region := c.region(regionID)
	var out []domain.SecurityGroup
	for _, batch := range chunks(domain.SortedUnique(ids), describeBatch) {
		idsJSON, _ := json.Marshal(batch)
		op := fmt.Sprintf("ecs DescribeSecurityGroups %s in %s", shortList(batch), region)
		got, err := c.groupPages(ctx, op, region, func(r *ecs.DescribeSecurityGroupsRequest) { r.SecurityGroupIds = string(idsJSON) })
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	return out, nil
}

func (c *Client) groupPages(ctx context.Context, op, region string, set func(*ecs.DescribeSecurityGroupsRequest)) ([]domain.SecurityGroup, error) {
	var out []domain.SecurityGroup
	err := c.eachGroupPage(ctx, op, region, set, func(page []domain.SecurityGroup) error {
		out = append(out, page...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// eachGroupPage pages through DescribeSecurityGroups, handing each page's
// groups to page before asking for the next.
func (c *Client) eachGroupPage(ctx context.Context, op, region string, set func(*ecs.DescribeSecurityGroupsRequest), page func([]domain.SecurityGroup) error) error {
	token := ""
	for n := 1; ; n++ {
		resp, err := call(ctx, c, pageOp(op, n), func() (requests.AcsRequest, *ecs.DescribeSecurityGroupsResponse) {
			req := ecs.CreateDescribeSecurityGroupsRequest()
			req.RegionId = region
			req.MaxResults = requests.NewInteger(pageSize)
			req.NextToken = token
			set(req)
			return req, ecs.CreateDescribeSecurityGroupsResponse()
		})
		if err != nil {
			return err
		}
		groups := make([]domain.SecurityGroup, 0, len(resp.SecurityGroups.SecurityGroup))
		for _, g := range resp.SecurityGroups.SecurityGroup {
			sg, err := toGroup(g, region)
			if err != nil {
				return domain.Wrap(domain.KindInternal, pageOp(op, n), "", err)
			}
			groups = append(groups, sg)
		}
		// The token is checked before the page is handed over: a page
		// repeated by a looping token is never seen twice.
		next, err := nextToken(op, n, token, resp.NextToken)
		if err != nil {
			return err
		}
		if err := page(groups); err != nil {
			return err
		}
		if next == "" {
			return nil
		}
		token = next
	}
}

func toGroup(g ecs.SecurityGroup, region string) (domain.SecurityGroup, error) {
	created, err := parseTime(g.CreationTime)
	if err != nil {
		// A zero time would make a brand-new group look old to the
		// cleanup's minimum-age rule, so an unreadable one is an error.
		return domain.SecurityGroup{}, fmt.Errorf("group %s: %w", g.SecurityGroupId, err)
	}
	return domain.SecurityGroup{
		ID:             g.SecurityGroupId,
		Name:           g.SecurityGroupName,
		Description:    g.Description,
		RegionID:       region,
		VPCID:          g.VpcId,
		Type:           g.SecurityGroupType,
		Tags:           toTags(g.Tags.Tag),
		ServiceManaged: g.ServiceManaged,
		CreationTime:   created,
	}, nil
}

// Creation time layouts: groups carry seconds, instances minutes only; some
// responses use full RFC 3339.
var timeLayouts = []string{"2006-01-02T15:04:05Z", "2006-01-02T15:04Z", time.RFC3339}

// parseTime reads an ECS timestamp (UTC). Empty gives the zero time.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("creation time %q is not an ECS timestamp", s)
}

// JoinGroup adds the instance to the group. An instance already in it gives
// an error wrapping domain.ErrAlreadyMember (KindConflict).
func (c *Client) JoinGroup(ctx context.Context, regionID, instanceID, groupID string) error {
	region := c.region(regionID)
	op := fmt.Sprintf("ecs JoinSecurityGroup %s for %s", groupID, instanceID)
	_, err := call(ctx, c, op, func() (requests.AcsRequest, *ecs.JoinSecurityGroupResponse) {
		req := ecs.CreateJoinSecurityGroupRequest()
		req.RegionId = region
		req.InstanceId = instanceID
		req.SecurityGroupId = groupID
		return req, ecs.CreateJoinSecurityGroupResponse()
	})
	return err
}

// CreateGroup creates a security group with its tags and returns its ID. A
// ClientToken makes the retries of one call idempotent.
func (c *Client) CreateGroup(ctx context.Context, regionID string, spec domain.GroupSpec) (string, error) {
	region := c.region(regionID)
	where := "classic"
	if spec.VPCID != "" {
		where = spec.VPCID
	}
	op := fmt.Sprintf("ecs CreateSecurityGroup %q in %s", spec.Name, where)
	if len(spec.Tags) > tagBatch {
		return "", domain.Errorf(domain.KindInvalid, op, "", "%d tags, ECS accepts at most %d on a group", len(spec.Tags), tagBatch)
	}
	token, err := clientToken()
	if err != nil {
		return "", domain.Wrap(domain.KindInternal, op, "", err)
	}
	var tags []ecs.CreateSecurityGroupTag
	for _, k := range sortedKeys(spec.Tags) {
		tags = append(tags, ecs.CreateSecurityGroupTag{Key: k, Value: spec.Tags[k]})
	}
	resp, err := call(ctx, c, op, func() (requests.AcsRequest, *ecs.CreateSecurityGroupResponse) {
		req := ecs.CreateCreateSecurityGroupRequest()
		req.RegionId = region
		req.VpcId = spec.VPCID
		req.SecurityGroupName = spec.Name
		req.Description = spec.Description
		req.ClientToken = token
		if len(tags) > 0 {
			t := append([]ecs.CreateSecurityGroupTag(nil), tags...)
			req.Tag = &t
		}
		return req, ecs.CreateCreateSecurityGroupResponse()
	})
	if err != nil {
		return "", err
	}
	if resp.SecurityGroupId == "" {
		return "", domain.Errorf(domain.KindInternal, op, "", "answer carries no SecurityGroupId")
	}
	return resp.SecurityGroupId, nil
}

func clientToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("client token: %w", err)
	}
	return "sgpilot-" + hex.EncodeToString(b), nil
}

// TagGroups sets tags on groups (existing keys are overwritten), 50 groups
// and 20 tags per request.
func (c *Client) TagGroups(ctx context.Context, regionID string, groupIDs []string, tags domain.Tags) error {
	region := c.region(regionID)
	keys := sortedKeys(tags)
	for _, ids := range chunks(domain.SortedUnique(groupIDs), tagIDBatch) {
		for _, ks := range chunks(keys, tagBatch) {
			op := fmt.Sprintf("ecs TagResources %s on %s", strings.Join(ks, ","), shortList(ids))
			_, err := call(ctx, c, op, func() (requests.AcsRequest, *ecs.TagResourcesResponse) {
				req := ecs.CreateTagResourcesRequest()
				req.RegionId = region
				req.ResourceType = "securitygroup"
				rid := append([]string(nil), ids...)
				req.ResourceId = &rid
				t := make([]ecs.TagResourcesTag, 0, len(ks))
				for _, k := range ks {
					t = append(t, ecs.TagResourcesTag{Key: k, Value: tags[k]})
				}
				req.Tag = &t
				return req, ecs.CreateTagResourcesResponse()
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// UntagGroups removes tag keys from groups, 50 groups and 20 keys per
// request. Removing a key a group does not carry is not an error.
func (c *Client) UntagGroups(ctx context.Context, regionID string, groupIDs []string, keys []string) error {
	region := c.region(regionID)
	keys = domain.SortedUnique(keys)
	for _, ids := range chunks(domain.SortedUnique(groupIDs), tagIDBatch) {
		for _, ks := range chunks(keys, tagBatch) {
			op := fmt.Sprintf("ecs UntagResources %s on %s", strings.Join(ks, ","), shortList(ids))
			_, err := call(ctx, c, op, func() (requests.AcsRequest, *ecs.UntagResourcesResponse) {
				req := ecs.CreateUntagResourcesRequest()
				req.RegionId = region
				req.ResourceType = "securitygroup"
				rid := append([]string(nil), ids...)
				req.ResourceId = &rid
				k := append([]string(nil), ks...)
				req.TagKey = &k
				return req, ecs.CreateUntagResourcesResponse()
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// GroupReferences maps each queried group that other groups' rules name to
// those other groups (sorted; a group naming itself is left out; groups
// nobody references are absent). Ten groups are asked per request; when a
// batch fails as not found, its groups are asked one by one and the missing
// ones dropped (a deleted group is referenced by nothing).
func (c *Client) GroupReferences(ctx context.Context, regionID string, groupIDs []string) (map[string][]string, error) {
	refs, err := c.GroupReferrers(ctx, regionID, groupIDs)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]string, len(refs))
	for g, rs := range refs {
		for _, r := range rs {
			out[g] = append(out[g], r.GroupID)
		}
	}
	return out, nil
}

// GroupReferrers is GroupReferences with the account of each referencing
// group (AliUid; a rule may name a group of another account), sorted by
// group ID. Same calls.
func (c *Client) GroupReferrers(ctx context.Context, regionID string, groupIDs []string) (map[string][]domain.Referrer, error) {
	region := c.region(regionID)
	out := map[string][]domain.Referrer{}
	for _, batch := range chunks(domain.SortedUnique(groupIDs), referencesBatch) {
		err := c.references(ctx, region, batch, out)
		if err != nil && domain.KindOf(err) == domain.KindNotFound && len(batch) > 1 {
			for _, id := range batch {
				err = c.references(ctx, region, []string{id}, out)
				if err != nil && domain.KindOf(err) != domain.KindNotFound {
					return nil, err
				}
			}
			err = nil
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (c *Client) references(ctx context.Context, region string, batch []string, out map[string][]domain.Referrer) error {
	op := fmt.Sprintf("ecs DescribeSecurityGroupReferences %s", shortList(batch))
	resp, err := call(ctx, c, op, func() (requests.AcsRequest, *ecs.DescribeSecurityGroupReferencesResponse) {
		req := ecs.CreateDescribeSecurityGroupReferencesRequest()
		req.RegionId = region
		ids := append([]string(nil), batch...)
		req.SecurityGroupId = &ids
		return req, ecs.CreateDescribeSecurityGroupReferencesResponse()
	})
	if err != nil {
		return err
	}
	for _, ref := range resp.SecurityGroupReferences.SecurityGroupReference {
		seen := map[string]bool{}
		for _, r := range out[ref.SecurityGroupId] {
			seen[r.GroupID] = true
		}
		for _, r := range ref.ReferencingSecurityGroups.ReferencingSecurityGroup {
			if r.SecurityGroupId != ref.SecurityGroupId && r.SecurityGroupId != "" && !seen[r.SecurityGroupId] {
				seen[r.SecurityGroupId] = true
				out[ref.SecurityGroupId] = append(out[ref.SecurityGroupId], domain.Referrer{GroupID: r.SecurityGroupId, AccountID: r.AliUid})
			}
		}
		rs := out[ref.SecurityGroupId]
		sort.Slice(rs, func(i, j int) bool { return rs[i].GroupID < rs[j].GroupID })
	}
	return nil
}

// DeleteGroup deletes a security group. In use → wraps domain.ErrInUse
// (KindConflict, the provider's message says by what); protected or managed
// by a cloud service → domain.ErrDeletionProtected (KindPermanent); already
// gone → KindNotFound.
func (c *Client) DeleteGroup(ctx context.Context, regionID, groupID string) error {
	region := c.region(regionID)
	op := "ecs DeleteSecurityGroup " + groupID
	_, err := call(ctx, c, op, func() (requests.AcsRequest, *ecs.DeleteSecurityGroupResponse) {
		req := ecs.CreateDeleteSecurityGroupRequest()
		req.RegionId = region
		req.SecurityGroupId = groupID
		return req, ecs.CreateDeleteSecurityGroupResponse()
	})
	return err
}

func sortedKeys(tags domain.Tags) []string {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
