package fake_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/sgpilot/sgpilot/shared/core/domain"
	"github.com/sgpilot/sgpilot/shared/testkit/fake"
)

func TestECS_FailNextThenWorks(t *testing.T) {
	e := fake.NewECS()
	g := e.AddGroup(domain.SecurityGroup{VPCID: "vpc-fake00000001"})
	in := e.AddInstance(domain.Instance{VPCID: "vpc-fake00000001"})
	throttled := domain.Errorf(domain.KindThrottled, "injected", "Throttling", "slow down")
	e.FailNext("JoinGroup", throttled).FailNext("JoinGroup", throttled)
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if err := e.JoinGroup(ctx, "", in, g); !errors.Is(err, domain.ErrThrottled) {
			t.Fatalf("call %d: err = %v, want the injected throttling", i, err)
		}
	}
	if err := e.JoinGroup(ctx, "", in, g); err != nil {
		t.Fatalf("third call: %v", err)
	}
	if got, _ := e.Instance(in); len(got.GroupIDs) != 1 || got.GroupIDs[0] != g {
		t.Errorf("groups = %v, want [%s]", got.GroupIDs, g)
	}
	if n := e.Calls("JoinGroup"); n != 3 {
		t.Errorf("Calls(JoinGroup) = %d, want 3", n)
	}
}

func TestECS_InterceptorSeesArgumentsAndMayChangeTheWorld(t *testing.T) {
	e := fake.NewECS()
	g := e.AddGroup(domain.SecurityGroup{VPCID: "vpc-fake00000001"})
	// Between the cleanup's check and its delete, an instance joins.
	e.SetInterceptor(func(ctx context.Context, method string, args []any) error {
		if method == "DeleteGroup" && args[1] == g {
			e.AddInstance(domain.Instance{VPCID: "vpc-fake00000001", GroupIDs: []string{g}})
		}
		return nil
	})
	err := e.DeleteGroup(context.Background(), "", g)
	if !errors.Is(err, domain.ErrInUse) || domain.CodeOf(err) != "DependencyViolation" {
		t.Fatalf("DeleteGroup = %v, want ErrInUse", err)
	}
}

func TestECS_ContextEnded(t *testing.T) {
	e := fake.NewECS()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := e.ListGroups(ctx, "", domain.GroupFilter{})
	if !errors.Is(err, context.Canceled) || domain.KindOf(err) != domain.KindCanceled {
		t.Fatalf("ListGroups on a cancelled context = %v", err)
	}
}

func TestECS_PerInstanceLimitAndStatus(t *testing.T) {
	e := fake.NewECS()
	vpc := "vpc-fake00000001"
	a, b := e.AddGroup(domain.SecurityGroup{VPCID: vpc}), e.AddGroup(domain.SecurityGroup{VPCID: vpc})
	in := e.AddInstance(domain.Instance{VPCID: vpc, GroupIDs: []string{a}, Status: domain.StatusStarting})
	e.SetGroupLimit(in, 1)
	ctx := context.Background()
	if err := e.JoinGroup(ctx, "", in, b); !errors.Is(err, domain.ErrInstanceNotReady) {
		t.Fatalf("join while Starting = %v, want ErrInstanceNotReady", err)
	}
	e.SetStatus(in, domain.StatusRunning)
	if err := e.JoinGroup(ctx, "", in, b); !errors.Is(err, domain.ErrGroupLimit) {
		t.Fatalf("join over a limit of 1 = %v, want ErrGroupLimit", err)
	}
	enterprise := e.AddGroup(domain.SecurityGroup{VPCID: vpc, Type: "enterprise"})
	e.SetGroupLimit(in, 5)
	if err := e.JoinGroup(ctx, "", in, enterprise); domain.CodeOf(err) != "InvalidOperation.MultiGroupType" {
		t.Fatalf("mixing group types = %v", err)
	}
}

func TestECS_BuilderPanicsOnImpossibleScene(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("AddInstance into an unknown group did not panic")
		}
	}()
	fake.NewECS().AddInstance(domain.Instance{GroupIDs: []string{"sg-nosuchgroup01"}})
}

func TestECS_ConcurrentJoins(t *testing.T) {
	e := fake.NewECS()
	vpc := "vpc-fake00000001"
	var groups []string
	for i := 0; i < 4; i++ {
		groups = append(groups, e.AddGroup(domain.SecurityGroup{VPCID: vpc}))
	}
	in := e.AddInstance(domain.Instance{VPCID: vpc})
	var wg sync.WaitGroup
	for _, g := range groups {
		for j := 0; j < 3; j++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := e.JoinGroup(context.Background(), "", in, g); err != nil && !errors.Is(err, domain.ErrAlreadyMember) {
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	if got, _ := e.Instance(in); len(got.GroupIDs) != 4 {
		t.Errorf("instance in %d groups, want 4", len(got.GroupIDs))
	}
	if n := e.CallCounts()["JoinGroup"]; n != 12 {
		t.Errorf("JoinGroup calls = %d, want 12", n)
	}
}
