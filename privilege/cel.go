package privilege

import (
	"context"
	"fmt"
	"sync"

	"cel.dev/cel-go/cel"
)

// Limits on a condition, so that a policy document cannot make the parser
// or an evaluation arbitrarily expensive.
const (
	maxConditionLen  = 4096    // bytes of CEL source
	maxConditionCost = 100_000 // CEL's runtime cost units per evaluation
)

// celEnv is the one environment every condition compiles in: subject,
// resource and env are maps of attributes (subject.id and resource.id are
// the request's Subject and Resource), action is the request's Action.
var celEnv = sync.OnceValues(func() (*cel.Env, error) {
	attrs := cel.MapType(cel.StringType, cel.DynType)
	return cel.NewEnv(
		cel.Variable("subject", attrs),
		cel.Variable("resource", attrs),
		cel.Variable("action", cel.StringType),
		cel.Variable("env", attrs),
		cel.ParserRecursionLimit(100),
		cel.ParserExpressionSizeLimit(maxConditionLen),
	)
})

// compileCondition compiles and type-checks expr into a program; nil for
// an empty condition (always true).
func compileCondition(expr string) (cel.Program, error) {
	if expr == "" {
		return nil, nil
	}
	if len(expr) > maxConditionLen {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrBadCondition, len(expr), maxConditionLen)
	}
	env, err := celEnv()
	if err != nil {
		return nil, fmt.Errorf("privilege: CEL environment: %w", err)
	}
	ast, iss := env.Compile(expr)
	if iss != nil && iss.Err() != nil {
		if errs := iss.Errors(); len(errs) > 0 {
			e := errs[0]
			// Column is 0-based in CEL; people count from 1.
			return nil, &ConditionError{Line: e.Location.Line(), Column: e.Location.Column() + 1, Msg: e.Message}
		}
		return nil, fmt.Errorf("%w: %v", ErrBadCondition, iss.Err())
	}
	if t := ast.OutputType(); !t.IsExactType(cel.BoolType) && !t.IsExactType(cel.DynType) {
		return nil, fmt.Errorf("%w: the condition is of type %s, not bool", ErrBadCondition, t)
	}
	prg, err := env.Program(ast, cel.CostLimit(maxConditionCost), cel.InterruptCheckFrequency(100))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCondition, err)
	}
	return prg, nil
}

// evalCondition runs prg on req. It reports ok=false (indeterminate) with
// the reason when the condition fails at run time or is not a bool — a
// missing attribute, a wrong type, the cost limit. A panic inside CEL is
// an indeterminate too: bad attributes must never crash the caller.
func evalCondition(ctx context.Context, prg cel.Program, req *Request) (holds, ok bool, reason string) {
	if prg == nil {
		return true, true, ""
	}
	defer func() {
		if r := recover(); r != nil {
			holds, ok, reason = false, false, fmt.Sprintf("condition panicked: %v", r)
		}
	}()
	out, _, err := prg.ContextEval(ctx, map[string]any{
		"subject":  withID(req.SubjectAttrs, req.Subject),
		"resource": withID(req.ResourceAttrs, req.Resource),
		"action":   req.Action,
		"env":      orEmpty(req.Env),
	})
	if err != nil {
		return false, false, err.Error()
	}
	b, isBool := out.Value().(bool)
	if !isBool {
		return false, false, fmt.Sprintf("condition is %s, not bool", out.Type().TypeName())
	}
	return b, true, ""
}

// withID is attrs plus "id": id, copied so the caller's map is not touched.
func withID(attrs map[string]any, id string) map[string]any {
	m := make(map[string]any, len(attrs)+1)
	for k, v := range attrs {
		m[k] = v
	}
	m["id"] = id
	return m
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}
