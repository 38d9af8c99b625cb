// Package config turns the function's environment into a validated Config.
// Every knob has a named default and a range; an invalid value stops the
// function at start with a message naming the variable and what it accepts.
// Credentials are deliberately absent: they come from the FC invocation
// context (or the standard ALIBABA_CLOUD_* variables) at call time.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/core/rolepolicy"
)

// Environment variable names. README's configuration table lists them all.
const (
	EnvRegions             = "SGPILOT_REGIONS"
	EnvAccountID           = "SGPILOT_ACCOUNT_ID"
	EnvLogLevel            = "SGPILOT_LOG_LEVEL"
	EnvECSEndpoint         = "SGPILOT_ECS_ENDPOINT"
	EnvECSRateLimit        = "SGPILOT_ECS_RATE_LIMIT"
	EnvMNSEndpoint         = "SGPILOT_MNS_ENDPOINT"
	EnvMNSDialAddress      = "SGPILOT_MNS_DIAL_ADDRESS"
	EnvWorkQueue           = "SGPILOT_WORK_QUEUE"
	EnvDeadLetterQueue     = "SGPILOT_DEAD_LETTER_QUEUE"
	EnvFailedEventsQueue   = "SGPILOT_FAILED_EVENTS_QUEUE"
	EnvRoleTagKey          = "SGPILOT_ROLE_TAG_KEY"
	EnvGroupLimit          = "SGPILOT_GROUP_LIMIT"
	EnvCreateMissingGroups = "SGPILOT_CREATE_MISSING_GROUPS"
	EnvMaxDeliveries       = "SGPILOT_MAX_DELIVERIES"
	EnvRetryDelay          = "SGPILOT_RETRY_DELAY"
	EnvJoinConcurrency     = "SGPILOT_JOIN_CONCURRENCY"
	EnvScopeTagKey         = "SGPILOT_SCOPE_TAG_KEY"
	EnvScopeTagValue       = "SGPILOT_SCOPE_TAG_VALUE"
	EnvScopeNamePrefix     = "SGPILOT_SCOPE_NAME_PREFIX"
	EnvProtectTagKey       = "SGPILOT_PROTECT_TAG_KEY"
	EnvStaleTagKey         = "SGPILOT_STALE_TAG_KEY"
	EnvGracePeriod         = "SGPILOT_GRACE_PERIOD"
	EnvMinGroupAge         = "SGPILOT_MIN_GROUP_AGE"
	EnvMaxDeletions        = "SGPILOT_MAX_DELETIONS"
	EnvMaxDeletePercent    = "SGPILOT_MAX_DELETE_PERCENT"
	// Role policy (nightly-cleanup): the override file, the nightly converge
	// mode, the blast radius of revokes, and the nightly rule audit.
	EnvRolePolicyFile = rolepolicy.EnvPolicyFile
	EnvRolesMode      = "SGPILOT_ROLES_MODE"
	EnvMaxRuleRevokes = "SGPILOT_MAX_RULE_REVOKES"
	EnvNightlyAudit   = "SGPILOT_NIGHTLY_AUDIT"
	EnvCheckUsers     = "SGPILOT_CHECK_USERS"
	EnvRoleGroupIDs   = "SGPILOT_ROLE_GROUP_IDS"
	EnvNotReadyDelay  = "SGPILOT_NOT_READY_DELAY"
	EnvFanoutGroups   = "SGPILOT_FANOUT_GROUPS"
	// EnvRecheckTTL: how long the delete re-check's region-wide reads
	// (launch templates, Auto Scaling, ECI) serve later batches.
	EnvRecheckTTL = "SGPILOT_RECHECK_TTL"
	// EnvGroupCacheTTL: how long onboarding reuses a network's group
	// listing across batches.
	EnvGroupCacheTTL = "SGPILOT_GROUP_CACHE_TTL"
	// EnvFanoutInstances: role-tagged instances above which a backfill
	// goes on in reconcile-page tasks.
	EnvFanoutInstances = "SGPILOT_FANOUT_INSTANCES"
	// Notifications: the MNS topic run reports that need a person go to
	// ("" = off), and whether a quiet nightly run publishes a digest.
	EnvNotifyTopic  = "SGPILOT_NOTIFY_TOPIC"
	EnvNotifyDigest = "SGPILOT_NOTIFY_DIGEST"

	// Set by Function Compute itself.
	EnvFCRegion    = "FC_REGION"
	EnvFCAccountID = "FC_ACCOUNT_ID"
)

// Defaults.
const (
	DefaultLogLevel        = "info"
	DefaultWorkQueue       = "sgpilot-work"
	DefaultDeadLetterQueue = "sgpilot-dead-letter"
	// DefaultFailedEventsQueue is where the work-queue event stream and FC's
	// async failures leave what they gave up on; the queue-worker's
	// dead-letter tooling reads it.
	DefaultFailedEventsQueue = "sgpilot-failed-events"
	// DefaultECSRateLimit is a client-side ceiling per ECS action, calls per
	// second, so bulk work paces itself instead of drawing Throttling errors.
	// Alibaba does not publish per-action limits; 20/s is a cautious guess.
	DefaultECSRateLimit  = 20.0
	DefaultMaxDeliveries = 10
	// DefaultRetryDelay is the first retry's wait; the worker doubles it for
	// each further delivery (up to 5 minutes).
	DefaultRetryDelay      = 5 * time.Second
	DefaultJoinConcurrency = 8
	// DefaultNotReadyDelay is the safety-net retry of an instance still
	// starting: its Running event normally brings a task well before, and
	// each further delivery doubles it.
	DefaultNotReadyDelay = 60 * time.Second
	// MaxRoleGroupIDs bounds SGPILOT_ROLE_GROUP_IDS (FC environment
	// variables share a 4 KB budget).
	MaxRoleGroupIDs = 100
	// MaxGroupLimit is the highest per-instance quota Alibaba documents
	// (older docs: up to 16 after a quota increase; unconfirmed today).
	MaxGroupLimit = 16
	// DefaultCheckUsers: the users outside ECS that keep a group from
	// deletion, all on (docs/group-users.md).
	DefaultCheckUsers = "ess,eci"
	// DefaultRolesMode keeps the role policy out of the nightly run until an
	// operator turns it on: "plan" logs what it would change, "apply" makes
	// the role groups match the policy before each cleanup.
	DefaultRolesMode = RolesOff
	// DefaultMaxRuleRevokes: more revokes than this in one network and the
	// plan revokes nothing.
	DefaultMaxRuleRevokes = rolepolicy.DefaultMaxRevokes
	// DefaultNightlyAudit: the nightly run does not audit every group's rules
	// (one read per group) unless asked to.
	DefaultNightlyAudit = false
	// DefaultFanoutGroups: a region with more groups than this is cleaned
	// in parts on the work queue, each part at most this many groups; 0
	// never splits. Splitting costs reads (each extra part lists its network
	// and reads its instances again: about 29 % more reads per part at
	// 33,000 groups), so regions that fit one invocation stay whole. At
	// 50,000 groups a part makes about 2,000 reference reads, 100 s at 20
	// calls/s against queue-worker's 600 s, and holds about 75 MB (see
	// cleanup.BytesPerHeldGroup) of queue-worker's 256 MB.
	DefaultFanoutGroups = 50000
	// DefaultRecheckTTL: the delete re-check reads a region's launch
	// templates, scaling configurations and container groups at most once
	// a minute per worker instance (a group is stale for days before it is
	// deleted; ECS itself refuses a group with instances, ENIs or rules
	// naming it).
	DefaultRecheckTTL = time.Minute
	// DefaultGroupCacheTTL: onboarding lists a network's groups at most
	// every 30 s per worker instance (a burst's batches would list the same
	// networks every few seconds); refusals and unknown groups are checked
	// on a fresh listing (onboard.GroupCache).
	DefaultGroupCacheTTL = 30 * time.Second
	// MaxFanoutGroups bounds SGPILOT_FANOUT_GROUPS.
	MaxFanoutGroups = 1000000
	// DefaultFanoutInstances: a backfill reads at most this many instances
	// (100 pages, with their onboard tasks: well under a minute at the
	// default rate) before it hands the rest to a reconcile-page task; 0
	// never splits.
	DefaultFanoutInstances = 10000
	// MaxFanoutInstances bounds SGPILOT_FANOUT_INSTANCES.
	MaxFanoutInstances = 1000000
	// DefaultNotifyTopic: no topic, no notifications (run reports are
	// still logged and returned).
	DefaultNotifyTopic = ""
	// DefaultNotifyDigest: a quiet night publishes nothing.
	DefaultNotifyDigest = false
)

// Nightly role policy modes (SGPILOT_ROLES_MODE).
const (
	RolesOff   = "off"
	RolesPlan  = "plan"
	RolesApply = "apply"
)

// Config is everything the three functions read from the environment.
type Config struct {
	Regions   []string // regions to work in; default: the function's own region
	AccountID string   // events from other accounts are ignored; default: the function's account
	LogLevel  string

	ECSEndpoint  string  // host[:port] or URL override; "" = Alibaba's regional endpoint
	ECSRateLimit float64 // calls/s per ECS action, 0 = unlimited

	MNSEndpoint     string // http(s)://<account>.mns.<region>[-internal].aliyuncs.com
	MNSDialAddress  string // host:port to actually dial (localcloud only)
	WorkQueue       string
	DeadLetterQueue string
	// FailedEventsQueue is read (and replayed, purged) by the dead-letter
	// tooling only.
	FailedEventsQueue string

	RoleTagKey          string
	GroupLimit          int
	CreateMissingGroups bool
	MaxDeliveries       int
	RetryDelay          time.Duration
	JoinConcurrency     int
	// RoleGroupIDs, when set, are the only groups that may play roles (on
	// top of the scope, Cleanup.Scope).
	RoleGroupIDs []string
	// NotReadyDelay is the first retry of an instance still starting.
	NotReadyDelay time.Duration

	Cleanup domain.CleanupPolicy

	// RolePolicyFile is the role policy override ("" = the embedded default).
	RolePolicyFile string
	// RolesMode is what the nightly run does with the role policy: off, plan or apply.
	RolesMode      string
	MaxRuleRevokes int
	NightlyAudit   bool
	// FanoutGroups: groups above which a region is cleaned in parts, and
	// the size of a part; 0 never splits.
	FanoutGroups int
	// RecheckTTL: how long the delete re-check reuses its region-wide reads.
	RecheckTTL time.Duration
	// GroupCacheTTL: how long onboarding reuses a network's group listing
	// across batches (0 = lists for every batch).
	GroupCacheTTL time.Duration
	// FanoutInstances: instances a backfill part reads before it hands
	// the rest over; 0 never splits.
	FanoutInstances int
	// CheckUsers are the kinds of user outside ECS the cleanup reads
	// (SGPILOT_CHECK_USERS); the others are named "not checked" in plans.
	CheckUsers map[domain.OptionalUserKind]bool

	// NotifyTopic is the MNS topic (same account and endpoint as the
	// queues) for run reports that need a person; "" = off.
	NotifyTopic  string
	NotifyDigest bool
}

// RolesEnabled reports whether the role policy is in force (plan or apply):
// then its roles' groups are never stale for cleanup.
func (c Config) RolesEnabled() bool { return c.RolesMode != RolesOff }

// Load reads and validates the configuration. All problems are reported
// together, one per line.
func Load(getenv func(string) string) (Config, error) {
	p := parser{getenv: getenv}
	policy := domain.DefaultCleanupPolicy()
	c := Config{
		AccountID:         p.str(EnvAccountID, getenv(EnvFCAccountID)),
		LogLevel:          p.str(EnvLogLevel, DefaultLogLevel),
		ECSEndpoint:       p.str(EnvECSEndpoint, ""),
		ECSRateLimit:      p.float(EnvECSRateLimit, DefaultECSRateLimit, 0, 10000),
		MNSEndpoint:       p.str(EnvMNSEndpoint, ""),
		MNSDialAddress:    p.str(EnvMNSDialAddress, ""),
		WorkQueue:         p.str(EnvWorkQueue, DefaultWorkQueue),
		DeadLetterQueue:   p.str(EnvDeadLetterQueue, DefaultDeadLetterQueue),
		FailedEventsQueue: p.str(EnvFailedEventsQueue, DefaultFailedEventsQueue),

		RoleTagKey:          p.str(EnvRoleTagKey, domain.DefaultRoleTagKey),
		GroupLimit:          p.int(EnvGroupLimit, domain.DefaultGroupsPerInstance, 1, MaxGroupLimit),
		CreateMissingGroups: p.bool(EnvCreateMissingGroups, false),
		MaxDeliveries:       p.int(EnvMaxDeliveries, DefaultMaxDeliveries, 1, 1000),
		RetryDelay:          p.duration(EnvRetryDelay, DefaultRetryDelay, time.Second, 12*time.Hour),
		JoinConcurrency:     p.int(EnvJoinConcurrency, DefaultJoinConcurrency, 1, 64),

		RolePolicyFile: p.str(EnvRolePolicyFile, ""),
		RolesMode:      strings.ToLower(p.str(EnvRolesMode, DefaultRolesMode)),
		MaxRuleRevokes: p.int(EnvMaxRuleRevokes, DefaultMaxRuleRevokes, 1, 1000),
		NightlyAudit:   p.bool(EnvNightlyAudit, DefaultNightlyAudit),

		NotifyTopic:     p.str(EnvNotifyTopic, DefaultNotifyTopic),
		NotifyDigest:    p.bool(EnvNotifyDigest, DefaultNotifyDigest),
		NotReadyDelay:   p.duration(EnvNotReadyDelay, DefaultNotReadyDelay, time.Second, time.Hour),
		FanoutGroups:    p.int(EnvFanoutGroups, DefaultFanoutGroups, 0, MaxFanoutGroups),
		RecheckTTL:      p.duration(EnvRecheckTTL, DefaultRecheckTTL, 0, 10*time.Minute),
		GroupCacheTTL:   p.duration(EnvGroupCacheTTL, DefaultGroupCacheTTL, 0, 10*time.Minute),
		FanoutInstances: p.int(EnvFanoutInstances, DefaultFanoutInstances, 0, MaxFanoutInstances),
	}
	for _, id := range strings.Split(p.str(EnvRoleGroupIDs, ""), ",") {
		if id = strings.TrimSpace(id); id != "" {
			c.RoleGroupIDs = append(c.RoleGroupIDs, id)
		}
	}
	policy.Scope = domain.Scope{
		TagKey:     p.str(EnvScopeTagKey, policy.Scope.TagKey),
		TagValue:   p.str(EnvScopeTagValue, policy.Scope.TagValue),
		NamePrefix: p.str(EnvScopeNamePrefix, ""),
	}
	policy.ProtectTagKey = p.str(EnvProtectTagKey, policy.ProtectTagKey)
	policy.StaleTagKey = p.str(EnvStaleTagKey, policy.StaleTagKey)
	policy.GracePeriod = p.duration(EnvGracePeriod, policy.GracePeriod, time.Hour, 365*24*time.Hour)
	policy.MinGroupAge = p.duration(EnvMinGroupAge, policy.MinGroupAge, 0, 365*24*time.Hour)
	policy.MaxDeletions = p.int(EnvMaxDeletions, policy.MaxDeletions, 0, 10000)
	policy.MaxDeletePercent = p.float(EnvMaxDeletePercent, policy.MaxDeletePercent, 0, 100)
	c.Cleanup = policy
	c.CheckUsers = p.userKinds(EnvCheckUsers, DefaultCheckUsers)

	regions := p.str(EnvRegions, getenv(EnvFCRegion))
	for _, r := range strings.Split(regions, ",") {
		if r = strings.TrimSpace(r); r != "" {
			c.Regions = append(c.Regions, r)
		}
	}
	c.validate(&p)
	if len(p.problems) > 0 {
		return Config{}, errors.New("configuration: " + strings.Join(p.problems, "\n  "))
	}
	return c, nil
}

func (c *Config) validate(p *parser) {
	if len(c.Regions) == 0 {
		p.fail("%s: set it (comma-separated region IDs) or run on Function Compute, which sets %s", EnvRegions, EnvFCRegion)
	}
	for _, r := range c.Regions {
		if !domain.ValidRegionID(r) {
			p.fail("%s: %q is not a region ID like cn-hangzhou", EnvRegions, r)
		}
	}
	if c.AccountID == "" {
		p.fail("%s: set the expected Alibaba Cloud account ID (events from other accounts are ignored) or run on Function Compute, which sets %s", EnvAccountID, EnvFCAccountID)
	} else if !domain.ValidAccountID(c.AccountID) {
		p.fail("%s: %q is not an account ID (digits only)", EnvAccountID, c.AccountID)
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		p.fail("%s: %q, want debug, info, warn or error", EnvLogLevel, c.LogLevel)
	}
	if c.MNSEndpoint == "" {
		p.fail("%s: required, e.g. http://<account-id>.mns.<region>-internal.aliyuncs.com", EnvMNSEndpoint)
	} else if err := checkMNSEndpoint(c.MNSEndpoint); err != nil {
		p.fail("%s: %v", EnvMNSEndpoint, err)
	}
	if c.ECSEndpoint != "" && strings.ContainsAny(c.ECSEndpoint, " \t") {
		p.fail("%s: %q contains spaces", EnvECSEndpoint, c.ECSEndpoint)
	}
	for _, q := range []struct{ env, name string }{{EnvWorkQueue, c.WorkQueue}, {EnvDeadLetterQueue, c.DeadLetterQueue}, {EnvFailedEventsQueue, c.FailedEventsQueue}} {
		if !validQueueName(q.name) {
			p.fail("%s: %q, want 1-120 letters, digits or '-', starting with a letter or digit", q.env, q.name)
		}
	}
	if c.WorkQueue == c.DeadLetterQueue {
		p.fail("%s and %s must differ", EnvWorkQueue, EnvDeadLetterQueue)
	}
	if c.FailedEventsQueue == c.WorkQueue || c.FailedEventsQueue == c.DeadLetterQueue {
		p.fail("%s must differ from %s and %s", EnvFailedEventsQueue, EnvWorkQueue, EnvDeadLetterQueue)
	}
	for _, id := range c.RoleGroupIDs {
		if !domain.ValidGroupID(id) {
			p.fail("%s: %q is not a security group ID like sg-bp1abc...", EnvRoleGroupIDs, id)
		}
	}
	if len(c.RoleGroupIDs) > MaxRoleGroupIDs {
		p.fail("%s: %d IDs, at most %d", EnvRoleGroupIDs, len(c.RoleGroupIDs), MaxRoleGroupIDs)
	}
	if c.Cleanup.Scope.Empty() {
		p.fail("%s or %s: cleanup needs a scope; an empty scope would select nothing", EnvScopeTagKey, EnvScopeNamePrefix)
	}
	switch c.RolesMode {
	case RolesOff, RolesPlan, RolesApply:
	default:
		p.fail("%s: %q, want off, plan or apply", EnvRolesMode, c.RolesMode)
	}
	if c.RolePolicyFile != "" && !strings.HasPrefix(c.RolePolicyFile, "/") {
		p.fail("%s: %q, want an absolute path such as /code/roles.yaml (the function's code folder is /code)", EnvRolePolicyFile, c.RolePolicyFile)
	}
	if c.NotifyTopic != "" && !validQueueName(c.NotifyTopic) {
		p.fail("%s: %q, want 1-120 letters, digits or '-', starting with a letter or digit (or empty for no notifications)", EnvNotifyTopic, c.NotifyTopic)
	}
	if c.NotifyDigest && c.NotifyTopic == "" {
		p.fail("%s=true needs %s: the topic the digest goes to", EnvNotifyDigest, EnvNotifyTopic)
	}
	if c.RoleTagKey == "" || c.Cleanup.StaleTagKey == "" || c.Cleanup.ProtectTagKey == "" {
		p.fail("%s, %s and %s must not be empty", EnvRoleTagKey, EnvStaleTagKey, EnvProtectTagKey)
	}
}

// checkMNSEndpoint applies the SDK's own rule (exactly five dot-separated
// parts) up front, because the SDK panics on anything else.
func checkMNSEndpoint(endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", endpoint)
	}
	if n := len(strings.Split(endpoint, ".")); n != 5 {
		return fmt.Errorf("%q: the MNS SDK needs a host of the form <account-id>.mns.<region>.aliyuncs.com (5 dot-separated parts, found %d); to reach localcloud keep such a host and set %s", endpoint, n, EnvMNSDialAddress)
	}
	return nil
}

func validQueueName(s string) bool {
	if len(s) == 0 || len(s) > 120 {
		return false
	}
	for i, ch := range s {
		ok := ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || (ch == '-' && i > 0)
		if !ok {
			return false
		}
	}
	return true
}

// Redacted returns the configuration as log fields. It holds no secret
// (Config never does), but endpoints are shown without user info.
func (c Config) Redacted() map[string]any {
	return map[string]any{
		"regions": c.Regions, "account_id": c.AccountID, "log_level": c.LogLevel,
		"ecs_endpoint": stripUserInfo(c.ECSEndpoint), "ecs_rate_limit": c.ECSRateLimit,
		"mns_endpoint": stripUserInfo(c.MNSEndpoint), "mns_dial_address": c.MNSDialAddress,
		"work_queue": c.WorkQueue, "dead_letter_queue": c.DeadLetterQueue,
		"failed_events_queue": c.FailedEventsQueue,
		"role_tag_key":        c.RoleTagKey, "group_limit": c.GroupLimit, "create_missing_groups": c.CreateMissingGroups,
		"max_deliveries": c.MaxDeliveries, "retry_delay": c.RetryDelay.String(), "join_concurrency": c.JoinConcurrency,
		"role_group_ids": c.RoleGroupIDs, "not_ready_delay": c.NotReadyDelay.String(),
		"scope": c.Cleanup.Scope.String(), "protect_tag_key": c.Cleanup.ProtectTagKey, "stale_tag_key": c.Cleanup.StaleTagKey,
		"grace_period": c.Cleanup.GracePeriod.String(), "min_group_age": c.Cleanup.MinGroupAge.String(),
		"max_deletions": c.Cleanup.MaxDeletions, "max_delete_percent": c.Cleanup.MaxDeletePercent,
		"role_policy_file": c.RolePolicyFile, "roles_mode": c.RolesMode, "max_rule_revokes": c.MaxRuleRevokes,
		"nightly_audit": c.NightlyAudit, "fanout_groups": c.FanoutGroups, "recheck_ttl": c.RecheckTTL.String(), "group_cache_ttl": c.GroupCacheTTL.String(), "fanout_instances": c.FanoutInstances,
		"check_users":  c.CheckUsers,
		"notify_topic": c.NotifyTopic, "notify_digest": c.NotifyDigest,
	}
}

func stripUserInfo(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	u.User = nil
	return u.String()
}

type parser struct {
	getenv   func(string) string
	problems []string
}

func (p *parser) fail(format string, args ...any) {
	p.problems = append(p.problems, fmt.Sprintf(format, args...))
}

func (p *parser) str(name, def string) string {
	if v := strings.TrimSpace(p.getenv(name)); v != "" {
		return v
	}
	return def
}

// userKinds reads a comma-separated list of optional user kinds, or "none".
func (p *parser) userKinds(name, def string) map[domain.OptionalUserKind]bool {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		v = def
	}
	out := map[domain.OptionalUserKind]bool{}
	if strings.EqualFold(v, "none") {
		return out
	}
	known := map[domain.OptionalUserKind]bool{}
	var names []string
	for _, k := range domain.OptionalUserKinds {
		known[k] = true
		names = append(names, string(k))
	}
	for _, f := range strings.Split(v, ",") {
		k := domain.OptionalUserKind(strings.ToLower(strings.TrimSpace(f)))
		if !known[k] {
			p.fail("%s: %q is not a kind of user; want a comma-separated list of %s, or none", name, f, strings.Join(names, ", "))
			continue
		}
		out[k] = true
	}
	return out
}

func (p *parser) int(name string, def, lo, hi int) int {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		p.fail("%s: %q, want a whole number from %d to %d", name, v, lo, hi)
		return def
	}
	return n
}

func (p *parser) float(name string, def, lo, hi float64) float64 {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < lo || f > hi {
		p.fail("%s: %q, want a number from %g to %g", name, v, lo, hi)
		return def
	}
	return f
}

func (p *parser) bool(name string, def bool) bool {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		p.fail("%s: %q, want true or false", name, v)
		return def
	}
	return b
}

// duration accepts Go durations ("90s", "36h") and whole days ("7d").
func (p *parser) duration(name string, def, lo, hi time.Duration) time.Duration {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return def
	}
	var d time.Duration
	var err error
	if days, ok := strings.CutSuffix(v, "d"); ok {
		var n int
		n, err = strconv.Atoi(days)
		d = time.Duration(n) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(v)
	}
	if err != nil || d < lo || d > hi {
		p.fail("%s: %q, want a duration like 90s, 36h or 7d from %s to %s", name, v, lo, hi)
		return def
	}
	return d
}
