package fake

import (
	"context"
	"strings"

	"github.com/sgpilot/sgpilot/shared/core/domain"
)

// fakeTokenPrefix marks the fake's NextToken: the last instance ID of the
// page before (instances are listed in ID order).
const fakeTokenPrefix = "fake-after:"

// ListInstancesPage returns up to size (1–100) of the region's instances
// matching f after token, in ID order, and the next page's token ("" on
// the last page), as ecsapi.Client.ListInstancesPage does.
func (e *ECS) ListInstancesPage(ctx context.Context, regionID string, f domain.InstanceFilter, token string, size int) ([]domain.Instance, string, error) {
	region := orDefault(regionID, DefaultRegion)
	op := "ecs DescribeInstances page in " + region
	if err := e.enter(ctx, "ListInstancesPage", op, regionID, f, token, size); err != nil {
		return nil, "", err
	}
	after, ok := strings.CutPrefix(token, fakeTokenPrefix)
	if token != "" && !ok {
		return nil, "", domain.Errorf(domain.KindInvalid, op, "InvalidParameter.NextToken", "next token %q was not issued here", token)
	}
	size = min(max(size, 1), 100)
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []domain.Instance
	for _, id := range sortedKeys(e.instances) {
		in := e.instances[id]
		if id <= after || in.RegionID != region || (f.VPCID != "" && in.VPCID != f.VPCID) {
			continue
		}
		if _, ok := in.Tags[f.TagKey]; f.TagKey != "" && !ok {
			continue
		}
		if len(out) == size {
			return out, fakeTokenPrefix + out[len(out)-1].ID, nil
		}
		out = append(out, copyInstance(in.Instance))
	}
	return out, "", nil
}
