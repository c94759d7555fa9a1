package privilege_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/groundwork-go/groundwork/privilege"
)

func Example() {
	ctx := context.Background()
	store := privilege.NewMemoryStore()
	defer store.Close()

	// Senior Developer → Developer → Employee.
	_ = store.PutRole(ctx, privilege.Role{ID: "employee", Active: true})
	_ = store.PutRole(ctx, privilege.Role{ID: "developer", Parents: []string{"employee"}, Active: true})
	_ = store.PutRole(ctx, privilege.Role{ID: "senior", Parents: []string{"developer"}, Active: true})
	_ = store.PutPermission(ctx, "developer", privilege.Permission{Resource: "repos/*", Action: "push"})
	_ = store.Grant(ctx, "ann", "senior", time.Time{})

	// No pushes to release branches outside working hours.
	err := store.PutPolicy(ctx, privilege.Policy{
		ID: "release-hours", Priority: 10, Effect: privilege.Deny, Active: true,
		Target:    privilege.Target{Resources: []string{"repos/app/release/*"}, Actions: []string{"push"}},
		Condition: `env.hour < 9 || env.hour >= 17`,
	})
	fmt.Println("policy:", err)
	err = store.PutPolicy(ctx, privilege.Policy{ID: "typo", Effect: privilege.Deny, Active: true, Condition: `env.hour <`})
	fmt.Println("bad condition refused:", errors.Is(err, privilege.ErrBadCondition), strings.Contains(err.Error(), "line 1, column 11"))

	engine, _ := privilege.NewEngine(store)
	defer engine.Close()
	for _, hour := range []int{11, 20} {
		d, _ := engine.Check(ctx, privilege.Request{
			Subject: "ann", Resource: "repos/app/release/2.0", Action: "push",
			Env: map[string]any{"hour": hour},
		})
		fmt.Printf("%02d:00 allowed=%v: %s\n", hour, d.Allowed, d.Reason)
	}
	// Output:
	// policy: <nil>
	// bad condition refused: true true
	// 11:00 allowed=true: role "developer" (through "senior") permits "push" on "repos/*"
	// 20:00 allowed=false: denied by policy "release-hours" (priority 10)
}
