package ecsemu

import (
	"net/http"
	"strconv"
	"strings"
)

// taggable resolves ResourceType + ResourceId to the resource's tag list.
func (s *Service) taggable(c *call, resType, id string) (*tagList, *apiError) {
	notFound := newErr(http.StatusNotFound, "InvalidResourceId.NotFound",
		"The specified ResourceIds are not found in our records. (%s)", id)
	switch resType {
	case resInstance:
		if in := s.w.instances[id]; in != nil && in.RegionID == c.region {
			return &in.Tags, nil
		}
	case resGroup:
		if g := s.w.groups[id]; g != nil && g.RegionID == c.region {
			return &g.Tags, nil
		}
	case resENI:
		if ni := s.w.enis[id]; ni != nil && ni.RegionID == c.region {
			return &ni.Tags, nil
		}
	}
	return nil, notFound
}

func resourceType(p params) (string, *apiError) {
	t := strings.ToLower(p.str("ResourceType"))
	switch t {
	case "":
		return "", newErr(http.StatusNotFound, "MissingParameter.ResourceType",
			"The input parameter ResourceType that is mandatory for processing this request is not supplied.")
	case resInstance, resGroup, resENI:
		return t, nil
	}
	return "", newErr(http.StatusNotFound, "InvalidResourceType.NotFound",
		"The specified ResourceType is not supported: %q.", p.str("ResourceType"))
}

func resourceIDs(p params) ([]string, *apiError) {
	ids := p.indexed("ResourceId")
	if len(ids) > 50 {
		return nil, newErr(http.StatusBadRequest, "NumberExceed.ResourceIds", "The maximum number of ResourceIds is 50.")
	}
	return ids, nil
}

func (s *Service) tagResources(c *call) (any, *apiError) {
	typ, e := resourceType(c.p)
	if e != nil {
		return nil, e
	}
	ids, e := resourceIDs(c.p)
	if e != nil {
		return nil, e
	}
	if len(ids) == 0 {
		return nil, errMissing("ResourceId")
	}
	tags, e := c.p.tagsToSet("Tag", true)
	if e != nil {
		return nil, e
	}
	lists := make([]*tagList, len(ids))
	for i, id := range ids {
		if lists[i], e = s.taggable(c, typ, id); e != nil {
			return nil, e
		}
		n := len(*lists[i])
		for _, t := range tags {
			if _, ok := lists[i].get(t.Key); !ok {
				n++
			}
		}
		if n > 20 {
			return nil, newErr(http.StatusBadRequest, "OperationDenied.QuotaExceed",
				"The number of tags on resource %s would exceed 20.", id)
		}
	}
	for i, id := range ids {
		s.w.setTags(c.region, typ, id, lists[i], tags)
	}
	return s.tagTrail(c, typ, okResponse(c)), nil
}

func (s *Service) untagResources(c *call) (any, *apiError) {
	typ, e := resourceType(c.p)
	if e != nil {
		return nil, e
	}
	ids, e := resourceIDs(c.p)
	if e != nil {
		return nil, e
	}
	if len(ids) == 0 {
		return nil, errMissing("ResourceId")
	}
	all, e := c.p.boolean("All", false)
	if e != nil {
		return nil, e
	}
	keys := c.p.indexed("TagKey")
	if len(keys) > 20 {
		return nil, newErr(http.StatusBadRequest, "NumberExceed.Tags", "The maximum number of tags is 20.")
	}
	lists := make([]*tagList, len(ids))
	for i, id := range ids {
		if lists[i], e = s.taggable(c, typ, id); e != nil {
			return nil, e
		}
	}
	for i, id := range ids {
		s.w.unsetTags(c.region, typ, id, lists[i], keys, all)
	}
	return s.tagTrail(c, typ, okResponse(c)), nil
}

type tagResourceOut struct {
	ResourceID   string `json:"ResourceId"`
	ResourceType string `json:"ResourceType"`
	TagKey       string `json:"TagKey"`
	TagValue     string `json:"TagValue"`
}

type listTagResourcesOut struct {
	RequestID    string `json:"RequestId"`
	NextToken    string `json:"NextToken"`
	TagResources struct {
		TagResource []tagResourceOut `json:"TagResource"`
	} `json:"TagResources"`
}

// listTagResources returns one row per (resource, tag) in resource-ID then
// tag order, TagPageSize rows a page. The token is "<last resource>|<tag index>".
func (s *Service) listTagResources(c *call) (any, *apiError) {
	p := c.p
	typ, e := resourceType(p)
	if e != nil {
		return nil, e
	}
	ids, e := resourceIDs(p)
	if e != nil {
		return nil, e
	}
	filters, e := p.tagFilters("Tag")
	if e != nil {
		return nil, e
	}
	type fuzzy struct {
		key    string
		values []string
	}
	var fuzz []fuzzy
	for _, m := range p.structs("TagFilter") {
		f := fuzzy{key: m["TagKey"]}
		for k, v := range m {
			if strings.HasPrefix(k, "TagValues.") {
				f.values = append(f.values, v)
			}
		}
		if f.key == "" {
			return nil, errMissing("TagFilter.N.TagKey")
		}
		fuzz = append(fuzz, f)
	}
	if len(fuzz) > 0 && len(filters) > 0 {
		return nil, newErr(http.StatusBadRequest, "InvalidParameter.TagFilter", "Tag and TagFilter cannot be used together.")
	}
	if len(ids) == 0 && len(filters) == 0 && len(fuzz) == 0 {
		return nil, errMissing("ResourceId")
	}
	startID, startTag := "", 0
	if tok := p.str("NextToken"); tok != "" {
		v, ok := decodeToken(tok)
		id, idx, found := strings.Cut(v, "|")
		n, err := strconv.Atoi(idx)
		if !ok || !found || err != nil || n < 0 {
			return nil, errBadNextToken(tok)
		}
		startID, startTag = id, n
	}
	var cands []string
	switch {
	case len(ids) > 0:
		cands = sortedUnique(ids)
	case len(filters) > 0:
		cands = s.w.tagged(c.region, typ, filters[0])
	default:
		cands = s.w.tagged(c.region, typ, tagFilter{Key: fuzz[0].key, KeyOnly: true})
	}
	fuzzyMatch := func(tags tagList) bool {
		for _, f := range fuzz {
			v, ok := tags.get(f.key)
			if !ok {
				return false
			}
			if len(f.values) == 0 {
				continue
			}
			hit := false
			for _, want := range f.values {
				if strings.HasSuffix(want, "*") && strings.HasPrefix(v, strings.TrimSuffix(want, "*")) || v == want {
					hit = true
				}
			}
			if !hit {
				return false
			}
		}
		return true
	}
	out := &listTagResourcesOut{RequestID: c.requestID}
	rows := make([]tagResourceOut, 0, TagPageSize)
	i := 0
	if startID != "" {
		i = sortSearch(cands, startID)
	}
	for ; i < len(cands); i++ {
		id := cands[i]
		tags, e := s.taggable(c, typ, id)
		if e != nil {
			continue // unknown ids are simply absent
		}
		if !matchTags(*tags, filters) || !fuzzyMatch(*tags) {
			continue
		}
		from := 0
		if id == startID {
			from = startTag
		}
		for j := from; j < len(*tags); j++ {
			if len(rows) == TagPageSize {
				out.NextToken = encodeToken(id + "|" + strconv.Itoa(j))
				out.TagResources.TagResource = rows
				return out, nil
			}
			t := (*tags)[j]
			rows = append(rows, tagResourceOut{ResourceID: id, ResourceType: typ, TagKey: t.Key, TagValue: t.Value})
		}
	}
	out.TagResources.TagResource = rows
	return out, nil
}

// sortSearch returns the index of the first element ≥ id.
func sortSearch(s []string, id string) int {
	lo, hi := 0, len(s)
	for lo < hi {
		m := (lo + hi) / 2
		if s[m] < id {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// tagTrail records the ActionTrail event of a successful tag call on
// instances (§4.3: ActionTrail records every successful write; the emulator
// publishes those sgpilot listens to) and returns resp.
func (s *Service) tagTrail(c *call, typ string, resp any) any {
	if typ == resInstance {
		c.events = append(c.events, s.trailEvent(c, resp))
	}
	return resp
}
