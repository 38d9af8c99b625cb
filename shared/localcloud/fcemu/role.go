package fcemu

import "github.com/sgpilot/sgpilot/shared/localcloud/core"

// credentials issues the temporary credentials FC hands an instance and
// each invocation: those of the function's role when it has one (the
// session is the function's name, so RAM's record is per function).
func (f *function) credentials() core.Credential {
	if f.spec.Role == "" {
		return f.em.env.Credentials.IssueSTS(f.em.opts.STSTTL)
	}
	return f.em.env.Credentials.IssueSTSForRole(f.spec.Role, f.spec.Name, f.em.opts.STSTTL)
}
