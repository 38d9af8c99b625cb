package ecsemu

import (
	"slices"
	"time"
)

// DeletedGroup records one DeleteSecurityGroup that ECS carried out, with
// what still named the group at that moment. ECS refuses the delete of a
// group that instances, ENIs or other groups' rules use; it does not look
// at launch templates, which keep naming a deleted group. Tests check
// sgpilot never deletes a group in use: InUseTemplates must stay empty.
type DeletedGroup struct {
	ID             string
	RegionID       string
	At             time.Time // emulated time
	InUseTemplates []string  // launch templates naming the group (any version)
}

// DeletedGroups returns every group deletion so far, oldest first.
func (s *Service) DeletedGroups() []DeletedGroup {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.w.deleted)
}

// recordDelete notes g's deletion (s.mu held).
func (w *world) recordDelete(g *group, at time.Time) {
	d := DeletedGroup{ID: g.ID, RegionID: g.RegionID, At: at}
	for _, id := range w.regions[g.RegionID].templates {
		if templateNames(w.templates[id], g.ID) {
			d.InUseTemplates = append(d.InUseTemplates, id)
		}
	}
	w.deleted = append(w.deleted, d)
}

func templateNames(t *template, groupID string) bool {
	if t == nil {
		return false
	}
	for _, v := range t.Versions {
		if v.SecurityGroupID == groupID || slices.Contains(v.SecurityGroupIDs, groupID) {
			return true
		}
		for _, n := range v.NetworkInterfaces {
			if n.SecurityGroupID == groupID || slices.Contains(n.SecurityGroupIDs, groupID) {
				return true
			}
		}
	}
	return false
}
