package ecsapi

import (
	"context"
	"fmt"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/sgpilot/sgpilot/shared/core/domain"
)

// versionPage is the PageSize of DescribeLaunchTemplateVersions (its
// documented maximum, like DescribeLaunchTemplates').
const versionPage = 50

// TemplateVersionUse is one launch template version naming a group (see domain).
type TemplateVersionUse = domain.TemplateVersionUse

// TemplateGroups maps each security group named by ANY version of a launch
// template of the region to those versions, sorted by template and version.
//
// Cost: DescribeLaunchTemplates is read every time (ceil(templates/50)
// calls); versions are immutable, so DescribeLaunchTemplateVersions is
// called only for templates whose LatestVersionNumber or ModifiedTime
// changed since the cache last saw them:
//   - unchanged template: no call;
//   - LatestVersionNumber grew: the new versions only (MinVersion..
//     MaxVersion), one call per 50 of them;
//   - first sight, or changed otherwise (a version deleted, the default
//     moved): every version, one call per 50.
//
// A version deleted while the latest grew stays in the cache until the
// template next changes without growing: it only keeps a group, never
// frees one. A template deleted between the two reads names nothing.
// Errors are those of call; a partial answer is never returned.
func (c *Client) TemplateGroups(ctx context.Context, regionID string) (map[string][]TemplateVersionUse, error) {
	region := c.region(regionID)
	templates, err := c.listTemplates(ctx, region)
	if err != nil {
		return nil, err
	}
	out := map[string][]TemplateVersionUse{}
	for _, t := range templates {
		st, err := c.templateState(ctx, region, t)
		if err != nil {
			if domain.KindOf(err) == domain.KindNotFound {
				continue
			}
			return nil, err
		}
		for v, groups := range st.versions {
			use := TemplateVersionUse{TemplateID: t.LaunchTemplateId, TemplateName: t.LaunchTemplateName, Version: v,
				Default: v == t.DefaultVersionNumber, Latest: v == t.LatestVersionNumber}
			for _, g := range domain.SortedUnique(groups) {
				out[g] = append(out[g], use)
			}
		}
	}
	domain.SortTemplateUses(out)
	return out, nil
}

// listTemplates reads every launch template of the region and checks that
// it got as many as the service counted.
func (c *Client) listTemplates(ctx context.Context, region string) ([]ecs.LaunchTemplateSet, error) {
	op := "ecs DescribeLaunchTemplates in " + region
	return allPages(op, "launch templates", func(page int) ([]ecs.LaunchTemplateSet, int, error) {
		resp, err := call(ctx, c, pageOp(op, page), func() (requests.AcsRequest, *ecs.DescribeLaunchTemplatesResponse) {
			req := ecs.CreateDescribeLaunchTemplatesRequest()
			req.RegionId = region
			req.PageNumber = requests.NewInteger(page)
			req.PageSize = requests.NewInteger(templatePage)
			return req, ecs.CreateDescribeLaunchTemplatesResponse()
		})
		if err != nil {
			return nil, 0, err
		}
		return resp.LaunchTemplateSets.LaunchTemplateSet, resp.TotalCount, nil
	})
}

// templateKey names one launch template as seen through one endpoint.
type templateKey struct{ endpoint, region, template string }

// templateState is what one template's versions name, as of the listing
// that showed modified and latest. It is never changed once stored.
type templateState struct {
	modified string
	latest   int64
	versions map[int64][]string
}

func (c *Client) templateState(ctx context.Context, region string, t ecs.LaunchTemplateSet) (*templateState, error) {
	key := templateKey{endpoint: c.ep.scheme + "://" + c.ep.host, region: region, template: t.LaunchTemplateId}
	prev := c.templates.state(key)
	if prev != nil && prev.modified == t.ModifiedTime && prev.latest == t.LatestVersionNumber {
		return prev, nil
	}
	next := &templateState{modified: t.ModifiedTime, latest: t.LatestVersionNumber, versions: map[int64][]string{}}
	minV := int64(0)
	if prev != nil && t.LatestVersionNumber > prev.latest {
		for v, g := range prev.versions {
			next.versions[v] = g
		}
		minV = prev.latest + 1
	}
	read, err := c.readVersions(ctx, region, t.LaunchTemplateId, minV, t.LatestVersionNumber)
	if err != nil {
		return nil, err
	}
	for v, g := range read {
		next.versions[v] = g
	}
	c.templates.putState(key, next)
	return next, nil
}

// readVersions reads the versions of one template from minV to maxV (0 =
// unbounded) with their data, page by page.
func (c *Client) readVersions(ctx context.Context, region, templateID string, minV, maxV int64) (map[int64][]string, error) {
	op := fmt.Sprintf("ecs DescribeLaunchTemplateVersions %s in %s", templateID, region)
	if minV > 0 {
		op += fmt.Sprintf(" versions %d-%d", minV, maxV)
	}
	out := map[int64][]string{}
	seen, total := 0, -1
	for page := 1; total < 0 || seen < total; page++ {
		resp, err := call(ctx, c, pageOp(op, page), func() (requests.AcsRequest, *ecs.DescribeLaunchTemplateVersionsResponse) {
			req := ecs.CreateDescribeLaunchTemplateVersionsRequest()
			req.RegionId = region
			req.LaunchTemplateId = templateID
			req.DetailFlag = requests.NewBoolean(true)
			req.PageNumber = requests.NewInteger(page)
			req.PageSize = requests.NewInteger(versionPage)
			if minV > 0 {
				req.MinVersion = requests.NewInteger(int(minV))
				if maxV >= minV {
					req.MaxVersion = requests.NewInteger(int(maxV))
				}
			}
			return req, ecs.CreateDescribeLaunchTemplateVersionsResponse()
		})
		if err != nil {
			return nil, err
		}
		total = resp.TotalCount
		got := resp.LaunchTemplateVersionSets.LaunchTemplateVersionSet
		seen += len(got)
		for _, v := range got {
			if v.LaunchTemplateId != "" && v.LaunchTemplateId != templateID {
				continue
			}
			out[v.VersionNumber] = templateGroups(v.LaunchTemplateData)
		}
		if len(got) == 0 && seen < total {
			return nil, domain.Errorf(domain.KindInternal, pageOp(op, page), "",
				"listing stopped at %d of %d versions; refusing a truncated listing", seen, total)
		}
	}
	return out, nil
}

func (c *TemplateVersionCache) state(k templateKey) *templateState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.all[k]
}

func (c *TemplateVersionCache) putState(k templateKey, st *templateState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.all == nil || len(c.all) >= versionCacheMax {
		c.all = map[templateKey]*templateState{}
	}
	c.all[k] = st
}
