package ecsemu

import "time"

// The ECS API's own network reads, DescribeVpcs and DescribeVSwitches
// (version 2014-05-26, PageNumber/PageSize paging, at most 50 per page).
// Alibaba now documents these reads in the VPC API; the ECS SDK still has
// both, and the answers here follow its response structs. The emulator does
// not model VPC status changes: every VPC and vSwitch is Available.

var vpcPaging = pageLimits{pageSizeMax: 50, pageSizeDef: 10, maxResultsMin: 1, maxResultsMax: 50, maxResultsDef: 10}

type vpcOut struct {
	VpcID        string `json:"VpcId"`
	RegionID     string `json:"RegionId"`
	Status       string `json:"Status"`
	VpcName      string `json:"VpcName"`
	CidrBlock    string `json:"CidrBlock"`
	CreationTime string `json:"CreationTime"`
	IsDefault    bool   `json:"IsDefault"`
	VSwitchIds   struct {
		VSwitchID []string `json:"VSwitchId"`
	} `json:"VSwitchIds"`
	UserCidrs struct {
		UserCidr []string `json:"UserCidr"`
	} `json:"UserCidrs"`
}

type describeVpcsOut struct {
	RequestID  string `json:"RequestId"`
	TotalCount int    `json:"TotalCount"`
	PageNumber int    `json:"PageNumber"`
	PageSize   int    `json:"PageSize"`
	Vpcs       struct {
		Vpc []vpcOut `json:"Vpc"`
	} `json:"Vpcs"`
}

type vswitchOut struct {
	VSwitchID               string `json:"VSwitchId"`
	VpcID                   string `json:"VpcId"`
	ZoneID                  string `json:"ZoneId"`
	VSwitchName             string `json:"VSwitchName"`
	CidrBlock               string `json:"CidrBlock"`
	Status                  string `json:"Status"`
	CreationTime            string `json:"CreationTime"`
	AvailableIPAddressCount int64  `json:"AvailableIpAddressCount"`
}

type describeVSwitchesOut struct {
	RequestID  string `json:"RequestId"`
	TotalCount int    `json:"TotalCount"`
	PageNumber int    `json:"PageNumber"`
	PageSize   int    `json:"PageSize"`
	VSwitches  struct {
		VSwitch []vswitchOut `json:"VSwitch"`
	} `json:"VSwitches"`
}

// pageOnly refuses NextToken/MaxResults: these two reads page by number.
func pageOnly(c *call) (paging, *apiError) {
	pg, e := c.p.paging(vpcPaging)
	if e != nil {
		return paging{}, e
	}
	pg.tokenMode = false
	if pg.page == 0 {
		pg.page = 1
	}
	return pg, nil
}

func (s *Service) describeVpcs(c *call) (any, *apiError) {
	pg, e := pageOnly(c)
	if e != nil {
		return nil, e
	}
	rg := s.w.regions[c.region] // the dispatcher checked the region
	one := c.p.str("VpcId")
	res := pageIDs(rg.vpcs, pg, func(id string) bool { return one == "" || id == one })
	out := &describeVpcsOut{RequestID: c.requestID, TotalCount: res.total, PageNumber: res.pageNumber, PageSize: res.pageSize}
	out.Vpcs.Vpc = make([]vpcOut, 0, len(res.ids))
	for _, id := range res.ids {
		v := s.w.vpcs[id]
		o := vpcOut{VpcID: v.ID, RegionID: v.RegionID, Status: "Available", VpcName: v.Name, CidrBlock: v.CidrBlock,
			CreationTime: time.Time{}.Format(time.RFC3339)}
		o.VSwitchIds.VSwitchID = append([]string{}, v.vswitches...)
		o.UserCidrs.UserCidr = []string{}
		out.Vpcs.Vpc = append(out.Vpcs.Vpc, o)
	}
	return out, nil
}

func (s *Service) describeVSwitches(c *call) (any, *apiError) {
	pg, e := pageOnly(c)
	if e != nil {
		return nil, e
	}
	rg := s.w.regions[c.region] // the dispatcher checked the region
	vpcID, one, zone := c.p.str("VpcId"), c.p.str("VSwitchId"), c.p.str("ZoneId")
	var cands idSet
	for _, v := range rg.vpcs {
		if vpcID == "" || v == vpcID {
			for _, sw := range s.w.vpcs[v].vswitches {
				cands.add(sw)
			}
		}
	}
	res := pageIDs(cands, pg, func(id string) bool {
		sw := s.w.vswitches[id]
		return sw != nil && (one == "" || id == one) && (zone == "" || sw.ZoneID == zone)
	})
	out := &describeVSwitchesOut{RequestID: c.requestID, TotalCount: res.total, PageNumber: res.pageNumber, PageSize: res.pageSize}
	out.VSwitches.VSwitch = make([]vswitchOut, 0, len(res.ids))
	for _, id := range res.ids {
		sw := s.w.vswitches[id]
		out.VSwitches.VSwitch = append(out.VSwitches.VSwitch, vswitchOut{VSwitchID: sw.ID, VpcID: sw.VpcID, ZoneID: sw.ZoneID,
			VSwitchName: sw.Name, CidrBlock: sw.CidrBlock, Status: "Available", CreationTime: time.Time{}.Format(time.RFC3339),
			AvailableIPAddressCount: int64(sw.size) - int64(sw.next)})
	}
	return out, nil
}
