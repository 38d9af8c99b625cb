package harness

import (
	"strings"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
)

// NewSDK returns another ECS SDK client of this localcloud, for callers
// that want one client per goroutine (benchmark baselines).
func (c *Cloud) NewSDK() (*ecs.Client, error) {
	info := c.Info()
	client, err := ecs.NewClientWithAccessKey(info.RegionID, info.AccessKeyID, info.AccessKeySecret)
	if err != nil {
		return nil, err
	}
	client.Domain = strings.TrimPrefix(info.ECSEndpoint, "http://")
	return client, nil
}
