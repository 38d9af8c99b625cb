package stack

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sgpilot/sgpilot/shared/localcloud/ecsemu"
)

// ECS is a minimal client of the emulated ECS RPC API, signed as the SDK
// signs (signature v1) with the account's test key. It is what a person
// with the console or the CLI would do, not sgpilot's code path, which is
// the real SDK inside the functions.
type ECS struct {
	endpoint, region, keyID, secret string
	http                            *http.Client
}

// ECSClient returns a client of this localcloud's ECS API.
func (s *Stack) ECSClient() *ECS {
	info := s.Info()
	return &ECS{endpoint: strings.TrimSuffix(info.ECSEndpoint, "/") + "/", region: info.RegionID,
		keyID: info.AccessKeyID, secret: info.AccessKeySecret, http: &http.Client{Timeout: 30 * time.Second}}
}

// Call runs one action with params and decodes the JSON answer into out
// (nil: discard). An API error comes back as an error naming the action and
// ECS's code. Throttling (localcloud's rate limits) is waited out, up to a
// minute, as the SDK's callers would.
func (c *ECS) Call(action string, params map[string]string, out any) error {
	deadline := time.Now().Add(time.Minute)
	for wait := 50 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		err := c.call(action, params, out)
		var te *throttledError
		if !errors.As(err, &te) || time.Now().Add(wait).After(deadline) {
			return err
		}
		time.Sleep(wait)
	}
}

// throttledError is an answer with a Throttling* code.
type throttledError struct{ msg string }

func (e *throttledError) Error() string { return e.msg }

func (c *ECS) call(action string, params map[string]string, out any) error {
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	v := url.Values{}
	for k, x := range map[string]string{
		"Action": action, "AccessKeyId": c.keyID, "Format": "JSON", "Version": "2014-05-26",
		"SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "SignatureNonce": hex.EncodeToString(nonce),
		"RegionId": c.region, "Timestamp": time.Now().UTC().Format("2006-01-02T15:04:05Z"),
	} {
		v.Set(k, x)
	}
	for k, x := range params {
		v.Set(k, x)
	}
	v.Set("Signature", ecsemu.Sign(c.secret, ecsemu.StringToSign(http.MethodPost, v)))
	resp, err := c.http.PostForm(c.endpoint, v)
	if err != nil {
		return fmt.Errorf("ecs %s: %w", action, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("ecs %s: read the answer: %w", action, err)
	}
	if resp.StatusCode >= 300 {
		var e struct{ Code, Message string }
		_ = json.Unmarshal(body, &e)
		err := fmt.Errorf("ecs %s: HTTP %d %s: %s", action, resp.StatusCode, e.Code, e.Message)
		if strings.HasPrefix(e.Code, "Throttling") {
			return &throttledError{err.Error()}
		}
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("ecs %s: decode the answer: %w", action, err)
	}
	return nil
}

// RunInstances creates n instances in vSwitch (or the classic network when
// vSwitch is ""), in baseGroup, tagged sgpilot:role=roles (no tag when
// roles is ""), 100 per call (RunInstances' Amount limit).
func (c *ECS) RunInstances(vSwitch, baseGroup, roles string, n int) ([]string, error) {
	var ids []string
	for n > 0 {
		batch := min(n, 100)
		p := map[string]string{
			"ImageId": "aliyun_3_x64_20G_alibase_20260101.vhd", "InstanceType": "ecs.g7.large",
			"SecurityGroupId": baseGroup, "Amount": strconv.Itoa(batch),
		}
		if vSwitch != "" {
			p["VSwitchId"] = vSwitch
		}
		if roles != "" {
			p["Tag.1.Key"], p["Tag.1.Value"] = RoleTagKey, roles
		}
		var out struct {
			InstanceIDSets struct {
				InstanceIDSet []string `json:"InstanceIdSet"`
			} `json:"InstanceIdSets"`
		}
		if err := c.Call("RunInstances", p, &out); err != nil {
			return ids, err
		}
		ids = append(ids, out.InstanceIDSets.InstanceIDSet...)
		n -= batch
	}
	return ids, nil
}

// TagGroups sets one tag on security groups (TagResources, 50 per call).
func (c *ECS) TagGroups(groupIDs []string, key, value string) error {
	for start := 0; start < len(groupIDs); start += 50 {
		p := map[string]string{"ResourceType": "securitygroup", "Tag.1.Key": key, "Tag.1.Value": value}
		for i, id := range groupIDs[start:min(start+50, len(groupIDs))] {
			p["ResourceId."+strconv.Itoa(i+1)] = id
		}
		if err := c.Call("TagResources", p, nil); err != nil {
			return err
		}
	}
	return nil
}

// DateLayout is the layout of date tags such as sgpilot:stale-since.
const DateLayout = "2006-01-02"

// BackdateTag moves the date-valued tag key of every security group back by
// days, through TagResources, as if each had been written that many days
// earlier: how a demo or a test shows "eight days later" while the functions
// keep the wall clock. Values that are not dates are left alone. It returns
// the groups it changed, by ID, with their new value.
func (s *Stack) BackdateTag(key string, days int) (map[string]string, error) {
	byValue := map[string][]string{}
	changed := map[string]string{}
	for id, tags := range s.GroupTags() {
		v, ok := tags[key]
		if !ok {
			continue
		}
		d, err := time.Parse(DateLayout, v)
		if err != nil {
			continue
		}
		nv := d.AddDate(0, 0, -days).Format(DateLayout)
		byValue[nv] = append(byValue[nv], id)
		changed[id] = nv
	}
	c := s.ECSClient()
	for v, ids := range byValue {
		if err := c.TagGroups(ids, key, v); err != nil {
			return nil, fmt.Errorf("backdate %s on %d groups: %w", key, len(ids), err)
		}
	}
	return changed, nil
}
