package handlers

import (
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/danielgtaylor/huma/v2"
	"github.com/labstack/echo/v4"

	"ledgerline/views/apiadmin"
)

// apiOpenAPIDocument serves the OpenAPI 3.1 document, encoded once: every operation is registered before
// the server starts.
func (h *Handler) apiOpenAPIDocument(api huma.API) echo.HandlerFunc {
	var (
		once sync.Once
		doc  []byte
		err  error
	)
	return func(c echo.Context) error {
		once.Do(func() { doc, err = json.Marshal(api.OpenAPI()) })
		if err != nil {
			return err
		}
		c.Response().Header().Set("Cache-Control", "no-cache")
		return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, doc) // JSON is UTF-8 by definition (RFC 8259)
	}
}

// apiDocs renders the readable documentation from the same OpenAPI document, on the server: no script
// and nothing from elsewhere, so it works under the strict Content-Security-Policy.
func (h *Handler) apiDocs(api huma.API) echo.HandlerFunc {
	var (
		once sync.Once
		view apiadmin.DocsView
	)
	return func(c echo.Context) error {
		once.Do(func() { view = apiDocsView(api.OpenAPI()) })
		return render(c, http.StatusOK, apiadmin.Docs(view))
	}
}

func apiDocsView(doc *huma.OpenAPI) apiadmin.DocsView {
	v := apiadmin.DocsView{Title: doc.Info.Title, Version: doc.Info.Version, Description: doc.Info.Description}
	if len(doc.Servers) > 0 {
		v.ServerURL = doc.Servers[0].URL
	}
	if ss := doc.Components.SecuritySchemes[securityOAuth]; ss != nil && ss.Flows != nil && ss.Flows.ClientCredentials != nil {
		for name, label := range ss.Flows.ClientCredentials.Scopes {
			v.Scopes = append(v.Scopes, apiadmin.DocsScope{Name: name, Label: label})
		}
		slices.SortFunc(v.Scopes, func(a, b apiadmin.DocsScope) int { return strings.Compare(a.Name, b.Name) })
	}

	groups := map[string]*apiadmin.DocsGroup{}
	var order []string
	paths := make([]string, 0, len(doc.Paths))
	for p := range doc.Paths {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, path := range paths {
		item := doc.Paths[path]
		for _, mo := range []struct {
			method string
			op     *huma.Operation
		}{
			{"GET", item.Get}, {"POST", item.Post}, {"PUT", item.Put}, {"PATCH", item.Patch}, {"DELETE", item.Delete},
		} {
			if mo.op == nil {
				continue
			}
			tag := "Other"
			if len(mo.op.Tags) > 0 {
				tag = mo.op.Tags[0]
			}
			g := groups[tag]
			if g == nil {
				g = &apiadmin.DocsGroup{Name: tag}
				groups[tag] = g
				order = append(order, tag)
			}
			g.Operations = append(g.Operations, apiDocsOperation(mo.method, path, mo.op))
		}
	}
	sort.Strings(order)
	for _, t := range order {
		v.Groups = append(v.Groups, *groups[t])
	}

	if reg := doc.Components.Schemas; reg != nil {
		schemas := reg.Map()
		names := make([]string, 0, len(schemas))
		for n := range schemas {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			s := schemas[n]
			ds := apiadmin.DocsSchema{Name: n, Anchor: "schema-" + n, Description: s.Description}
			ds.Fields = apiDocsFields(s)
			v.Schemas = append(v.Schemas, ds)
		}
	}
	return v
}

func apiDocsOperation(method, path string, op *huma.Operation) apiadmin.DocsOperation {
	o := apiadmin.DocsOperation{
		ID: op.OperationID, Method: method, Path: path, Summary: op.Summary, Description: op.Description,
	}
	for _, req := range op.Security {
		for _, scopes := range req {
			if len(scopes) > 0 {
				o.Scope = scopes[0]
			}
		}
	}
	o.Public = len(op.Security) == 1 && len(op.Security[0]) == 0
	for _, p := range op.Parameters {
		o.Params = append(o.Params, apiadmin.DocsField{
			Name: p.Name, In: p.In, Type: apiDocsType(p.Schema), Description: p.Description, Required: p.Required,
		})
	}
	if op.RequestBody != nil {
		for ct, mt := range op.RequestBody.Content {
			o.BodyType = ct
			if mt.Schema != nil {
				if mt.Schema.Ref != "" {
					o.BodySchema = apiDocsType(mt.Schema)
				} else {
					o.BodyFields = apiDocsFields(mt.Schema)
				}
			}
		}
	}
	codes := make([]string, 0, len(op.Responses))
	for code := range op.Responses {
		codes = append(codes, code)
	}
	sort.Strings(codes)
	for _, code := range codes {
		r := op.Responses[code]
		dr := apiadmin.DocsResponse{Status: code, Description: r.Description}
		for _, mt := range r.Content {
			if mt.Schema != nil {
				dr.Schema = apiDocsType(mt.Schema)
			}
		}
		o.Responses = append(o.Responses, dr)
	}
	return o
}

func apiDocsFields(s *huma.Schema) []apiadmin.DocsField {
	names := make([]string, 0, len(s.Properties))
	for n := range s.Properties {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []apiadmin.DocsField
	for _, n := range names {
		p := s.Properties[n]
		out = append(out, apiadmin.DocsField{
			Name: n, Type: apiDocsType(p), Description: p.Description, Required: slices.Contains(s.Required, n),
		})
	}
	return out
}

// apiDocsType describes a schema in a few words: "string (uuid)", "array of AuditEvent", "integer ≤ 200".
func apiDocsType(s *huma.Schema) string {
	if s == nil {
		return "any"
	}
	if s.Ref != "" {
		return s.Ref[strings.LastIndex(s.Ref, "/")+1:]
	}
	t := s.Type
	if t == "" {
		t = "any"
	}
	switch {
	case t == huma.TypeArray:
		t = "array of " + apiDocsType(s.Items)
	case len(s.Enum) > 0:
		vals := make([]string, len(s.Enum))
		for i, e := range s.Enum {
			b, _ := json.Marshal(e)
			vals[i] = string(b)
		}
		t += ": one of " + strings.Join(vals, ", ")
	case s.Format != "":
		t += " (" + s.Format + ")"
	}
	if s.Minimum != nil {
		t += ", ≥ " + strconv.FormatFloat(*s.Minimum, 'f', -1, 64)
	}
	if s.Maximum != nil {
		t += ", ≤ " + strconv.FormatFloat(*s.Maximum, 'f', -1, 64)
	}
	if s.MaxLength != nil {
		t += ", up to " + strconv.Itoa(*s.MaxLength) + " characters"
	}
	if s.Nullable {
		t += ", or null"
	}
	return t
}
