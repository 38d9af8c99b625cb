package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sgpilot/sgpilot/shared/core/cloudauth"
)

// Credential sources, in the order they are tried.
const (
	EnvAccessKeyID     = "ALIBABA_CLOUD_ACCESS_KEY_ID"
	EnvAccessKeySecret = "ALIBABA_CLOUD_ACCESS_KEY_SECRET"
	EnvSecurityToken   = "ALIBABA_CLOUD_SECURITY_TOKEN"
	// EnvProfile selects a profile of the aliyun CLI's file, as it does
	// for the aliyun CLI itself.
	EnvProfile = "ALIBABA_CLOUD_PROFILE"
	// EnvRegionID is the aliyun CLI's default region variable.
	EnvRegionID = "ALIBABA_CLOUD_REGION_ID"
)

// aliyunConfig is the part of the aliyun CLI's ~/.aliyun/config.json that
// sgpilot reads (aliyun-cli config/configuration.go and profile.go: the
// "current" profile's name and a list of profiles).
type aliyunConfig struct {
	Current  string          `json:"current"`
	Profiles []aliyunProfile `json:"profiles"`
}

type aliyunProfile struct {
	Name            string `json:"name"`
	Mode            string `json:"mode"`
	AccessKeyID     string `json:"access_key_id"`
	AccessKeySecret string `json:"access_key_secret"`
	StsToken        string `json:"sts_token"`
	RegionID        string `json:"region_id"`
}

// found is what credential resolution found: the credentials, where they
// came from (said to the user, never the keys) and the profile's region.
type found struct {
	creds  cloudauth.Credentials
	source string
	region string
}

// aliyunConfigPath is the aliyun CLI's profile file under home.
func aliyunConfigPath(home string) string { return filepath.Join(home, ".aliyun", "config.json") }

// resolveCredentials finds the credentials to call with:
//
//  1. --profile NAME: that profile of the aliyun CLI's file;
//  2. ALIBABA_CLOUD_ACCESS_KEY_ID and _SECRET (and _SECURITY_TOKEN);
//  3. the aliyun CLI's file: the ALIBABA_CLOUD_PROFILE profile, else its
//     current one.
//
// Profiles in AK and StsToken mode are read; other modes (RamRoleArn,
// EcsRamRole, OAuth, CloudSSO, ...) need an exchange sgpilot does not make,
// and are refused with a way out.
func resolveCredentials(profile string, getenv func(string) string, home string) (found, error) {
	if profile == "" {
		id, secret := getenv(EnvAccessKeyID), getenv(EnvAccessKeySecret)
		if id != "" && secret != "" {
			return found{creds: cloudauth.Credentials{AccessKeyID: id, AccessKeySecret: secret, SecurityToken: getenv(EnvSecurityToken)},
				source: "environment (" + EnvAccessKeyID + ")", region: getenv(EnvRegionID)}, nil
		}
		if id != "" || secret != "" {
			return found{}, fmt.Errorf("credentials: set both %s and %s, or neither", EnvAccessKeyID, EnvAccessKeySecret)
		}
		profile = getenv(EnvProfile)
	}
	path := aliyunConfigPath(home)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && profile == "" {
		return found{}, fmt.Errorf("no credentials: set %s and %s, or configure the aliyun CLI (aliyun configure), whose %s sgpilot reads",
			EnvAccessKeyID, EnvAccessKeySecret, path)
	}
	if err != nil {
		return found{}, fmt.Errorf("credentials: read the aliyun CLI's profiles: %w", err)
	}
	var cfg aliyunConfig
	if err := json.Unmarshal(b, &cfg); err != nil {
		return found{}, fmt.Errorf("credentials: %s is not the aliyun CLI's JSON: %v", path, err)
	}
	name := profile
	if name == "" {
		name = cfg.Current
	}
	if name == "" {
		name = "default"
	}
	var p *aliyunProfile
	for i := range cfg.Profiles {
		if cfg.Profiles[i].Name == name {
			p = &cfg.Profiles[i]
		}
	}
	if p == nil {
		names := make([]string, len(cfg.Profiles))
		for i, pr := range cfg.Profiles {
			names[i] = pr.Name
		}
		return found{}, fmt.Errorf("credentials: %s has no profile %q (profiles: %s)", path, name, strings.Join(names, ", "))
	}
	src := fmt.Sprintf("aliyun CLI profile %q (%s)", p.Name, p.Mode)
	switch strings.ToLower(p.Mode) {
	case "ak", "":
		if p.AccessKeyID == "" || p.AccessKeySecret == "" {
			return found{}, fmt.Errorf("credentials: profile %q has no AccessKey pair; run aliyun configure --profile %s", p.Name, p.Name)
		}
		return found{creds: cloudauth.Credentials{AccessKeyID: p.AccessKeyID, AccessKeySecret: p.AccessKeySecret}, source: src, region: p.RegionID}, nil
	case "ststoken":
		if p.AccessKeyID == "" || p.AccessKeySecret == "" || p.StsToken == "" {
			return found{}, fmt.Errorf("credentials: profile %q (StsToken) lacks its key pair or token; run aliyun configure --mode StsToken --profile %s", p.Name, p.Name)
		}
		return found{creds: cloudauth.Credentials{AccessKeyID: p.AccessKeyID, AccessKeySecret: p.AccessKeySecret, SecurityToken: p.StsToken},
			source: src, region: p.RegionID}, nil
	default:
		return found{}, fmt.Errorf("credentials: profile %q is in %s mode, which sgpilot does not read (AK and StsToken only); "+
			"get temporary credentials (for example aliyun sts AssumeRole) and set %s, %s and %s", p.Name, p.Mode,
			EnvAccessKeyID, EnvAccessKeySecret, EnvSecurityToken)
	}
}
