package ecsapi

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/sgpilot/sgpilot/shared/core/domain"
)

// ListNetworkInterfaces returns every ENI of the region (500 per page) with
// the groups it is in.
func (c *Client) ListNetworkInterfaces(ctx context.Context, regionID string) ([]domain.NetworkInterface, error) {
	region := c.region(regionID)
	op := "ecs DescribeNetworkInterfaces in " + region
	var out []domain.NetworkInterface
	token := ""
	for page := 1; ; page++ {
		resp, err := call(ctx, c, pageOp(op, page), func() (requests.AcsRequest, *ecs.DescribeNetworkInterfacesResponse) {
			req := ecs.CreateDescribeNetworkInterfacesRequest()
			req.RegionId = region
			req.MaxResults = requests.NewInteger(eniPageSize)
			req.NextToken = token
			return req, ecs.CreateDescribeNetworkInterfacesResponse()
		})
		if err != nil {
			return nil, err
		}
		for _, n := range resp.NetworkInterfaceSets.NetworkInterfaceSet {
			out = append(out, domain.NetworkInterface{
				ID:         n.NetworkInterfaceId,
				InstanceID: n.InstanceId,
				Type:       n.Type,
				VPCID:      n.VpcId,
				GroupIDs:   append([]string(nil), n.SecurityGroupIds.SecurityGroupId...),
			})
		}
		next, err := nextToken(op, page, token, resp.NextToken)
		if err != nil || next == "" {
			return out, err
		}
		token = next
	}
}

// LaunchTemplateGroups maps each group ID named by the default or the latest
// version of some launch template of the region (in the template's own
// SecurityGroupId(s) or in its network interfaces) to those templates' IDs,
// sorted. It reads DescribeLaunchTemplates page by page and checks that it
// got as many templates as the service counted.
//
// The listing is read on every call (it says which versions are the default
// and the latest now), but what a version names is read once (see
// TemplateVersionCache): ECS never edits a version, so only versions not
// seen before cost a DescribeLaunchTemplateVersions call. Without this, the
// pre-delete re-check of every batch of delete tasks re-read every template.
func (c *Client) LaunchTemplateGroups(ctx context.Context, regionID string) (map[string][]string, error) {
	region := c.region(regionID)
	templates, err := c.listTemplates(ctx, region)
	if err != nil {
		return nil, err
	}

	out := map[string][]string{}
	for _, t := range templates {
		versions := []int64{t.DefaultVersionNumber}
		if t.LatestVersionNumber != t.DefaultVersionNumber {
			versions = append(versions, t.LatestVersionNumber)
		}
		key := func(v int64) versionKey {
			return versionKey{endpoint: c.ep.scheme + "://" + c.ep.host, region: region, template: t.LaunchTemplateId, modified: t.ModifiedTime, version: v}
		}
		var missing []string
		for _, v := range versions {
			groups, ok := c.templates.get(key(v))
			if !ok {
				missing = append(missing, strconv.FormatInt(v, 10))
				continue
			}
			for _, g := range groups {
				out[g] = append(out[g], t.LaunchTemplateId)
			}
		}
		if len(missing) == 0 {
			continue
		}
		vop := fmt.Sprintf("ecs DescribeLaunchTemplateVersions %s versions %v", t.LaunchTemplateId, missing)
		resp, err := call(ctx, c, vop, func() (requests.AcsRequest, *ecs.DescribeLaunchTemplateVersionsResponse) {
			req := ecs.CreateDescribeLaunchTemplateVersionsRequest()
			req.RegionId = region
			req.LaunchTemplateId = t.LaunchTemplateId
			v := append([]string(nil), missing...)
			req.LaunchTemplateVersion = &v
			req.DetailFlag = requests.NewBoolean(true)
			return req, ecs.CreateDescribeLaunchTemplateVersionsResponse()
		})
		if err != nil {
			if domain.KindOf(err) == domain.KindNotFound {
				continue // deleted since it was listed: it names nothing now
			}
			return nil, err
		}
		for _, v := range resp.LaunchTemplateVersionSets.LaunchTemplateVersionSet {
			groups := templateGroups(v.LaunchTemplateData)
			if v.LaunchTemplateId == "" || v.LaunchTemplateId == t.LaunchTemplateId {
				c.templates.put(key(v.VersionNumber), groups)
			}
			for _, g := range groups {
				out[g] = append(out[g], t.LaunchTemplateId)
			}
		}
	}
	for g, ids := range out {
		out[g] = domain.SortedUnique(ids)
	}
	return out, nil
}

func templateGroups(d ecs.LaunchTemplateData) []string {
	var ids []string
	add := func(id string) {
		if id != "" {
			ids = append(ids, id)
		}
	}
	add(d.SecurityGroupId)
	for _, id := range d.SecurityGroupIds.SecurityGroupId {
		add(id)
	}
	for _, n := range d.NetworkInterfaces.NetworkInterface {
		add(n.SecurityGroupId)
		for _, id := range n.SecurityGroupIds.SecurityGroupId {
			add(id)
		}
	}
	return ids
}

// versionKey names one launch template version as seen through one
// endpoint. The template's ModifiedTime is part of it, so any change to the
// template (a new version, a new default, a deleted version) reads its
// versions afresh: the cache only ever saves reads of an unchanged template.
type versionKey struct {
	endpoint, region, template, modified string
	version                              int64
}

// TemplateVersionCache holds the groups each launch template version names.
// A Client makes its own unless Config.TemplateVersions shares one: a
// function process shares one across the clients it builds as its
// credentials rotate, so a warm instance reads each version once. Bounded:
// when full it starts over. Safe for concurrent use.
type TemplateVersionCache struct {
	mu sync.Mutex
	m  map[versionKey][]string
	// all is what TemplateGroups knows of every version (templateversions.go).
	all map[templateKey]*templateState
}

// NewTemplateVersionCache returns an empty cache.
func NewTemplateVersionCache() *TemplateVersionCache {
	return &TemplateVersionCache{m: map[versionKey][]string{}}
}

const versionCacheMax = 50000

func (c *TemplateVersionCache) get(k versionKey) ([]string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g, ok := c.m[k]
	return g, ok
}

func (c *TemplateVersionCache) put(k versionKey, groups []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= versionCacheMax {
		c.m = map[versionKey][]string{}
	}
	c.m[k] = append([]string(nil), groups...)
}
