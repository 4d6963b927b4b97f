package store_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// queryArg is where the SQL text sits among the arguments of the database calls the code uses (sqlx,
// database/sql, pgx, and store.Get).
var queryArg = map[string]int{
	"ExecContext": 1, "QueryContext": 1, "QueryRowContext": 1, "QueryxContext": 1, "QueryRowxContext": 1,
	"GetContext": 2, "SelectContext": 2, "Exec": 1, "Query": 1, "QueryRow": 1,
	"NamedExecContext": 1, "PrepareContext": 1, "PreparexContext": 1,
}

var sqlWords = regexp.MustCompile(`\b(SELECT|INSERT|UPDATE|DELETE|WHERE|ORDER BY|GROUP BY|LIMIT|VALUES|FROM)\b`)

// TestNoSQLBuiltFromInput is the static check that no SQL is built from input: in the application's
// code, (1) no fmt formatting produces SQL text, and (2) the SQL argument of every database call is made of
// string literals, constants and local builders only: never a formatted string, and never a field of the
// caller's parameters (where user input arrives), which must travel as $n arguments. A justified exception
// carries a "sql-static:" comment on its line.
func TestNoSQLBuiltFromInput(t *testing.T) {
	t.Parallel()
	root := ".."
	fset := token.NewFileSet()
	var problems []string
	checked := 0
	for _, dir := range []string{"store", "handlers", "jobs", "migrations"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			// storetest is test support (it creates databases by name, quoted with pgx.Identifier).
			if err == nil && d.IsDir() && d.Name() == "storetest" {
				return filepath.SkipDir
			}
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || strings.HasSuffix(path, "_templ.go") {
				return err
			}
			file, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
			if err != nil {
				return err
			}
			justified := map[int]bool{}
			for _, cg := range file.Comments {
				for _, c := range cg.List {
					if strings.Contains(c.Text, "sql-static:") {
						justified[fset.Position(c.Pos()).Line] = true
					}
				}
			}
			report := func(n ast.Node, msg string) {
				pos := fset.Position(n.Pos())
				if !justified[pos.Line] {
					problems = append(problems, pos.String()+": "+msg)
				}
			}
			ast.Inspect(file, func(n ast.Node) bool {
				fn, ok := n.(*ast.FuncDecl)
				if !ok || fn.Body == nil {
					return true
				}
				params := map[string]bool{}
				for _, f := range fn.Type.Params.List {
					for _, name := range f.Names {
						params[name.Name] = true
					}
				}
				ast.Inspect(fn.Body, func(n ast.Node) bool {
					call, ok := n.(*ast.CallExpr)
					if !ok {
						return true
					}
					sel, ok := call.Fun.(*ast.SelectorExpr)
					if !ok {
						return true
					}
					if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "fmt" && strings.HasPrefix(sel.Sel.Name, "Sprint") && len(call.Args) > 0 {
						if lit, ok := call.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							if s, _ := strconv.Unquote(lit.Value); sqlWords.MatchString(s) {
								report(call, "SQL text built with fmt."+sel.Sel.Name)
							}
						}
					}
					idx, isDB := queryArg[sel.Sel.Name]
					if pkg, ok := sel.X.(*ast.Ident); ok && (pkg.Name == "store" && sel.Sel.Name == "Get") {
						idx, isDB = 4, true
					} else if ok && pkg.Name == "sqlx" && (sel.Sel.Name == "GetContext" || sel.Sel.Name == "SelectContext") {
						idx = 3
					}
					if !isDB || len(call.Args) <= idx {
						return true
					}
					checked++
					ast.Inspect(call.Args[idx], func(n ast.Node) bool {
						switch e := n.(type) {
						case *ast.CallExpr:
							if s, ok := e.Fun.(*ast.SelectorExpr); ok {
								if pkg, ok := s.X.(*ast.Ident); ok && pkg.Name == "fmt" {
									report(e, "the SQL of "+sel.Sel.Name+" is formatted with fmt")
								}
							}
						case *ast.SelectorExpr:
							if id, ok := e.X.(*ast.Ident); ok && params[id.Name] {
								report(e, "the SQL of "+sel.Sel.Name+" includes "+id.Name+"."+e.Sel.Name+", a parameter's field: pass it as a $n argument")
							}
						}
						return true
					})
					return true
				})
				return false
			})
			return nil
		})
		require.NoError(t, err)
	}
	require.Greater(t, checked, 100, "the check found too few database calls: has the code moved?")
	require.Empty(t, problems, "SQL built from input")
	t.Logf("%d database calls checked", checked)
}
