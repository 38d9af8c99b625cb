package ecsemu

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
)

// params is the flattened parameter set of one call (query and form merged,
// first value wins).
type params map[string]string

func (p params) str(name string) string { return p[name] }

func (p params) has(name string) bool {
	_, ok := p[name]
	return ok
}

// boolean parses a requests.Boolean ("true"/"false"); absent means def.
func (p params) boolean(name string, def bool) (bool, *apiError) {
	v, ok := p[name]
	if !ok || v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, errInvalidParam(name, v)
	}
	return b, nil
}

// integer parses an integer parameter; absent means def.
func (p params) integer(name string, def int) (int, *apiError) {
	v, ok := p[name]
	if !ok || v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, errInvalidParam(name, v)
	}
	return n, nil
}

// indexed returns the values of Name.1, Name.2, ... in index order (gaps allowed).
func (p params) indexed(name string) []string {
	prefix := name + "."
	type iv struct {
		i int
		v string
	}
	var out []iv
	for k, v := range p {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		n, err := strconv.Atoi(k[len(prefix):])
		if err != nil || n < 1 {
			continue
		}
		out = append(out, iv{n, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].i < out[j].i })
	vals := make([]string, len(out))
	for i, x := range out {
		vals[i] = x.v
	}
	return vals
}

// structs returns Name.N.Field values grouped by N, in index order.
func (p params) structs(name string) []map[string]string {
	prefix := name + "."
	byIdx := map[int]map[string]string{}
	for k, v := range p {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		rest := k[len(prefix):]
		dot := strings.IndexByte(rest, '.')
		if dot <= 0 {
			continue
		}
		n, err := strconv.Atoi(rest[:dot])
		if err != nil || n < 1 {
			continue
		}
		m := byIdx[n]
		if m == nil {
			m = map[string]string{}
			byIdx[n] = m
		}
		m[rest[dot+1:]] = v
	}
	idx := make([]int, 0, len(byIdx))
	for n := range byIdx {
		idx = append(idx, n)
	}
	sort.Ints(idx)
	out := make([]map[string]string, len(idx))
	for i, n := range idx {
		out[i] = byIdx[n]
	}
	return out
}

// jsonIDs decodes a JSON-array-in-a-string parameter (InstanceIds,
// SecurityGroupIds of the Describe calls). present is false when absent.
func (p params) jsonIDs(name string, max int) (ids []string, present bool, e *apiError) {
	v, ok := p[name]
	if !ok || v == "" {
		return nil, false, nil
	}
	if err := json.Unmarshal([]byte(v), &ids); err != nil {
		return nil, true, errInvalidParamCode("Invalid"+name+".Malformed", name, v)
	}
	if len(ids) > max {
		return nil, true, newErr(400, "Invalid"+name+".ValueNotSupported",
			"The specified parameter %s holds more than %d ids.", name, max)
	}
	return ids, true, nil
}

// tagFilter is one Tag.N filter of a Describe call.
type tagFilter struct {
	Key, Value string
	KeyOnly    bool
}

// tagFilters parses Tag.N.Key/Value filters (N ≤ 20, Value needs Key).
func (p params) tagFilters(name string) ([]tagFilter, *apiError) {
	raw := p.structs(name)
	if len(raw) > 20 {
		return nil, newErr(400, "InvalidTagCount", "The number of tags exceeds 20.")
	}
	var out []tagFilter
	for _, m := range raw {
		k, v := m["Key"], m["Value"]
		_, hasV := m["Value"]
		if k == "" {
			if v != "" {
				return nil, newErr(400, "InvalidTag.Mismatch", "The specified Tag.n.Key and Tag.n.Value are not match.")
			}
			continue
		}
		out = append(out, tagFilter{Key: k, Value: v, KeyOnly: !hasV || v == ""})
	}
	return out, nil
}

// tagsToSet parses Tag.N.Key/Value to set on a resource (TagResources,
// CreateSecurityGroup, RunInstances, CreateNetworkInterface).
func (p params) tagsToSet(name string, required bool) (tagList, *apiError) {
	raw := p.structs(name)
	if len(raw) > 20 {
		return nil, newErr(400, "NumberExceed.Tags", "The maximum number of tags is 20.")
	}
	var out tagList
	seen := map[string]bool{}
	for _, m := range raw {
		k, v := m["Key"], m["Value"]
		if k == "" {
			if v != "" {
				return nil, newErr(400, "InvalidTag.Mismatch", "The specified Tag.n.Key and Tag.n.Value are not match.")
			}
			continue
		}
		if e := validateTag(k, v); e != nil {
			return nil, e
		}
		if seen[k] {
			return nil, newErr(400, "Duplicate.TagKey", "The Tag.N.Key contains duplicate key %q.", k)
		}
		seen[k] = true
		out = append(out, tag{k, v})
	}
	if required && len(out) == 0 {
		return nil, newErr(400, "MissingParameter.Tags", "The input parameter Tag is mandatory.")
	}
	return out, nil
}

func validateTag(k, v string) *apiError {
	lk := strings.ToLower(k)
	if len(k) > 128 || strings.HasPrefix(lk, "aliyun") || strings.HasPrefix(lk, "acs:") ||
		strings.Contains(lk, "http://") || strings.Contains(lk, "https://") {
		return newErr(400, "InvalidTagKey.Malformed", "The specified Tag.n.Key is not valid: %q.", k)
	}
	lv := strings.ToLower(v)
	if len(v) > 128 || strings.Contains(lv, "http://") || strings.Contains(lv, "https://") {
		return newErr(400, "InvalidTagValue.Malformed", "The specified Tag.n.Value is not valid: %q.", v)
	}
	return nil
}

func matchTags(tags tagList, filters []tagFilter) bool {
	for _, f := range filters {
		v, ok := tags.get(f.Key)
		if !ok || (!f.KeyOnly && v != f.Value) {
			return false
		}
	}
	return true
}

// paging is the resolved paging request of a Describe call.
type paging struct {
	tokenMode bool
	after     string // list starts after this ID (token mode)
	page      int    // 1-based (page mode)
	size      int
}

// pageLimits are one action's documented paging bounds.
type pageLimits struct {
	maxResultsMin, maxResultsMax, maxResultsDef int
	pageSizeMax, pageSizeDef                    int
}

func (p params) paging(l pageLimits) (paging, *apiError) {
	tok := p.str("NextToken")
	if tok != "" || p.has("MaxResults") {
		n, e := p.integer("MaxResults", l.maxResultsDef)
		if e != nil {
			return paging{}, e
		}
		if n < l.maxResultsMin || n > l.maxResultsMax {
			return paging{}, newErr(400, codeBadPaging, "The specified parameter MaxResults must be between %d and %d, got %d.",
				l.maxResultsMin, l.maxResultsMax, n)
		}
		pg := paging{tokenMode: true, size: n}
		if tok != "" {
			after, ok := decodeToken(tok)
			if !ok {
				return paging{}, errBadNextToken(tok)
			}
			pg.after = after
		}
		return pg, nil
	}
	page, e := p.integer("PageNumber", 1)
	if e != nil {
		return paging{}, e
	}
	size, e := p.integer("PageSize", l.pageSizeDef)
	if e != nil {
		return paging{}, e
	}
	if page < 1 {
		return paging{}, newErr(400, codeBadPaging, "The specified parameter PageNumber must be at least 1, got %d.", page)
	}
	if size < 1 || size > l.pageSizeMax {
		return paging{}, newErr(400, codeBadPaging, "The specified parameter PageSize must be between 1 and %d, got %d.",
			l.pageSizeMax, size)
	}
	return paging{page: page, size: size}, nil
}

const tokenPrefix = "lc1."

func encodeToken(lastID string) string { return tokenPrefix + lastID }

func decodeToken(tok string) (string, bool) {
	if !strings.HasPrefix(tok, tokenPrefix) || len(tok) == len(tokenPrefix) {
		return "", false
	}
	return tok[len(tokenPrefix):], true
}

// pageResult is one page of IDs plus what the response reports.
type pageResult struct {
	ids        []string
	next       string
	total      int
	pageNumber int
	pageSize   int
}

// pageIDs pages over the sorted candidates, keeping those match accepts.
// In token mode it touches only the page (plus what match rejects); in page
// mode it counts every match for TotalCount.
func pageIDs(cands []string, pg paging, match func(id string) bool) pageResult {
	res := pageResult{pageSize: pg.size, pageNumber: pg.page}
	if pg.tokenMode {
		res.pageNumber = 0
		start := 0
		if pg.after != "" {
			start = idSet(cands).after(pg.after)
		}
		for i := start; i < len(cands); i++ {
			if !match(cands[i]) {
				continue
			}
			if len(res.ids) == pg.size {
				res.next = encodeToken(res.ids[len(res.ids)-1])
				break
			}
			res.ids = append(res.ids, cands[i])
		}
		return res
	}
	skip := (pg.page - 1) * pg.size
	for _, id := range cands {
		if !match(id) {
			continue
		}
		res.total++
		if res.total <= skip {
			continue
		}
		if len(res.ids) < pg.size {
			res.ids = append(res.ids, id)
		} else if res.next == "" && nextTokenInPageMode {
			res.next = encodeToken(res.ids[len(res.ids)-1])
		}
	}
	return res
}

// sortedUnique returns ids sorted without duplicates.
func sortedUnique(ids []string) []string {
	out := append([]string(nil), ids...)
	sort.Strings(out)
	j := 0
	for i, id := range out {
		if i == 0 || id != out[j-1] {
			out[j] = id
			j++
		}
	}
	return out[:j]
}

// validID reports whether id has the given prefix and a plausible body
// (lower-case letters, digits, '-' or '_', at most 64 characters in all).
func validID(id, prefix string) bool {
	if !strings.HasPrefix(id, prefix) || len(id) <= len(prefix) || len(id) > 64 {
		return false
	}
	for i := len(prefix); i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
