package resilience_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"testing"
)

// TestPolicyFieldsDocumented: the policies are struct types defined here,
// not aliases of a type go doc does not show, and every field carries a
// comment, which is where a user reads what it does and its default.
func TestPolicyFieldsDocumented(t *testing.T) {
	want := map[string]bool{"RetryPolicy": false, "BreakerPolicy": false}
	for _, name := range []string{"retry.go", "breaker.go"} {
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			if _, ok := want[ts.Name.Name]; !ok {
				return false
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok || ts.Assign.IsValid() {
				t.Errorf("%s is not a struct type defined here", ts.Name.Name)
				return false
			}
			want[ts.Name.Name] = true
			for _, field := range st.Fields.List {
				if field.Doc == nil || len(field.Doc.Text()) < 20 {
					t.Errorf("%s.%s has no doc comment", ts.Name.Name, field.Names[0].Name)
				}
			}
			return false
		})
	}
	for name, found := range want {
		if !found {
			t.Errorf("%s not found", name)
		}
	}
}
